"""medcurate: turn links from around the web into curated, classified, published healthcare content.

The library is the product; the CLI (``medcurate.cli``) and the web app (``medcurate.web``) are thin
shells over it. The pipeline runs one stage a module::

    sources -> resolve -> fetch -> extract -> dedupe -> suggest -> store -> review -> publish

and ``medcurate.pipeline`` is the only sequencer.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
