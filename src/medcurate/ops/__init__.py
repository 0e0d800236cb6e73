"""Running a site for real: schema upgrades, health and readiness, metrics, logs, backup and restore.

Each module is a library the thin shells use (``medcurate db``, ``doctor``, ``backup``, ``restore``;
``/healthz``, ``/readyz`` and ``/metrics`` in the web app):

- ``schema``: where a database stands against the code's migrations, and bringing it there.
- ``health``: the readiness checks, each with its state and time, and ``doctor``'s configuration checks.
- ``metrics``: Prometheus metrics, shared by a site's processes (``multiproc`` sets that up first).
- ``logs``: one logging set-up for every command, with request, job and item ids on each line.
- ``backup``, ``restore``: one archive of a site (database, configuration, images, models, site
  manifest), and the site back from it.
"""
