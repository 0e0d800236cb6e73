"""INGEST stages: from a link to a fetched page.

``resolve`` (normalise a URL, strip tracking, canonical keys), ``netguard`` (the SSRF guard),
``robots`` (robots.txt rules), ``politeness`` (per-host limits, in process or through Redis),
``options`` (``FetchOptions``), ``session`` (one client with its throttle, robots, cache and
redirects), ``body`` (reading, inflating and decoding response bodies), ``httpcache`` (the on-disk
conditional cache) and ``fetch`` (pages, images and feeds). Nothing is imported here, so that a
module using ``resolve`` does not pay for httpx.
"""
