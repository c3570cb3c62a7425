"""Two folds of dev scenarios, so a job measures what it built on calls it did not build it from.

A hint list mined from a scenario's failures, a prompt made of its callers' sentences or a
few-shot example taken from it would all look good on that same scenario (the same words come
back in every cohort and repeat). Jobs therefore build from one fold and measure on the other,
both ways, and pool; the candidate itself is then built from every dev call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def two_folds(scenario_ids: Iterable[str], seed: int) -> tuple[set[str], set[str]]:
    """Scenarios split in two by a seeded hash: the same split for the same seed and ids."""
    ordered = sorted(
        set(scenario_ids), key=lambda s: hashlib.sha256(f"{seed}|{s}".encode()).hexdigest()
    )
    return set(ordered[0::2]), set(ordered[1::2])
