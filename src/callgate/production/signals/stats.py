"""The intervals behind ``callgate signals``: Wilson for shares of calls, a design-effect Wilson for
shares of turns, a design-effect order-statistic interval for percentiles of turns, and a cluster
bootstrap over calls for the cost ratio.

Turns of one call are not independent: a caller on a bad line has every turn misheard, a slow
backend delays every reply of that call. So whatever counts turns is resampled (or its variance
estimated) call by call, never turn by turn; a turn-level interval would be too sure of itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from callgate.comparison.stats import count_blocks, percentile_interval, weighted_quantile, z_of

Interval = tuple[float | None, float | None]


def z_for(confidence: float) -> float:
    return z_of(1.0 - (1.0 - confidence) / 2.0)


def wilson(p: float, n: float, z: float) -> Interval:
    """Wilson score interval of a share ``p`` observed on ``n`` (possibly effective) units."""
    if n <= 0:
        return None, None
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0))
    return max(0.0, centre - half), min(1.0, centre + half)


def clustered_share(hits: np.ndarray, units: np.ndarray, z: float) -> tuple[float, Interval, float]:
    """(share, Wilson interval on the effective number of turns, design effect) for per-call counts
    of ``hits`` among ``units`` turns.

    The share is the ratio of sums (every turn weighs the same). Its cluster-robust variance (the
    ratio estimator's, linearised, with the G/(G-1) small-sample factor) over the binomial
    variance of independent turns is the design effect; the turn count divided by it is how many
    independent turns the calls are worth. The effect is never taken below 1: a few homogeneous
    calls must not look surer than independent turns would.
    """
    total = float(units.sum())
    share = float(hits.sum()) / total
    calls = int(units.size)
    deff = 1.0
    binomial = share * (1 - share) / total
    if calls >= 2 and binomial > 0:
        resid = hits - share * units
        robust = calls / (calls - 1) * float(resid @ resid) / (total * total)
        deff = max(1.0, robust / binomial)
    return share, wilson(share, total / deff, z), deff


@dataclass(frozen=True)
class TurnValues:
    """Per-turn values of one group, sorted, with the group-local call each came from."""

    calls: np.ndarray  # call position (0..n-1) of each sorted value
    values: np.ndarray  # ascending


def sorted_turns(values: np.ndarray, calls: np.ndarray) -> TurnValues:
    order = np.argsort(values, kind="stable")
    return TurnValues(calls[order], values[order])


def quantiles(counts: np.ndarray, turns: TurnValues, qs: tuple[float, ...]) -> np.ndarray:
    """``(rows, len(qs))``: per row of call counts, the inverted-CDF quantiles (numpy's
    ``inverted_cdf``, the nearest rank: a value some turn had) of the turns, each turn counted as
    often as its call (the gate's percentile rule). NaN where a row draws no turn."""
    out = np.full((counts.shape[0], len(qs)), np.nan)
    if turns.values.size == 0:
        return out
    for j, q in enumerate(qs):
        # One running sum per q over blocks of columns beats one full running sum shared by all
        # q: a full cumsum over (resamples x turns) is what is slow here.
        out[:, j] = weighted_quantile(counts, turns.calls, turns.values, q)
    return out


def nearest_rank(turns: TurnValues, n_calls: int, q: float) -> float | None:
    """The inverted-CDF quantile of the observed turns (every call counted once)."""
    if turns.values.size == 0:
        return None
    return float(quantiles(np.ones((1, n_calls), dtype=np.int32), turns, (q,))[0, 0])


@dataclass
class ClusterBootstrap:
    """Resample a group's calls with replacement ``resamples`` times; each statistic sees every
    turn of a drawn call as often as the call was drawn. The draws are shared by every statistic
    of the group, so one pass of the counts serves all of them."""

    n_calls: int
    resamples: int
    rng: np.random.Generator

    def run(
        self, turns: TurnValues, qs: tuple[float, ...], ratios: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``(resamples, len(qs))`` resampled quantiles of the turns, and per ratio (numerator,
        denominator per call) the resampled ratio of sums; NaN where a resample drew nothing to
        compute it from."""
        if turns.values.size == 0 and not ratios:  # nothing to resample for
            return np.full((self.resamples, len(qs)), np.nan), []
        q_parts: list[np.ndarray] = []
        r_parts: list[list[np.ndarray]] = [[] for _ in ratios]
        stacked = np.column_stack([x for pair in ratios for x in pair] or [np.zeros(self.n_calls)])
        for counts in count_blocks(self.rng, self.n_calls, self.resamples):
            q_parts.append(quantiles(counts, turns, qs))
            if ratios:
                sums = counts.astype(np.float64) @ stacked  # every sum in one product
                for i in range(len(ratios)):
                    top, bottom = sums[:, 2 * i], sums[:, 2 * i + 1]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        r_parts[i].append(np.where(bottom > 0, top / bottom, np.nan))
        return np.vstack(q_parts), [np.concatenate(p) for p in r_parts]


def min_turns(q: float) -> int:
    """Turns a q-th percentile needs before it is more than a guess: five above it (p50: 10, p95:
    100, p99: 500), the gate's rule for percentiles."""
    return math.ceil(5 / (1 - q) - 1e-9)


def quantile_interval(turns: TurnValues, n_calls: int, q: float, z: float) -> Interval:
    """An order-statistic (Woodruff) interval of the q-th percentile of the turns: the ranks
    ``N q -/+ z sqrt(N q (1 - q) deff)``, read off the sorted turns, where ``deff`` is the design
    effect of the share of turns at or below the estimate, clustered by call.

    Preferred to the cluster bootstrap for percentiles because a bootstrap of a tail percentile
    cannot reach beyond the largest values it resamples: on generated clustered traffic
    (benchmarks/signals_coverage.py) its 95% interval covered a p99 in 69-88% of runs where this
    one covered 97-99% (docs/production.md has the figures).
    """
    values = turns.values
    count = values.size
    estimate = nearest_rank(turns, n_calls, q)
    if estimate is None:
        return None, None
    below = (values <= estimate).astype(np.float64)
    hits = np.bincount(turns.calls, weights=below, minlength=n_calls)
    units = np.bincount(turns.calls, minlength=n_calls).astype(np.float64)
    has = units > 0
    _, _, deff = clustered_share(hits[has], units[has], z)
    half = z * math.sqrt(q * (1 - q) * deff / count)
    low_rank = math.ceil((q - half) * count) - 1  # nearest rank of the share q - half
    high_rank = math.ceil((q + half) * count) - 1
    low = float(values[low_rank]) if low_rank >= 0 else None  # below the smallest turn: unknown
    high = float(values[high_rank]) if high_rank < count else None  # above the largest: unknown
    return low, high


def interval_of(reps: np.ndarray, confidence: float) -> Interval:
    lo, hi = percentile_interval(reps, confidence)
    return (None if math.isnan(lo) else lo), (None if math.isnan(hi) else hi)
