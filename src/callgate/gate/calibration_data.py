"""Synthetic paired runs shaped like real ones, for ``callgate calibrate`` (docs/gate.md).

Real suites are not the independent coin flips a textbook test assumes: the variants disagree on
a quarter to a third of the pairs (ASR noise, a flaky tool, a caller simulator that rephrases),
calls come in clusters (several repeats and cohorts of one scenario, sharing its words and its
traps), and some scenarios are far flakier than others. Each cohort is described by a
:class:`CohortShape`, taken from defaults or measured on a stored run (:func:`shapes_from_side`):

* scenarios of ``calls_per_scenario`` calls; scenario s succeeds with probability q_s, drawn from
  a Beta distribution of mean ``success_rate`` and concentration ``rate_concentration``;
* a pair disagrees with probability d_s, the cohort's ``discordance`` times a Gamma factor of
  mean 1 and shape ``discordance_shape`` (small shape: a few very flaky scenarios), capped by
  what q_s allows; disagreements go either way with equal odds, so both variants succeed with
  probability q_s: an A/A pair;
* a harm h in a cohort is concentrated in half of its scenarios (a regression hits some
  scenarios, not all): there each candidate success fails with the probability that makes the
  expected loss over the cohort exactly h, given the A/A data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from callgate.comparison.compare import MetricSpec
from callgate.comparison.sides import Side
from callgate.results.table import TAG_PREFIX

HOLDOUT_SHARE = 0.25  # of scenarios, tagged split=holdout (the rest split=dev)


@dataclass(frozen=True)
class CohortShape:
    name: str
    discordance: float = 0.30
    success_rate: float = 0.70
    calls_per_scenario: float = 3.0
    rate_concentration: float = 6.0
    discordance_shape: float = 2.0


def default_shapes(cohorts: int, discordance: tuple[float, float]) -> list[CohortShape]:
    """``cohorts`` cohorts c01, c02, ... whose discordance spreads evenly over the range."""
    lo, hi = discordance
    steps = [lo + (hi - lo) * i / max(cohorts - 1, 1) for i in range(cohorts)]
    return [CohortShape(f"c{i + 1:02d}", discordance=d) for i, d in enumerate(steps)]


@dataclass
class CohortData:
    """One cohort's pairs: outcomes (1 = the metric's good value), scenario of each pair."""

    base: np.ndarray
    cand: np.ndarray
    scenario: np.ndarray  # int codes within the cohort
    hit: np.ndarray  # scenarios a harm would concentrate in (bool per scenario)
    q: np.ndarray  # each pair's success probability (its scenario's)


def cohort_pairs(rng: np.random.Generator, shape: CohortShape, n: int) -> CohortData:
    """``n`` A/A pairs of one cohort (see the module docstring)."""
    per = max(1, round(shape.calls_per_scenario))
    scenarios = max(2, math.ceil(n / per))
    mean = min(max(shape.success_rate, 0.02), 0.98)
    q = rng.beta(mean * shape.rate_concentration, (1 - mean) * shape.rate_concentration, scenarios)
    cap = 2.0 * np.minimum(q, 1.0 - q)
    raw = shape.discordance * rng.gamma(
        shape.discordance_shape, 1 / shape.discordance_shape, scenarios
    )
    d = np.minimum(raw, cap)
    # Capping lowers the mean; scale the rest back up (twice is plenty) to keep the cohort's rate.
    for _ in range(2):
        if d.mean() > 0:
            d = np.minimum(d * shape.discordance / d.mean(), cap)
    scenario = np.arange(n) % scenarios
    qs, ds = q[scenario], d[scenario]
    u = rng.random(n)
    # Cells by cumulative probability: (1, 0), (0, 1), (1, 1), (0, 0).
    ten = u < ds / 2
    one = (u >= ds / 2) & (u < ds)
    both = (u >= ds) & (u < ds / 2 + qs)
    base = (ten | both).astype(np.float64)
    cand = (one | both).astype(np.float64)
    hit = np.zeros(scenarios, dtype=bool)
    hit[rng.permutation(scenarios)[: max(1, scenarios // 2)]] = True
    return CohortData(base, cand, scenario, hit, qs)


def with_harm(rng: np.random.Generator, data: CohortData, harm: float) -> np.ndarray:
    """The candidate's outcomes after a loss whose expectation, given the cohort's scenarios,
    is ``harm`` (a share of pairs): in the hit scenarios each candidate success fails with one
    probability, drawn pair by pair (so pairs stay independent given their scenarios)."""
    cand = data.cand.copy()
    if harm <= 0:
        return cand
    n = cand.size
    for where in (data.hit[data.scenario], np.ones(n, dtype=bool)):
        expected = float(data.q[where].sum())  # candidate successes expected there
        if expected >= harm * n:
            p = harm * n / expected
            cand[where & (cand == 1.0) & (rng.random(n) < p)] = 0.0
            return cand
    cand[cand == 1.0] = 0.0  # the harm asked for exceeds every success: all fail
    return cand


def sides_from(
    shapes: list[CohortShape],
    data: list[CohortData],
    cand_outcomes: list[np.ndarray],
    outcome: MetricSpec,
    tag: str,
    others: dict[str, tuple[np.ndarray, np.ndarray]],
    holdout: np.ndarray,
) -> tuple[Side, Side]:
    """Both sides of one synthetic run as :class:`Side` objects the gate reads."""
    names = np.concatenate(
        [np.full(d.base.size, s.name, dtype=object) for s, d in zip(shapes, data, strict=True)]
    )
    scen = np.concatenate(
        [
            np.array([f"{s.name}-s{k}" for k in d.scenario], dtype=object)
            for s, d in zip(shapes, data, strict=True)
        ]
    )
    size = names.size
    text = {
        "call_id": np.array([f"call{i}" for i in range(size)], dtype=object),
        "scenario_id": scen,
        "cohort_id": names,
        "repeat": np.array([str(i) for i in range(size)], dtype=object),
        TAG_PREFIX + tag: names,
        TAG_PREFIX + "split": np.where(holdout, "holdout", "dev").astype(object),
    }
    flip = outcome.direction == "lower"
    base_v = np.concatenate([d.base for d in data])
    cand_v = np.concatenate(cand_outcomes)
    if flip:
        base_v, cand_v = 1.0 - base_v, 1.0 - cand_v
    sides = []
    for variant, value, k in (("baseline", base_v, 0), ("candidate", cand_v, 1)):
        metrics = {outcome.name: value, **{m: pair[k] for m, pair in others.items()}}
        t = dict(text, variant=np.full(size, variant, dtype=object))
        sides.append(Side(f"synthetic:{variant}", "synthetic", variant, t, metrics))
    return sides[0], sides[1]


def holdout_of(rng: np.random.Generator, data: list[CohortData]) -> np.ndarray:
    """split=holdout for a quarter of each cohort's scenarios (a scenario is never split)."""
    parts = []
    for d in data:
        chosen = rng.random(int(d.scenario.max()) + 1) < HOLDOUT_SHARE
        parts.append(chosen[d.scenario])
    return np.concatenate(parts)


