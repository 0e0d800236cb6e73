"""The demo's built site, served as ``make demo`` serves it, crawled: every internal link answers 200.

The demo runs whole (``--no-serve``, the ``demo_run`` fixture) in a folder without ``../shared``
beside it, as in a fresh clone, so its site holds the sample articles the demo publishes. The site
is then served on the address the demo configured as its base URL (``[site] base_url`` through
``MEDCURATE_BASE_URL``) and crawled from its home page: every page, feed, sitemap, stylesheet and
image that a page, feed or sitemap names on the site. Every link in every feed starts with that
base URL.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html

from medcurate.demo import serve_directory, site_address
from medcurate.settings import Settings

FEED_NAMES = ("index.xml", "atom.xml")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MAX_PAGES = 5_000  # a hang guard: the demo's site has a few dozen


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def _links_of_page(body: bytes) -> list[str]:
    tree = lxml_html.fromstring(body)
    found = [str(v) for v in tree.xpath("//a/@href | //link/@href | //img/@src | //script/@src")]
    found += [str(v) for v in tree.xpath("//form[not(@method) or @method='get']/@action")]
    return found


def _links_of_xml(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    texts = root.xpath("//link/text() | //guid/text() | //*[local-name()='loc']/text()")
    hrefs = root.iter(f"{ATOM}link")
    return [str(t).strip() for t in texts] + [str(e.get("href")) for e in hrefs if e.get("href")]


def _feed_links(body: bytes) -> list[str]:
    """Every address a feed gives: the channel's and entries' links, Atom's link elements and ids."""
    root = etree.fromstring(body)
    links = [str(t).strip() for t in root.xpath("//channel/link/text() | //item/link/text()")]
    links += [str(e.get("href")) for e in root.iter(f"{ATOM}link") if e.get("href")]
    return links


def _crawl(start: str) -> tuple[dict[str, int], dict[str, bytes]]:
    """Every address of the site reachable from ``start``: its status; and the feeds' bodies."""
    host = urlsplit(start).netloc
    statuses: dict[str, int] = {}
    feeds: dict[str, bytes] = {}
    queue = deque([start])
    while queue and len(statuses) < MAX_PAGES:
        url = queue.popleft()
        if url in statuses:
            continue
        status, kind, body = _fetch(url)
        statuses[url] = status
        if status != 200:
            continue
        path = urlsplit(url).path
        if kind == "text/html":
            links = _links_of_page(body)
        elif path.endswith(".xml"):
            links = _links_of_xml(body)
            if path.rsplit("/", 1)[-1] in FEED_NAMES:
                feeds[url] = body
        else:
            links = []
        for link in links:
            absolute = urldefrag(urljoin(url, link))[0]
            parts = urlsplit(absolute)
            if parts.netloc == host and parts.scheme == "http":
                queue.append(absolute.split("?")[0])
    return statuses, feeds


@pytest.mark.slow
def test_every_link_of_the_demo_site_answers_and_feeds_use_the_base_url(demo_run: tuple[Path, int]) -> None:
    folder, app_port = demo_run
    home = folder / "demo-home"
    base_url = site_address(app_port)
    config = Settings(home=home, base_url=base_url).load_site_config()
    assert config.base_url == base_url

    with serve_directory(home / "site", port=app_port + 1, substitute=False) as served:
        assert served + "/" == base_url
        statuses, feeds = _crawl(base_url)

    broken = {url: status for url, status in statuses.items() if status != 200}
    assert not broken, f"links that do not answer 200: {broken}"
    assert len(statuses) > 20, "the crawl reached the site's pages"
    assert any("/topic/" in url for url in statuses) and any("/source/" in url for url in statuses)
    assert base_url + "index.xml" in feeds and base_url + "atom.xml" in feeds
    assert len(feeds) > 2, "community and topic feeds too"
    for feed, body in feeds.items():
        links = _feed_links(body)
        assert links, f"{feed} has links"
        outside = [link for link in links if not link.startswith(base_url)]
        assert not outside, f"{feed} links outside {base_url}: {outside[:5]}"
