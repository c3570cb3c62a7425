"""Gating after every batch of calls without letting repeated looks decide by chance.

An adaptive run (``callgate run --until-decided``) gates its calls after every batch and stops
once the gate is decided. Testing at alpha at every look would let chance decide: over four looks
a candidate with no true change could be blocked, or one losing exactly its margin promoted, up to
four times as often as alpha. The design here spends alpha evenly over a fixed number of looks:
every test at every look runs at alpha / looks. By the union bound the chance that any look
wrongly blocks (or wrongly shows a check within its margin) stays below alpha, however the calls
are spread between looks, in particular when they go only to the cohorts that are still open.

A check settled at one look stays settled (:func:`settle`): a cohort shown within its margin gets
no more calls, and a later look cannot unsettle it, while slices that pool several cohorts (``all``,
a split) keep changing as the open cohorts grow.
"""

from __future__ import annotations

from dataclasses import dataclass

from callgate.comparison.slices import GLOBAL, Conds, parse_slice
from callgate.gate.decide import Decision
from callgate.gate.model import GateCheck, Outcome

DEFAULT_LOOKS = 4


@dataclass(frozen=True)
class Design:
    looks: int = DEFAULT_LOOKS

    def level(self, alpha: float) -> float:
        """The level of every test at every look."""
        return alpha / self.looks


def _key(metric: str | None, slice_label: str) -> tuple[str | None, str]:
    return metric, slice_label


def settle(decision: Decision, settled: dict[tuple[str | None, str], GateCheck]) -> Decision:
    """``decision`` with the checks settled at earlier looks kept as they were; records the
    checks this look settles in ``settled``."""
    checks: list[GateCheck] = []
    for ch in decision.checks:
        before = settled.get(_key(ch.metric, ch.slice))
        if before is not None and ch.status not in ("pass", "block"):
            ch = before
        elif ch.status in ("pass", "block"):
            settled[_key(ch.metric, ch.slice)] = ch
        checks.append(ch)
    passed = {_key(ch.metric, ch.slice) for ch in checks if ch.status == "pass"}
    undecided = [r for r in decision.undecided if _key(r.metric, r.slice) not in passed]
    label: Outcome = (
        "BLOCK"
        if decision.reasons
        else "UNDECIDED"
        if undecided or any(ch.status == "open" for ch in checks)
        else "PROMOTE"
    )
    return Decision(
        label, decision.reasons, undecided, decision.warnings, checks, decision.family_size
    )


def open_slices(decision: Decision) -> list[str]:
    """Slices that more calls could settle: open checks and slices without enough calls."""
    found = [ch.slice for ch in decision.checks if ch.status == "open"]
    found += [r.slice for r in decision.undecided]
    return list(dict.fromkeys(found))


def wants_calls(tags: dict[str, str], slices: list[str]) -> bool:
    """Whether a cell with these tags adds calls to any of these slices. A tag the cell does not
    fix (its calls may take any value) does not rule it out."""
    conds: list[Conds] = [() if s == GLOBAL else parse_slice(s) for s in slices]
    return any(all(tags.get(t, v) == v for t, v in c) for c in conds)
