"""Compare two sides metric by metric and slice by slice: estimates, intervals and tests.

A :class:`Comparison` holds what was measured (calls and scenarios, both statistics, delta,
interval, standard error and its degrees of freedom, discordant pairs) and answers the one-sided
tests the gate needs for any margin: :meth:`Comparison.p_harm` ("harm > margin"),
:meth:`Comparison.p_within` ("harm < margin", non-inferiority) and :meth:`Comparison.p_gain`
("gain > required"). Every test treats the calls of one scenario as one cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from callgate.comparison import clustered, stats
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
    events: str | None = None  # the count metric of its events (Metric.events)

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
    se: float  # standard error of delta (cluster-robust, or of the cluster bootstrap)
    df: float  # degrees of freedom of the t reference (scenarios - 1 when paired)
    method: str  # cluster-score-paired, cluster-t-(un)paired, cluster-bootstrap-(un)paired
    scenarios: int = 0  # distinct scenarios (clusters) in the slice
    worse: int = 0  # discordant pairs where the candidate is worse (paired pass/fail only)
    better: int = 0
    needs: int = 0  # calls a percentile needs before it means anything (0: supported)
    deff: float = 1.0  # design effect of the scenario clusters (score test only)
    events_base: int | None = None  # events pooled over the slice's calls (Metric.events)
    events_cand: int | None = None

    @property
    def n(self) -> int:
        return min(self.n_base, self.n_cand)

    def too_few_events(self, min_events: int) -> int | None:
        """The fewer side's pooled events when below ``min_events``, else None."""
        if self.events_base is None or self.events_cand is None:
            return None
        fewest = min(self.events_base, self.events_cand)
        return fewest if fewest < min_events else None

    @property
    def supported(self) -> bool:
        return self.n >= self.needs

    @property
    def harm(self) -> float:
        return -self.metric.sign * self.delta

    @property
    def _score(self) -> bool:
        return self.method == "cluster-score-paired"

    def _z(self, delta: float) -> float:
        """The test statistic of "harm = delta" (large: more harmful than delta); NaN when
        there is nothing to test, +-inf when the difference is certain."""
        if self.n < 2 or not math.isfinite(self.df):
            return math.nan
        if self._score:
            return stats.score_z(self.worse, self.better, self.n, delta, self.deff)
        excess = self.harm - delta
        if not (math.isfinite(excess) and math.isfinite(self.se)):
            return math.nan
        if self.se == 0:
            # Every call gave the same difference: it is certain either way.
            return 0.0 if excess == 0 else math.copysign(math.inf, excess)
        return excess / self.se

    def _p(self, z: float) -> float:
        return 1.0 if math.isnan(z) else stats.t_sf(z, self.df)

    def p_harm(self, margin: float) -> float:
        """One-sided p-value for "the candidate is worse by more than ``margin``"."""
        return self._p(self._z(margin))

    def p_within(self, margin: float) -> float:
        """One-sided p-value for "the candidate is worse by less than ``margin``" (the
        non-inferiority test: small when the loss is shown to stay inside the margin)."""
        return self._p(-self._z(margin))

    def p_gain(self, required: float) -> float:
        """One-sided p-value for "the candidate is better by more than ``required``"."""
        return self._p(-self._z(-required))

    def harm_bound(self, alpha: float, upper: bool = True) -> float:
        """One-sided (1 - alpha) confidence bound of the harm: upper, or lower. Infinite (in
        its direction) when there is nothing to test."""
        side = 1.0 if upper else -1.0
        if self.n < 2 or not (math.isfinite(self.df) and math.isfinite(self.se)):
            return side * math.inf
        t = side * stats.t_ppf(1 - alpha, self.df)
        if self._score:
            # The score statistic falls as the harm tested grows: the bound is where it is -t.
            return stats.score_bound(self.worse, self.better, self.n, self.deff, -t)
        return self.harm + t * self.se

    def mde(self, alpha: float, margin: float = 0.0, power: float = POWER) -> float | None:
        """Smallest harm a one-sided test at ``alpha`` detects with ``power`` at this n."""
        if self.n < 2 or not self.se > 0:
            return None
        return margin + (stats.t_ppf(1 - alpha, self.df) + stats.z_of(power)) * self.se

    def verdict(self, alpha: float, min_calls: int) -> str:
        """Two-sided verdict at ``alpha`` against no change."""
        if self.n < min_calls or not self.supported:
            return "too few calls to tell"
        if self.p_harm(0.0) < alpha / 2:
            return "worse"
        if self.p_gain(0.0) < alpha / 2:
            return "better"
        return "no detectable change"


# A percentile is read off the calls above it: ask for at least this many of them.
TAIL_CALLS = 5


def calls_needed(statistic: str) -> int:
    """Calls a statistic needs to mean anything: p95 needs 100 (five calls in its tail)."""
    q = STATISTICS[statistic]
    return 0 if q is None or q <= 0.5 else math.ceil(TAIL_CALLS / (1.0 - q) - 1e-9)


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


