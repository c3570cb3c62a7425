"""Pair the calls of two sides by (scenario, cohort, repeat), or say why they stay unpaired.

Simulated variants of one run share seeds and caller audio per (scenario, cohort, repeat), so the
difference within a pair removes the call-to-call variation that both variants face: paired tests
need far fewer calls. Production A/B calls have no such twin and are compared unpaired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callgate.comparison.sides import PAIR_KEYS, Side

# Pair only when at least this share of the smaller side finds its twin: pairing a sliver of the
# calls would throw most of the evidence away.
MIN_MATCHED_SHARE = 0.5


@dataclass
class Pairing:
    """``base[i]`` and ``cand[i]`` index the sides. Paired: call i of each side is one pair.
    Unpaired: the two index arrays are every call of each side, of different lengths."""

    paired: bool
    note: str
    base: np.ndarray
    cand: np.ndarray
    unmatched_base: int = 0
    unmatched_cand: int = 0

    @property
    def n(self) -> int:
        return int(self.base.size)


def _keys(side: Side) -> list[tuple[str, str, str]]:
    cols = [side.text[k] for k in PAIR_KEYS]
    return [(str(a), str(b), str(c)) for a, b, c in zip(*cols, strict=True)]


def _imported(side: Side) -> bool:
    source = side.text.get("source")
    return source is not None and bool(np.any(source == "imported"))


def unpaired(base: Side, cand: Side, why: str) -> Pairing:
    return Pairing(
        False,
        f"unpaired ({why}): {base.n} baseline vs {cand.n} candidate calls",
        np.arange(base.n),
        np.arange(cand.n),
    )


def pair(base: Side, cand: Side, *, force_unpaired: bool = False) -> Pairing:
    if force_unpaired:
        return unpaired(base, cand, "asked for with --unpaired")
    if _imported(base) or _imported(cand):
        return unpaired(base, cand, "production calls: no call has a twin on the other side")
    if not (base.has_keys() and cand.has_keys()):
        return unpaired(base, cand, "no scenario_id, cohort_id and repeat on both sides")
    bkeys, ckeys = _keys(base), _keys(cand)
    if len(set(bkeys)) < len(bkeys) or len(set(ckeys)) < len(ckeys):
        return unpaired(base, cand, "a (scenario, cohort, repeat) occurs twice on one side")
    where = {k: i for i, k in enumerate(ckeys)}
    bi = [i for i, k in enumerate(bkeys) if k in where]
    if len(bi) < MIN_MATCHED_SHARE * min(base.n, cand.n) or not bi:
        return unpaired(base, cand, f"only {len(bi)} calls share a (scenario, cohort, repeat)")
    ci = [where[bkeys[i]] for i in bi]
    note = f"paired by scenario, cohort and repeat: {len(bi)} pairs"
    ub, uc = base.n - len(bi), cand.n - len(ci)
    if ub or uc:
        note += f" ({ub} baseline and {uc} candidate calls without a twin left out)"
    return Pairing(True, note, np.array(bi, dtype=np.int64), np.array(ci, dtype=np.int64), ub, uc)
