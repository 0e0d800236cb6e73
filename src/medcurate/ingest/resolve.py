"""RESOLVE stage: normalise URLs, strip tracking parameters, key them for dedupe, name their site.

Public API::

    normalize_url(url) -> str          # courlan normalisation, meaning kept
    strip_tracking(url) -> str         # drop utm_*, fbclid, gclid... (TRACKING_PARAMS, TRACKING_PREFIXES)
    canonical_key(url) -> str          # dedupe key: normalised, stripped, scheme- and trailing-slash-blind
    registrable_domain(url) -> str     # "news.bbc.co.uk" -> "bbc.co.uk" (Public Suffix List via ``tld``)

``courlan.normalize_url`` does the scheme, host, port and path work. Its query cleaning is not used:
it sorts parameters, drops blank ones (``?print``) and drops any key matching a broad pattern
(``source``, ``ref``, ``session``...), all of which can change what a server returns. The query is
instead kept byte for byte, minus the tracking parameters listed below (exact keys, case-blind).
Registrable domains come from ``tld`` (a courlan dependency) with its bundled Public Suffix List
snapshot; nothing is fetched from the network.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import parse_qsl, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url as _courlan_normalize
from tld import get_fld

from medcurate.errors import InvalidURL

# Query keys that only say who sent the click; removing them never changes the page served.
# Sources: Mozilla's query-stripping list, ClearURLs and AdGuard's tracking-parameter filters.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",  # Google Display (DoubleClick)
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "igshid",  # Instagram
        "igsh",
        "yclid",  # Yandex
        "ysclid",
        "twclid",  # Twitter / X
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "ref_src",  # Twitter embeds
        "ref_url",
        "spm",  # Alibaba
        "scm",
        "_ga",  # Google Analytics cross-domain linker
        "_gl",
        "mkt_tok",  # Marketo
        "oly_anon_id",  # Omeda
        "oly_enc_id",
        "rb_clickid",
        "s_cid",  # Adobe
        "vero_conv",  # Vero
        "vero_id",
        "wickedid",
        "epik",  # Pinterest
        "cmpid",
        "trk",  # LinkedIn share links
        "trkcampaign",
        "sc_channel",
        "sc_campaign",
    }
)

# Key prefixes of whole tracking families (Google's utm_*, Matomo's mtm_*/pk_*, HubSpot ads' hsa_*).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "pk_", "hsa_", "itm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(key: str) -> bool:
    """Say whether a decoded query key is a tracking parameter."""
    low = key.strip().lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def _strip_query(query: str) -> str:
    """Drop tracking pairs from a raw query string, keeping the others verbatim and in order."""
    if not query:
        return ""
    kept = [
        pair for pair in query.split("&") if pair and not _is_tracking(unquote_plus(pair.split("=", 1)[0]))
    ]
    return "&".join(kept)


def _url_function(function: Callable[[str], str]) -> Callable[[str], str]:
    """``function`` with the standard library's and courlan's errors on odd text as ``InvalidURL``."""

    @wraps(function)
    def guarded(url: str) -> str:
        try:
            return function(url)
        except (ValueError, TypeError, AttributeError) as exc:
            if isinstance(exc, InvalidURL):
                raise
            raise InvalidURL(f"not a usable URL ({exc}): {url[:200]!r}") from None

    return guarded


@_url_function
def strip_tracking(url: str) -> str:
    """Remove tracking query parameters (``TRACKING_PARAMS``, ``TRACKING_PREFIXES``); nothing else changes."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(query=_strip_query(parts.query)))


@_url_function
def normalize_url(url: str) -> str:
    """Normalise a URL without changing its meaning.

    Lower-cases scheme and host, drops the default port, the fragment and ``/../`` prefixes,
    percent-encodes the path consistently (courlan), and keeps the query exactly as given.

    Args:
        url: an absolute http(s) URL.

    Returns:
        The normalised URL; a bare host gets the path ``/``.
    """
    parts = urlsplit(url.strip())
    base = _courlan_normalize(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), strict=True)
    base_parts = urlsplit(base)
    netloc = base_parts.netloc
    scheme = base_parts.scheme
    # courlan's port regex needs a word character before the colon, so "[::1]:80" keeps its port.
    if netloc.startswith("[") and netloc.endswith(f"]:{_DEFAULT_PORTS.get(scheme)}"):
        netloc = netloc.rsplit(":", 1)[0]
    # urljoin applies RFC 3986 dot-segment removal, which courlan only does for leading "/../".
    path = urlsplit(urljoin("http://h/", base_parts.path or "/")).path
    return urlunsplit((scheme, netloc, path, parts.query, ""))


@_url_function
def canonical_key(url: str) -> str:
    """Key for dedupe: normalised, stripped, blind to scheme, ``www.``, query order and a trailing slash."""
    parts = urlsplit(normalize_url(strip_tracking(url)))
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{host}{path}?{query}" if query else f"{host}{path}"


def registrable_domain(url: str) -> str:
    """The registrable domain (eTLD+1) of a URL's host: ``news.bbc.co.uk`` -> ``bbc.co.uk``.

    Private suffixes count (``foo.github.io`` is its own site); IP addresses and hosts without a
    public suffix (``localhost``) come back as the bare host.
    """
    candidate = url.strip()
    if "://" not in candidate:
        candidate = f"http://{candidate}"
    host = (urlsplit(candidate).hostname or "").rstrip(".").lower()
    if not host:
        return ""
    found = get_fld(host, fix_protocol=True, fail_silently=True)
    return str(found) if found else host