def _clusters(side: Side, idx: np.ndarray) -> np.ndarray:
    """Each call's scenario as a cluster code; calls without a scenario are their own cluster."""
    col = side.text.get("scenario_id")
    if col is None:
        return np.arange(idx.size, dtype=np.int64)
    return clustered.codes(col[idx])


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
    gb, gc = _clusters(base, s.base), _clusters(cand, s.cand)
    results: dict[int, Comparison] = {}
    boot: list[tuple[int, stats.Column]] = []
    for j, m in enumerate(metrics):
        b, c = base.metrics[m.name][s.base], cand.metrics[m.name][s.cand]
        if m.statistic == "mean":
            results[j] = _mean(m, s, b, c, gb, gc, pairing.paired, confidence)
        else:
            boot.append((j, stats.Column(b, c, STATISTICS[m.statistic])))
    if boot:
        found = _percentiles(metrics, boot, s, gb, gc, pairing.paired, seed, resamples, confidence)
        results.update(found)
    scenarios = _scenario_count(base, cand, s, pairing.paired)
    for j, comp in results.items():
        comp.scenarios = scenarios
        ev = metrics[j].events
        if ev is not None and ev in base.metrics and ev in cand.metrics:
            comp.events_base = int(np.nansum(base.metrics[ev][s.base]))
            comp.events_cand = int(np.nansum(cand.metrics[ev][s.cand]))
    return [results[j] for j in range(len(metrics))]


def _scenarios(g: np.ndarray) -> int:
    return int(np.unique(g).size)


def _scenario_count(base: Side, cand: Side, s: Slice, paired: bool) -> int:
    """Distinct scenarios in the slice (either side's when unpaired); calls without a scenario
    count one each."""
    cb, cc = base.text.get("scenario_id"), cand.text.get("scenario_id")
    if cb is None or cc is None:
        return s.n
    names = set(cb[s.base].astype(str))
    if not paired:
        names |= set(cc[s.cand].astype(str))
    return len(names)


def _mean(
    m: MetricSpec,
    s: Slice,
    b: np.ndarray,
    c: np.ndarray,
    gb: np.ndarray,
    gc: np.ndarray,
    paired: bool,
    confidence: float,
) -> Comparison:
    binary = m.kind == "binary"
    worse = better = 0
    if paired:
        ok = np.isfinite(b) & np.isfinite(c)
        b, c, gb = b[ok], c[ok], gb[ok]
        gc = gb
        est = clustered.paired(b, c, gb, binary)
        method = "cluster-t-paired"
        if binary:
            d = m.sign * (c - b)
            worse, better = int((d < 0).sum()), int((d > 0).sum())
            method = "cluster-score-paired"
    else:
        okb, okc = np.isfinite(b), np.isfinite(c)
        b, gb, c, gc = b[okb], gb[okb], c[okc], gc[okc]
        est = clustered.unpaired(b, gb, c, gc, binary)
        method = "cluster-t-unpaired"
    base_v = float(b.mean()) if b.size else math.nan
    cand_v = float(c.mean()) if c.size else math.nan
    comp = Comparison(
        m, s.label, s.conds, paired, int(b.size), int(c.size), base_v, cand_v,
        cand_v - base_v, math.nan, math.nan, confidence, est.se, est.df, method, 0, worse, better,
        deff=est.deff,
    )  # fmt: skip
    if math.isfinite(est.se) and math.isfinite(est.df):
        # The interval inverts the tests: its ends are where the two-sided test would reject.
        tail = (1.0 - confidence) / 2.0
        lo_h, hi_h = comp.harm_bound(tail, upper=False), comp.harm_bound(tail)
        comp.ci_low, comp.ci_high = (-hi_h, -lo_h) if m.sign > 0 else (lo_h, hi_h)
    return comp


def _percentiles(
    metrics: list[MetricSpec],
    boot: list[tuple[int, stats.Column]],
    s: Slice,
    gb: np.ndarray,
    gc: np.ndarray,
    paired: bool,
    seed: int,
    resamples: int,
    confidence: float,
) -> list[tuple[int, Comparison]]:
    columns = [c for _, c in boot]
    base_stat, cand_stat = stats.point_stats(columns, paired)
    valid = [_valid_counts(c, paired) for c in columns]
    can_resample = any(min(v) > 0 for v in valid)
    reps = (
        stats.bootstrap_deltas(columns, paired, stats.slice_rng(seed, s.label), resamples, (gb, gc))
        if can_resample
        else np.full((resamples, len(columns)), np.nan)
    )
    method = "cluster-bootstrap-paired" if paired else "cluster-bootstrap-unpaired"
    kb, kc = _scenarios(gb), _scenarios(gc)
    # Paired: one scenario is one cluster of pairs. Unpaired: the side with fewer scenarios.
    df = float(kb - 1) if paired else float(min(kb, kc) - 1)
    out = []
    for k, (j, _col) in enumerate(boot):
        nb, nc = valid[k]
        enough = min(nb, nc) >= 2 and df >= 1
        lo, hi = stats.percentile_interval(reps[:, k], confidence) if enough else (np.nan,) * 2
        comp = Comparison(
            metrics[j], s.label, s.conds, paired, nb, nc, float(base_stat[k]),
            float(cand_stat[k]), float(cand_stat[k] - base_stat[k]), float(lo), float(hi),
            confidence, stats.bootstrap_se(reps[:, k]) if enough else math.nan, df, method,
            needs=calls_needed(metrics[j].statistic),
        )  # fmt: skip
        out.append((j, comp))
    return out


def _valid_counts(col: stats.Column, paired: bool) -> tuple[int, int]:
    if paired:
        n = int((np.isfinite(col.base) & np.isfinite(col.cand)).sum())
        return n, n
    return int(np.isfinite(col.base).sum()), int(np.isfinite(col.cand).sum())
