"""Multiprocess mode for Prometheus metrics, set before prometheus-client is first imported.

prometheus-client chooses how each process stores its samples when it is imported, from
``PROMETHEUS_MULTIPROC_DIR``: this module, which does not import it, sets that variable for the
process (``serve``, ``worker``) and the processes it starts, and clears the live gauges of processes
that ended, as prometheus-client's ``mark_process_dead`` does.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR = Path("run") / "metrics"
_LIVE_GAUGE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def prepare(home: Path) -> Path:
    """The shared directory (``$PROMETHEUS_MULTIPROC_DIR``, else ``HOME/run/metrics``), made and set."""
    configured = os.environ.get(MULTIPROC_ENV)
    directory = Path(configured) if configured else home / METRICS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_GAUGE.match(path.name)
        if match and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