def other_metric(
    rng: np.random.Generator, m: MetricSpec, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """A/A values of a metric the calibration does not regress (it still joins the family)."""
    if m.kind == "binary":
        u = rng.random(size)
        base = (u < 0.9).astype(np.float64)
        cand = np.where(rng.random(size) < 0.05, 1.0 - base, base)
        swap = rng.random(size) < 0.5  # keep the pair A/A: flip either side with equal odds
        return np.where(swap, cand, base), np.where(swap, base, cand)
    if m.kind == "rate":
        level = rng.beta(8, 2, size)
        base = np.clip(level + rng.normal(0, 0.05, size), 0, 1)
        return base, np.clip(level + rng.normal(0, 0.05, size), 0, 1)
    level = rng.lognormal(0, 0.5, size)
    return level * rng.lognormal(0, 0.1, size), level * rng.lognormal(0, 0.1, size)


def shapes_from_side(base: Side, cand: Side, metric: str, tag: str) -> list[CohortShape]:
    """Each cohort's shape as a stored run shows it: discordance, success rate, calls per
    scenario, and how much scenarios differ in success and in discordance (method of moments,
    bounded so that a small run cannot claim extreme values)."""
    from callgate.comparison.pairing import pair

    pairing = pair(base, cand)
    if not pairing.paired:
        raise ValueError(f"the run's variants cannot be paired ({pairing.note})")
    b = base.metrics[metric][pairing.base]
    c = cand.metrics[metric][pairing.cand]
    cohort = base.text[TAG_PREFIX + tag][pairing.base] if TAG_PREFIX + tag in base.text else None
    if cohort is None:
        raise ValueError(f"the run has no tag {tag!r}")
    scen = base.text["scenario_id"][pairing.base].astype(str)
    shapes = []
    for name in sorted({str(x) for x in cohort if x is not None}):
        at = np.flatnonzero((cohort == name) & np.isfinite(b) & np.isfinite(c))
        if at.size < 4:
            continue
        bb, cc = b[at] > 0.5, c[at] > 0.5
        disagree = (bb != cc).astype(np.float64)
        _, codes = np.unique(scen[at], return_inverse=True)
        per = at.size / (int(codes.max()) + 1)
        rate = float(bb.mean())
        shapes.append(
            CohortShape(
                name,
                discordance=float(min(max(disagree.mean(), 0.01), 0.9)),
                success_rate=float(min(max(rate, 0.02), 0.98)),
                calls_per_scenario=float(per),
                rate_concentration=_concentration(bb.astype(np.float64), codes, 0.5, 100.0),
                discordance_shape=_concentration(disagree, codes, 0.5, 50.0, shape=True),
            )
        )
    if not shapes:
        raise ValueError(f"no cohort of {tag!r} has 4 scored pairs")
    return shapes


def _concentration(
    x: np.ndarray, codes: np.ndarray, lo: float, hi: float, *, shape: bool = False
) -> float:
    """Between-scenario spread of a 0/1 outcome beyond what chance gives: the Beta
    concentration (or, ``shape``, the Gamma shape) that reproduces it."""
    k = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=k)
    means = np.bincount(codes, weights=x, minlength=k) / counts
    p = float(x.mean())
    between = float(means.var()) - float(np.mean(p * (1 - p) / counts))
    if p <= 0 or p >= 1 or between <= 0:
        return hi
    value = p * p / between if shape else p * (1 - p) / between - 1.0
    return float(min(max(value, lo), hi))
