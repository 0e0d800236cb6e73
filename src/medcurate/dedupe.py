"""Stage 5, dedupe: is this article already in the store, under the same URL or as a near-copy?

Two checks, cheapest first:

1. **Exact URL key** (:func:`url_key`): courlan normalises the URL (host case, default port, sorted
   query, tracking parameters such as ``utm_*`` and ``fbclid`` dropped), then the scheme, a leading
   ``www.``, the fragment and a trailing slash are dropped, since syndicated links differ in exactly
   those ways while naming the same page.
2. **Near-duplicate body** (:class:`DedupeIndex`): MinHash signatures of word shingles, looked up with
   LSH (datasketch), then confirmed by the signatures' estimated Jaccard similarity.

Choices, and why:

* **Shingles of 5 words** (``DEFAULT_SHINGLE_WORDS``), after case-folding and keeping only word
  characters. Shorter shingles make two different articles on the same topic share common phrases
  ("the centers for medicare and"); longer ones let one edited sentence destroy more shingles. On the
  90 ground-truth bodies of ``../shared/corpora/extraction-dev`` (4,005 pairs of different articles)
  the highest similarity is 0.04 with k=5 (0.11 with k=3), while copies with one sentence rewritten
  and 10-40 words of other boilerplate on each side score a median of 0.8, 96% of them >= 0.4.
* **128 permutations** (``DEFAULT_NUM_PERM``): the standard error of the Jaccard estimate is
  ``1/sqrt(128) ≈ 0.09``, enough to separate ~0.05 from 0.4, and a signature is 512 bytes.
* **Threshold 0.4** (``DEFAULT_THRESHOLD``): ten times the worst unrelated pair above, and low enough
  that a short article re-published inside another site's boilerplate still matches.
* **LSH bands of 3 rows** (``DEFAULT_LSH_ROWS``, 42 bands for 128 permutations) rather than datasketch's
  FP/FN-balanced choice (32 x 4), which finds a pair at J=0.4 only 56% of the time: with 3 rows it is
  94% (99.6% at 0.5) while a pair at J=0.05 becomes a candidate 0.5% of the time. Every candidate is
  then confirmed on its full signature, so banding costs recall only, never precision.
* Bodies under ``DEFAULT_MIN_WORDS`` words are never called duplicates: paywall stubs and error
  pages ("Access denied") would all match each other.

Shingles are hashed with CRC-32 rather than datasketch's SHA-1 default: it is stable across processes
(Python's ``hash`` is not), so stored signatures stay comparable, and it is several times faster; datasketch
mixes the values with a MurmurHash3 finaliser before permuting them, so CRC's weak avalanche does not matter.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from medcurate.errors import ConfigError, StorageError
from medcurate.ingest.resolve import canonical_key

if TYPE_CHECKING:  # datasketch pulls in SciPy: imported where used, so the CLI starts fast
    from datasketch import MinHash

__all__ = [
    "DEFAULT_LSH_ROWS",
    "DEFAULT_MIN_WORDS",
    "DEFAULT_NUM_PERM",
    "DEFAULT_SEED",
    "DEFAULT_SHINGLE_WORDS",
    "DEFAULT_THRESHOLD",
    "DedupeIndex",
    "DedupeOptions",
    "DedupeReason",
    "DedupeVerdict",
    "ItemId",
    "estimated_similarity",
    "shingle_words",
    "signature",
    "url_key",
]

DEFAULT_SHINGLE_WORDS = 5
DEFAULT_NUM_PERM = 128
DEFAULT_THRESHOLD = 0.4
DEFAULT_SEED = 1
DEFAULT_MIN_WORDS = 20
DEFAULT_LSH_ROWS = 3

ItemId = int | str

_MAGIC = b"MHs1"
_HEADER = struct.Struct("<4sBHI")  # magic, shingle words, num_perm, seed
_WORD_RE = re.compile(r"\w+")
_EMPTY = 0xFFFFFFFF  # datasketch's affine32 "no shingle seen" value


@dataclass(frozen=True, slots=True, kw_only=True)
class DedupeOptions:
    """How signatures are made and when two bodies count as the same article."""

    shingle_words: int = DEFAULT_SHINGLE_WORDS
    num_perm: int = DEFAULT_NUM_PERM
    threshold: float = DEFAULT_THRESHOLD
    seed: int = DEFAULT_SEED
    min_words: int = DEFAULT_MIN_WORDS
    lsh_rows: int = DEFAULT_LSH_ROWS

    def __post_init__(self) -> None:
        """Refuse options that cannot work, saying which."""
        if not 1 <= self.shingle_words <= 255:
            raise ConfigError(f"dedupe shingle_words must be 1-255, got {self.shingle_words}")
        if not 16 <= self.num_perm <= 65535:
            raise ConfigError(f"dedupe num_perm must be 16-65535, got {self.num_perm}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"dedupe threshold must be in (0, 1], got {self.threshold}")
        if not 1 <= self.lsh_rows <= self.num_perm:
            raise ConfigError(f"dedupe lsh_rows must be 1-num_perm, got {self.lsh_rows}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"dedupe seed must fit in 32 bits, got {self.seed}")


class DedupeReason(StrEnum):
    """Why a verdict came out as it did."""

    SAME_URL = "same-url"
    NEAR_DUPLICATE = "near-duplicate"
    UNIQUE = "unique"
    TOO_SHORT = "too-short"


@dataclass(frozen=True, slots=True, kw_only=True)
class DedupeVerdict:
    """Whether an article is a duplicate, of which item, and how similar (1.0 for the same URL)."""

    is_duplicate: bool
    duplicate_of: ItemId | None
    similarity: float
    reason: DedupeReason


# --- text to signature -----------------------------------------------------------------------------


def shingle_words(text: str) -> list[str]:
    """The text's words, case-folded and NFKC-normalised, punctuation dropped."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def _crc32(shingle: bytes) -> int:
    """Stable 32-bit hash of one shingle."""
    return zlib.crc32(shingle)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> Any:
    """datasketch's permutation parameters for (num_perm, seed), drawn once rather than per signature."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed).permutations


def _minhash(tokens: list[str], options: DedupeOptions) -> MinHash:
    """A MinHash of the word shingles (all the words are one shingle when there are fewer than k)."""
    from datasketch import MinHash

    k = options.shingle_words
    minhash = MinHash(
        num_perm=options.num_perm,
        seed=options.seed,
        hashfunc=_crc32,
        permutations=_permutations(options.num_perm, options.seed),
        scheme="affine32",
    )
    if tokens:
        spans = range(max(1, len(tokens) - k + 1))
        minhash.update_batch({" ".join(tokens[i : i + k]).encode() for i in spans})
    return minhash


def _encode(minhash: MinHash, options: DedupeOptions) -> bytes:
    """Header plus little-endian uint32 hash values."""
    header = _HEADER.pack(_MAGIC, options.shingle_words, options.num_perm, options.seed)
    return header + np.asarray(minhash.hashvalues, dtype="<u4").tobytes()


def _decode(blob: bytes, options: DedupeOptions) -> np.ndarray[Any, Any]:
    """Hash values of a stored signature, checked against the options in use."""
    if len(blob) < _HEADER.size or blob[:4] != _MAGIC:
        raise StorageError("stored dedupe signature is corrupt (bad header); recompute it from the body")
    _, k, num_perm, seed = _HEADER.unpack_from(blob)
    if (k, num_perm, seed) != (options.shingle_words, options.num_perm, options.seed):
        raise ConfigError(
            f"dedupe signature made with shingle_words={k}, num_perm={num_perm}, seed={seed} but the index "
            f"uses {options.shingle_words}, {options.num_perm}, {options.seed}: recompute the signatures"
        )
    if len(blob) != _HEADER.size + 4 * num_perm:
        raise StorageError("stored dedupe signature is corrupt (wrong length); recompute it from the body")
    return np.frombuffer(blob, dtype="<u4", offset=_HEADER.size).astype(np.uint32)


def signature(text: str, options: DedupeOptions | None = None) -> bytes:
    """The compact, storable MinHash signature of an article body (523 bytes with the defaults)."""
    options = options or DedupeOptions()
    return _encode(_minhash(shingle_words(text), options), options)


def estimated_similarity(a: bytes, b: bytes, options: DedupeOptions | None = None) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures (0.0 if either is empty)."""
    options = options or DedupeOptions()
    va, vb = _decode(a, options), _decode(b, options)
    if bool((va == _EMPTY).all()) or bool((vb == _EMPTY).all()):
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)


