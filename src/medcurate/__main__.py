"""``python -m medcurate``: the command-line interface."""

from medcurate.cli import main

main()
