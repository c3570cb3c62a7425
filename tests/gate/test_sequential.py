"""The sequential design: settled checks stay settled, calls go only where a check is open, and
with repeated looks the error rates stay within alpha (simulated on clustered synthetic runs)."""

from __future__ import annotations

import math

import pytest

from callgate.gate.calibration_data import default_shapes
from callgate.gate.decide import Decision
from callgate.gate.model import GateCheck, GateReason
from callgate.gate.policy import load_policy
from callgate.gate.sequential import Design, open_slices, settle, wants_calls
from callgate.gate.sequential_sim import run_adaptive, standard_cases


def check(slice_: str, status: str) -> GateCheck:
    return GateCheck(
        metric="task_completion", statistic="mean", direction="higher", kind="binary",
        unit="bool", slice=slice_, paired=True, n=40, n_baseline=40, n_candidate=40,
        baseline=0.8, candidate=0.8, delta=0.0, ci_low=-0.1, ci_high=0.1, method="m",
        discordant_worse=None, discordant_better=None, margin=0.1, required_improvement=None,
        min_calls=30, required=False, p_worse=None, p_adjusted=None, p_better=None, mde=None,
        verdict="", status=status, note="",  # type: ignore[arg-type]
    )  # fmt: skip


def decision(*checks: GateCheck) -> Decision:
    undecided = [
        GateReason(kind="undecided", slice=c.slice, message="open", metric=c.metric)
        for c in checks
        if c.status == "open"
    ]
    label = "UNDECIDED" if undecided else "PROMOTE"
    return Decision(label, [], undecided, [], list(checks), 1)  # type: ignore[arg-type]


def test_a_settled_check_stays_settled_and_the_gate_can_promote_on_it() -> None:
    settled: dict = {}  # type: ignore[type-arg]
    first = settle(decision(check("accent=a", "pass"), check("accent=b", "open")), settled)
    assert first.label == "UNDECIDED" and open_slices(first) == ["accent=b"]
    # Next look: b passes, a (which got no new calls, but its pooled data moved) reads open.
    second = settle(decision(check("accent=a", "open"), check("accent=b", "pass")), settled)
    assert second.label == "PROMOTE"
    assert [c.status for c in second.checks] == ["pass", "pass"] and not second.undecided


def test_calls_go_to_cells_an_open_slice_needs() -> None:
    assert wants_calls({"accent": "a", "split": "dev"}, ["accent=a"])
    assert not wants_calls({"accent": "b", "split": "dev"}, ["accent=a"])
    assert wants_calls({"accent": "b"}, ["all"])
    assert wants_calls(
        {"accent": "b", "split": "holdout"}, ["accent=a&split=holdout", "split=holdout"]
    )
    assert wants_calls({"accent": "b"}, ["split=holdout"])  # a tag the cell does not fix
    assert Design(4).level(0.05) == pytest.approx(0.0125)


def _not_above(count: int, runs: int, rate: float = 0.05) -> bool:
    """Consistent with a true rate of at most ``rate`` (exact one-sided binomial test at 1%)."""
    tail = sum(
        math.comb(runs, i) * rate**i * (1 - rate) ** (runs - i) for i in range(count, runs + 1)
    )
    return tail >= 0.01


@pytest.mark.slow
def test_repeated_looks_keep_the_error_rates() -> None:
    policy = load_policy("default")
    shapes = default_shapes(8, (0.25, 0.35))
    no_change, _better, broken, at_margin = standard_cases(8, 0.10)
    runs = 200
    aa = run_adaptive(policy, shapes, no_change, Design(4), 120, runs)
    assert _not_above(aa.decisions.get("BLOCK", 0), runs), aa.decisions
    margin = run_adaptive(policy, shapes, at_margin, Design(4), 120, runs)
    assert _not_above(margin.decisions.get("PROMOTE", 0), runs), margin.decisions
    # And it decides: a broken cohort is blocked, early on average.
    caught = run_adaptive(policy, shapes, broken, Design(4), 120, 50)
    assert caught.rate("BLOCK") > 0.9 and sum(caught.looks) / 50 < 4