# --- URLs ------------------------------------------------------------------------------------------


def url_key(url: str) -> str:
    """A key equal for URLs that name the same page: ``medcurate.ingest.resolve.canonical_key``."""
    try:
        return canonical_key(url)
    except (ValueError, TypeError, AttributeError):  # courlan gives up on some odd inputs
        return url.strip()


# --- the index -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Stored:
    """What the index keeps per item."""

    values: np.ndarray[Any, Any]
    url_key: str | None = None


@dataclass(slots=True)
class DedupeIndex:
    """An in-memory near-duplicate index over article bodies and URL keys; rebuilt from stored signatures."""

    options: DedupeOptions = field(default_factory=DedupeOptions)
    _items: dict[ItemId, _Stored] = field(default_factory=dict, init=False, repr=False)
    _urls: dict[str, ItemId] = field(default_factory=dict, init=False, repr=False)
    _lsh: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Build the LSH structure for the configured threshold."""
        rows = self.options.lsh_rows
        bands = self.options.num_perm // rows
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(num_perm=self.options.num_perm, params=(bands, rows))

    @classmethod
    def from_signatures(
        cls,
        signatures: Iterable[tuple[ItemId, bytes]],
        *,
        urls: Iterable[tuple[ItemId, str]] = (),
        options: DedupeOptions | None = None,
    ) -> DedupeIndex:
        """An index holding stored signatures (as from :func:`signature`) and, optionally, item URLs."""
        index = cls(options=options or DedupeOptions())
        for item_id, blob in signatures:
            index.add_signature(item_id, blob)
        for item_id, url in urls:
            index.add_url(item_id, url)
        return index

    def __len__(self) -> int:
        """Number of items with a signature or a URL."""
        return len(self._items.keys() | set(self._urls.values()))

    def __contains__(self, item_id: object) -> bool:
        """True when the item has a signature in the index."""
        return item_id in self._items

    def add(self, item_id: ItemId, text: str, *, url: str | None = None) -> bytes:
        """Index an article body (and URL); returns its signature for the store to keep."""
        tokens = shingle_words(text)
        blob = _encode(_minhash(tokens, self.options), self.options)
        if len(tokens) >= self.options.min_words:
            self.add_signature(item_id, blob)
        if url:
            self.add_url(item_id, url)
        return blob

    def add_signature(self, item_id: ItemId, blob: bytes) -> None:
        """Index a stored signature, replacing any earlier one of the same item; empty ones are ignored."""
        values = _decode(blob, self.options)
        self.remove(item_id, keep_url=True)
        if bool((values == _EMPTY).all()):
            return
        self._items[item_id] = _Stored(values=values)
        self._lsh.insert(item_id, self._as_minhash(values), check_duplication=False)

    def add_url(self, item_id: ItemId, url: str) -> None:
        """Remember an item's URL key; the first item seen with a key keeps it."""
        self._urls.setdefault(url_key(url), item_id)

    def remove(self, item_id: ItemId, *, keep_url: bool = False) -> None:
        """Forget an item (a no-op when absent)."""
        if self._items.pop(item_id, None) is not None:
            self._lsh.remove(item_id)
        if not keep_url:
            for key in [k for k, v in self._urls.items() if v == item_id]:
                del self._urls[key]

    def query(self, text: str) -> list[tuple[ItemId, float]]:
        """Near-duplicates of ``text`` as (item_id, estimated Jaccard), most similar first."""
        tokens = shingle_words(text)
        if len(tokens) < self.options.min_words:
            return []
        return self.query_signature(_encode(_minhash(tokens, self.options), self.options))

    def query_signature(self, blob: bytes) -> list[tuple[ItemId, float]]:
        """Like :meth:`query`, for a signature already computed."""
        values = _decode(blob, self.options)
        if bool((values == _EMPTY).all()):
            return []
        found = []
        for item_id in self._lsh.query(self._as_minhash(values)):
            similarity = float(np.count_nonzero(self._items[item_id].values == values)) / len(values)
            if similarity >= self.options.threshold:
                found.append((item_id, similarity))
        return sorted(found, key=lambda pair: (-pair[1], str(pair[0])))

    def check(self, text: str, *, url: str | None = None) -> DedupeVerdict:
        """The verdict for a new article: same URL first, then near-duplicate body, else unique."""
        if url and (owner := self._urls.get(url_key(url))) is not None:
            return DedupeVerdict(
                is_duplicate=True, duplicate_of=owner, similarity=1.0, reason=DedupeReason.SAME_URL
            )
        if len(shingle_words(text)) < self.options.min_words:
            return DedupeVerdict(
                is_duplicate=False, duplicate_of=None, similarity=0.0, reason=DedupeReason.TOO_SHORT
            )
        matches = self.query(text)
        if matches:
            best, similarity = matches[0]
            return DedupeVerdict(
                is_duplicate=True,
                duplicate_of=best,
                similarity=similarity,
                reason=DedupeReason.NEAR_DUPLICATE,
            )
        return DedupeVerdict(
            is_duplicate=False, duplicate_of=None, similarity=0.0, reason=DedupeReason.UNIQUE
        )

    def _as_minhash(self, values: np.ndarray[Any, Any]) -> MinHash:
        """A datasketch MinHash around stored hash values, for the LSH."""
        from datasketch import MinHash

        return MinHash(
            hashvalues=values,
            seed=self.options.seed,
            permutations=_permutations(self.options.num_perm, self.options.seed),
            scheme="affine32",
        )
