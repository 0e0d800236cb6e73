"""Near-duplicate detection speed: MinHash signatures and index queries per second.

Synthetic 600-word texts (a fixed seed), so the figure is comparable from run to run; the peer is
datasketch's own ``MinHash.update`` with its default SHA-1 hashing on the same shingles.

Usage: ``python bench/dedupe.py [--texts N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from datasketch import MinHash

from medcurate.dedupe import DEFAULT_NUM_PERM, DEFAULT_SHINGLE_WORDS, DedupeIndex, shingle_words, signature

VOCABULARY = [
    "hospital",
    "patient",
    "ransomware",
    "network",
    "device",
    "clinician",
    "record",
    "audit",
    "vendor",
    "cloud",
    "security",
    "privacy",
    "breach",
    "policy",
    "insurer",
    "pharmacy",
    "imaging",
    "telehealth",
    "portal",
    "identity",
    "training",
    "regulator",
    "compliance",
]


def main(argv: list[str] | None = None) -> int:
    """Print signatures per second for medcurate and for datasketch's default hashing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--texts", type=int, default=1000)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    texts = [" ".join(rng.choices(VOCABULARY, k=600)) for _ in range(args.texts)]
    start = time.perf_counter()
    blobs = [signature(text) for text in texts]
    ours = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for text in texts:
        tokens = shingle_words(text)
        minhash = MinHash(num_perm=DEFAULT_NUM_PERM)
        shingles = {" ".join(tokens[i : i + DEFAULT_SHINGLE_WORDS]) for i in range(len(tokens))}
        minhash.update_batch([s.encode("utf-8") for s in shingles])
    peer = len(texts) / (time.perf_counter() - start)
    index = DedupeIndex.from_signatures(enumerate(blobs))
    start = time.perf_counter()
    for text in texts[:200]:
        index.query(text)
    queries = 200 / (time.perf_counter() - start)
    print("| what | per second |\n|---|---|")
    print(f"| medcurate signatures (CRC-32 shingles) | {ours:.0f} |")
    print(f"| datasketch MinHash, default SHA-1 hashing | {peer:.0f} |")
    print(f"| medcurate index queries ({len(blobs)} stored) | {queries:.0f} |")
    print(f"\nratio medcurate / datasketch default: {ours / peer:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
