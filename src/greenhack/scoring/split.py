"""The public/private split of the truth rows.

Each id gets a key: the 8-byte BLAKE2b digest of the id (UTF-8) keyed with the SHA-256 of the seed, read as
an unsigned big-endian integer. The ``floor(public_fraction × n + 0.5)`` ids with the smallest keys (ties,
which need a 64-bit collision, broken by the id text) are public, the others private; when the fraction is
below 1, at least one row is public and at least one private. So the split:

- is deterministic for a given event (the seed is the event's ``split_seed``: ``event.seed`` or its name);
- depends only on the *set* of ids, never on their order in the file: reordering rows changes nothing;
- has an exact public size, and a different event (seed) draws a different, independent split.

When ``public_fraction`` is 1.0 (or the truth has a single row) there is no held-out row, and the final board
uses every row, like the public one (``Split.holdout`` is False). Splitting 100,000 ids takes a fraction of a
second.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from greenhack.errors import ScoringError
from greenhack.scoring.models import Split

__all__ = ["split_key", "split_rows"]


def _seed_key(seed: str) -> bytes:
    return hashlib.sha256(seed.encode("utf-8")).digest()


def split_key(row_id: str, seed: str) -> int:
    """The 64-bit key that orders ``row_id`` in the split seeded by ``seed``."""
    digest = hashlib.blake2b(row_id.encode("utf-8"), digest_size=8, key=_seed_key(seed)).digest()
    return int.from_bytes(digest, "big")


def split_rows(truth_ids: Iterable[str], *, public_fraction: float, seed: str) -> Split:
    """Split the truth ids into public and private ones (see the module docstring for the rule).

    Args:
        truth_ids: the ids of the truth rows (unique).
        public_fraction: fraction of rows on the public board, in (0, 1].
        seed: the event's split seed.

    Raises:
        ScoringError: no ids, repeated ids, or a fraction outside (0, 1].
    """
    ids = list(truth_ids)
    if not ids:
        raise ScoringError("cannot split an empty truth")
    if len(set(ids)) != len(ids):
        raise ScoringError("truth ids must be unique to be split")
    if not 0.0 < public_fraction <= 1.0:
        raise ScoringError(f"public_fraction must be in (0, 1], got {public_fraction!r}")
    n = len(ids)
    if public_fraction >= 1.0 or n == 1:
        n_public = n
    else:
        n_public = min(n - 1, max(1, math.floor(public_fraction * n + 0.5)))
    if n_public == n:
        everything = frozenset(ids)
        return Split(everything, everything, holdout=False, public_fraction=public_fraction, seed=seed)
    key = _seed_key(seed)
    blake2b = hashlib.blake2b

    def order(row_id: str) -> bytes:
        # the big-endian digest compares like the integer key; the id after it breaks (improbable) ties
        encoded = row_id.encode("utf-8")
        return blake2b(encoded, digest_size=8, key=key).digest() + encoded

    ordered = sorted(ids, key=order)
    return Split(
        public_ids=frozenset(ordered[:n_public]),
        private_ids=frozenset(ordered[n_public:]),
        holdout=True,
        public_fraction=public_fraction,
        seed=seed,
    )
