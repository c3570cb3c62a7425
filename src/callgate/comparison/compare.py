"""Compare two sides metric by metric and slice by slice: estimates, intervals and tests.

A :class:`Comparison` holds what was measured (n, both statistics, delta, interval, standard error,
discordant pairs) and answers the one-sided tests the gate needs for any margin:
:meth:`Comparison.p_harm` ("harm > margin") and :meth:`Comparison.p_gain` ("gain > required").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from callgate.comparison import stats
from callgate.comparison.pairing import Pairing
from callgate.comparison.sides import Side
from callgate.comparison.slices import Conds, Slice
from callgate.evaluators.base import Direction

STATISTICS = {"mean": None, "p50": 0.5, "p95": 0.95, "p99": 0.99}
VERDICTS = ("better", "no detectable change", "worse", "too few calls to tell")
POWER = 0.8


@dataclass(frozen=True)
class MetricSpec:
    name: str
    direction: Direction
    kind: str = "continuous"  # binary, rate or continuous
    statistic: str = "mean"
    unit: str = ""

    @property
    def sign(self) -> int:
        return 1 if self.direction == "higher" else -1


@dataclass
class Comparison:
    metric: MetricSpec
    slice: str
    conds: Conds
    paired: bool
    n_base: int
    n_cand: int
    baseline: float
    candidate: float
    delta: float  # candidate - baseline
    ci_low: float
    ci_high: float
    confidence: float
    se: float  # standard error of delta (bootstrap) or of the paired difference (pass/fail)
    method: str  # mcnemar, bootstrap-paired, bootstrap-unpaired
    worse: int = 0  # discordant pairs where the candidate is worse (paired pass/fail only)
    better: int = 0

    @property
    def n(self) -> int:
        return min(self.n_base, self.n_cand)

    @property
    def harm(self) -> float:
        return -self.metric.sign * self.delta

    def p_harm(self, margin: float) -> float:
        """One-sided p-value for "the candidate is worse by more than ``margin``"."""
        if self.n == 0:
            return 1.0
        if self.method == "mcnemar":
            if margin == 0:
                return stats.mcnemar_one_sided(self.worse, self.better)
            return stats.normal_sf(stats.tango_z(self.worse, self.better, self.n, margin))
        return self._z_test(self.harm - margin)

    def p_gain(self, required: float) -> float:
        """One-sided p-value for "the candidate is better by more than ``required``"."""
        if self.n == 0:
            return 1.0
        if self.method == "mcnemar":
            if required == 0:
                return stats.mcnemar_one_sided(self.better, self.worse)
            return 1.0 - stats.normal_sf(stats.tango_z(self.worse, self.better, self.n, -required))
        return self._z_test(-self.harm - required)

    def _z_test(self, excess: float) -> float:
        # A z test on the bootstrap standard error: unlike counting resamples it resolves p-values
        # below 1/B, which a multiplicity correction over many slices needs.
        if not (math.isfinite(excess) and math.isfinite(self.se)):
            return 1.0  # fewer than two calls: nothing to test
        if self.se == 0:
            # Every resample gave the same delta: the difference is certain either way.
            return 0.0 if excess > 0 else 1.0
        return stats.normal_sf(excess / self.se)

    def mde(self, alpha: float, margin: float = 0.0, power: float = POWER) -> float | None:
        """Smallest harm a one-sided test at ``alpha`` detects with ``power`` at this n."""
        if self.n < 2 or not self.se > 0:
            return None
        return margin + (stats.z_of(1 - alpha) + stats.z_of(power)) * self.se

    def verdict(self, alpha: float, min_calls: int) -> str:
        """Two-sided verdict at ``alpha`` against no change."""
        if self.n < min_calls:
            return "too few calls to tell"
        if self.p_harm(0.0) < alpha / 2:
            return "worse"
        if self.p_gain(0.0) < alpha / 2:
            return "better"
        return "no detectable change"


def compare(
    base: Side,
    cand: Side,
    pairing: Pairing,
    slices: list[Slice],
    metrics: list[MetricSpec],
    *,
    seed: int = 0,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> list[Comparison]:
    """Every metric in every slice, slice by slice (one bootstrap draw per slice)."""
    out: list[Comparison] = []
    for s in slices:
        out += compare_slice(base, cand, pairing, s, metrics, seed, resamples, confidence)
    return out


def compare_slice(
    base: Side,
    cand: Side,
    pairing: Pairing,
    s: Slice,
    metrics: list[MetricSpec],
    seed: int,
    resamples: int,
    confidence: float,
) -> list[Comparison]:
    results: dict[int, Comparison] = {}
    boot: list[tuple[int, stats.Column]] = []
    for j, m in enumerate(metrics):
        b, c = base.metrics[m.name][s.base], cand.metrics[m.name][s.cand]
        if pairing.paired and m.kind == "binary" and m.statistic == "mean":
            results[j] = _pass_fail(m, s, b, c, confidence)
        else:
            boot.append((j, stats.Column(b, c, STATISTICS[m.statistic])))
    if boot:
        columns = [c for _, c in boot]
        base_stat, cand_stat = stats.point_stats(columns, pairing.paired)
        valid = [_valid_counts(c, pairing.paired) for c in columns]
        can_resample = any(min(v) > 0 for v in valid)
        reps = (
            stats.bootstrap_deltas(
                columns, pairing.paired, stats.slice_rng(seed, s.label), resamples
            )
            if can_resample
            else np.full((resamples, len(columns)), np.nan)
        )
        method = "bootstrap-paired" if pairing.paired else "bootstrap-unpaired"
        for k, (j, _col) in enumerate(boot):
            nb, nc = valid[k]
            enough = min(nb, nc) >= 2
            lo, hi = stats.percentile_interval(reps[:, k], confidence) if enough else (np.nan,) * 2
            results[j] = Comparison(
                metrics[j],
                s.label,
                s.conds,
                pairing.paired,
                nb,
                nc,
                float(base_stat[k]),
                float(cand_stat[k]),
                float(cand_stat[k] - base_stat[k]),
                float(lo),
                float(hi),
                confidence,
                stats.bootstrap_se(reps[:, k]) if enough else math.nan,
                method,
            )
    return [results[j] for j in range(len(metrics))]


def _valid_counts(col: stats.Column, paired: bool) -> tuple[int, int]:
    if paired:
        n = int((np.isfinite(col.base) & np.isfinite(col.cand)).sum())
        return n, n
    return int(np.isfinite(col.base).sum()), int(np.isfinite(col.cand).sum())


def _pass_fail(
    m: MetricSpec, s: Slice, b: np.ndarray, c: np.ndarray, confidence: float
) -> Comparison:
    ok = np.isfinite(b) & np.isfinite(c)
    b, c = b[ok] > 0.5, c[ok] > 0.5
    n = int(ok.sum())
    good_b, good_c = (b, c) if m.sign > 0 else (~b, ~c)
    worse = int((good_b & ~good_c).sum())
    better = int((~good_b & good_c).sum())
    base_rate = float(b.mean()) if n else math.nan
    cand_rate = float(c.mean()) if n else math.nan
    if n:
        lo_h, hi_h = stats.tango_interval(worse, better, n, confidence)
        # harm = -sign * delta, so the delta interval is the harm interval mirrored for "higher"
        lo, hi = (-hi_h, -lo_h) if m.sign > 0 else (lo_h, hi_h)
        # Discordance smoothed by one pair each way, so a slice with no discordant pair yet does
        # not claim that it could detect any difference at all.
        se = math.sqrt((worse + better + 1) / (n + 2) / n)
    else:
        lo = hi = se = math.nan
    return Comparison(
        m,
        s.label,
        s.conds,
        True,
        n,
        n,
        base_rate,
        cand_rate,
        cand_rate - base_rate,
        lo,
        hi,
        confidence,
        se,
        "mcnemar",
        worse,
        better,
    )
