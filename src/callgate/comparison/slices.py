"""Cohort slices: the global slice, each value of each tag, and named tag combinations.

A slice is written ``all`` (every call), ``tag=value`` or ``tag=value&tag=value`` (conditions in
alphabetical order of tag, so a slice has one spelling however it was asked for).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from callgate.comparison.pairing import Pairing
from callgate.comparison.sides import Side
from callgate.results.table import TAG_PREFIX

GLOBAL = "all"
_COND = re.compile(r"^([A-Za-z0-9_]+)=(.+)$")

Conds = tuple[tuple[str, str], ...]


@dataclass
class Slice:
    """Indices of the slice's calls in each side (paired: position i of both is one pair)."""

    label: str
    conds: Conds
    base: np.ndarray
    cand: np.ndarray
    aliases: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(min(self.base.size, self.cand.size))


def label_of(conds: Conds) -> str:
    return "&".join(f"{t}={v}" for t, v in sorted(conds)) if conds else GLOBAL


def parse_slice(spec: str) -> Conds:
    """``accent=scottish&channel=phone`` -> conditions; ``all`` -> (); ValueError when malformed."""
    spec = spec.strip()
    if spec == GLOBAL:
        return ()
    conds: list[tuple[str, str]] = []
    for part in spec.split("&"):
        m = _COND.match(part.strip())
        if m is None:
            raise ValueError(f"{spec!r} is not a cohort: write tag=value or tag=value&tag=value")
        conds.append((m.group(1), m.group(2).strip()))
    if len({t for t, _ in conds}) < len(conds):
        raise ValueError(f"{spec!r} names a tag twice")
    return tuple(sorted(conds))


def _tag_values(side: Side, idx: np.ndarray, tag: str) -> np.ndarray | None:
    col = side.text.get(TAG_PREFIX + tag)
    return None if col is None else col[idx]


def build_slices(
    base: Side,
    cand: Side,
    pairing: Pairing,
    by: list[str],
    combinations: list[list[str]],
    extra: list[Conds],
) -> list[Slice]:
    """Every slice with at least one call, in order: global, by tag, combinations, extra.

    Paired slices follow the baseline's tags (both calls of a pair share the cohort). Slices with
    exactly the calls of an earlier one are merged into it (``aliases``): the same calls tested
    twice would only spend the error budget twice.
    """
    tables = (
        (base, pairing.base),
        (cand, pairing.cand),
    )
    slices: list[Slice] = []
    seen: dict[tuple[bytes, bytes], Slice] = {}

    def add(conds: Conds) -> None:
        label = label_of(conds)
        if any(s.label == label for s in slices):
            return
        masks: list[np.ndarray] = []
        for i, (side, idx) in enumerate(tables):
            if pairing.paired and i == 1:
                masks.append(masks[0])
                continue
            mask = np.ones(idx.size, dtype=bool)
            for tag, value in conds:
                col = _tag_values(side, idx, tag)
                mask &= (col == value) if col is not None else False
            masks.append(mask)
        pos_b, pos_c = np.flatnonzero(masks[0]), np.flatnonzero(masks[1])
        if pos_b.size == 0 and pos_c.size == 0:
            return
        key = (pos_b.tobytes(), pos_c.tobytes())
        if key in seen:
            seen[key].aliases.append(label)
            return
        s = Slice(label, conds, pairing.base[pos_b], pairing.cand[pos_c])
        seen[key] = s
        slices.append(s)

    add(())
    for tag in by:
        for value in _values(tables, tag):
            add(((tag, value),))
    for combo in combinations:
        per_tag = [[(t, v) for v in _values(tables, t)] for t in combo]
        for conds in itertools.product(*per_tag):
            add(tuple(sorted(conds)))
    for conds in extra:
        add(conds)
    return slices


def _values(tables: tuple[tuple[Side, np.ndarray], ...], tag: str) -> list[str]:
    found: set[str] = set()
    for side, idx in tables:
        col = _tag_values(side, idx, tag)
        if col is not None:
            found |= {str(v) for v in col if v is not None}
    return sorted(found)


def check_tag(tag: str, base: Side, cand: Side, builtin: tuple[str, ...]) -> None:
    """Raise ValueError for a tag that is neither built in nor a column of either side."""
    if tag in builtin or tag in base.tags or tag in cand.tags:
        return
    present = sorted(set(base.tags) | set(cand.tags))
    raise ValueError(
        f"unknown cohort tag {tag!r} (tags in the results: {', '.join(present) or 'none'})"
    )


def find(slices: list[Slice], label: str) -> Slice | None:
    for s in slices:
        if s.label == label or label in s.aliases:
            return s
    return None
