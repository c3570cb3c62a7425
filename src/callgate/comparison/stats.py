"""The statistics behind ``compare`` and ``gate``, written out so callgate needs no SciPy.

Conventions used everywhere: ``delta`` is candidate minus baseline in the metric's units;
``harm`` is how much worse the candidate is in the metric's bad direction (``-delta`` when higher
is better); ``gain`` is ``-harm``. Tests are one-sided: "harm > margin" for blocking and
"gain > required improvement" for promoting.

* Means: a t test on a cluster-robust standard error, the calls of one scenario forming a cluster
  (comparison/clustered.py). Paired pass/fail metrics: Tango's score test on the discordant
  pairs, its variance inflated by the design effect of the clusters.
* Percentiles: a cluster bootstrap (whole scenarios are drawn; paired: the pair follows its
  scenario; unpaired: each side is resampled on its own). Each resample's counts are drawn once
  per slice and shared by every metric: a weighted quantile on the same counts.
* Many tests at once: Holm (family-wise error) or Benjamini-Hochberg (false discovery rate).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
# Elements per block of the resample-count matrix: bounds memory (~32 MB of float64) whatever n is.
BLOCK_ELEMENTS = 4_000_000


def z_of(p: float) -> float:
    """Standard normal quantile."""
    return _NORMAL.inv_cdf(p)


def normal_sf(z: float) -> float:
    """P(Z > z); erfc keeps tiny tail probabilities accurate (1 - cdf would round them to 0)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


# -- Student's t ---------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast only below the mean; use the symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (normal when df is infinite)."""
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if not math.isfinite(df) or df > 1e6:
        return normal_sf(t)
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: the t with P(T <= t) = p."""
    if not math.isfinite(df) or df > 1e6:
        return z_of(p)
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 1.0 - t_sf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


# -- score test for a paired difference of proportions ---------------------------------------------


def _score_z_nonneg(worse: int, better: int, n: int, delta: float) -> float:
    # Restricted MLE of P(better) given P(worse) - P(better) = delta (Tango 1998): the root of
    # 2n q^2 + (-(w + b) + (2n - w + b) delta) q - b delta (1 - delta) = 0.
    a = 2.0 * n
    bq = -(worse + better) + (2.0 * n - worse + better) * delta
    c = -better * delta * (1.0 - delta)
    q = (-bq + math.sqrt(max(bq * bq - 4.0 * a * c, 0.0))) / (2.0 * a)
    var = n * (2.0 * q + delta * (1.0 - delta))
    diff = worse - better - n * delta
    if var <= 0.0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def score_z(worse: int, better: int, n: int, delta: float, deff: float = 1.0) -> float:
    """Tango's score statistic for H0: harm = delta, where harm = (worse - better) / n (large =
    harmful), divided by the square root of the design effect of clustered pairs.

    The variance is taken under H0 rather than at the estimate: a Wald test on a pass/fail
    difference is too sure of itself near a margin (it rejects "the loss reaches the margin" in
    about 6% of runs at alpha 0.05 on independent pairs); the score test keeps to alpha.
    """
    if delta < 0:
        # The likelihood is symmetric in (worse, better, delta) -> (better, worse, -delta).
        return -_score_z_nonneg(better, worse, n, -delta) / math.sqrt(deff)
    return _score_z_nonneg(worse, better, n, delta) / math.sqrt(deff)


def score_bound(worse: int, better: int, n: int, deff: float, target: float) -> float:
    """The harm ``delta`` at which :func:`score_z` equals ``target`` (by bisection: the score
    falls as delta grows)."""
    lo, hi = -1.0 + 1e-12, 1.0 - 1e-12
    while hi - lo > 1e-10:
        mid = (lo + hi) / 2.0
        if score_z(worse, better, n, mid, deff) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


# -- multiplicity ---------------------------------------------------------------------------------


def holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (reject where adjusted <= alpha; controls the FWER)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def benjamini_hochberg(pvalues: list[float]) -> list[float]:
    """Benjamini-Hochberg step-up adjusted p-values (controls the false discovery rate)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i], reverse=True)
    out = [1.0] * m
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k  # 1-based rank in ascending order
        running = min(running, m / rank * pvalues[i])
        out[i] = min(1.0, running)
    return out


def adjust(pvalues: list[float], method: str) -> list[float]:
    return holm(pvalues) if method == "holm" else benjamini_hochberg(pvalues)


# -- bootstrap ------------------------------------------------------------------------------------


def slice_rng(seed: int, label: str) -> np.random.Generator:
    """The generator of one slice: seeded by the run seed and the slice's label, so a slice's
    resamples do not depend on which other slices or metrics are compared."""
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])


def count_blocks(rng: np.random.Generator, n: int, resamples: int) -> Iterator[np.ndarray]:
    """Yield ``(rows, n)`` int32 matrices whose row b counts how often each call is drawn in
    resample b.

    Resample b takes ``floor(u * n)`` for ``u = rng.random(n)``, resamples in order. Uniform
    doubles use one generator draw each, so drawing a block of rows at once yields exactly the
    numbers of drawing row by row: results do not depend on the block size.
    """
    rows = max(1, BLOCK_ELEMENTS // max(n, 1))
    done = 0
    while done < resamples:
        r = min(rows, resamples - done)
        idx = (rng.random((r, n)) * n).astype(np.int64)
        np.minimum(idx, n - 1, out=idx)
        idx += (np.arange(r, dtype=np.int64) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=r * n).reshape(r, n).astype(np.int32)
        done += r


_WIDTH = 64  # columns per block of the two-level running sum in weighted_quantile


def weighted_quantile(
    counts: np.ndarray, order: np.ndarray, sorted_values: np.ndarray, q: float
) -> np.ndarray:
    """Per row, the inverted-CDF quantile (numpy's ``method="inverted_cdf"``, the nearest rank:
    always a value some call had) of the values ``sorted_values`` (the calls ``order``), each
    repeated as often as ``counts`` says. NaN where a row draws none of them."""
    if sorted_values.size == 0:
        return np.full(counts.shape[0], np.nan)
    gathered = np.take(counts, order, axis=1)
    rows, m = gathered.shape
    pad = (-m) % _WIDTH
    if pad:
        gathered = np.concatenate([gathered, np.zeros((rows, pad), gathered.dtype)], axis=1)
    # A running sum along each row is slow in numpy; sum blocks of 64 columns instead, find the
    # block where the count crosses q * total, and run the sum inside that block only.
    cells = gathered.reshape(rows, -1, _WIDTH)
    blocks = cells.sum(axis=2, dtype=np.int64)
    cum = np.cumsum(blocks, axis=1)
    total = cum[:, -1]
    # The value is at the first sorted position whose running count reaches q * total (numpy
    # computes the same product, so ties at exact ranks resolve alike).
    target = q * total
    at = np.minimum((cum < target[:, None]).sum(axis=1), blocks.shape[1] - 1)
    r = np.arange(rows)
    inside = (cum[r, at] - blocks[r, at])[:, None] + np.cumsum(cells[r, at], axis=1)
    pos = at * _WIDTH + (inside < target[:, None]).sum(axis=1)
    out = sorted_values[np.minimum(pos, sorted_values.size - 1)]
    out[total == 0] = np.nan
    return out


@dataclass
class Column:
    """One metric's values in one slice. Paired: ``base[i]`` and ``cand[i]`` are one pair."""

    base: np.ndarray
    cand: np.ndarray
    quantile: float | None  # None: the mean


class _Prepared:
    """What each count block needs for a set of columns, computed once."""

    def __init__(self, columns: list[Column], paired: bool) -> None:
        self.columns = columns
        self.means = [j for j, c in enumerate(columns) if c.quantile is None]
        self.quants = [j for j, c in enumerate(columns) if c.quantile is not None]
        self.paired = paired
        self.side_y: list[np.ndarray] = []
        # Per quantile column and side: (column indices in sorted order, sorted values).
        self.orders: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for side in (0, 1):
            vals = [self._values(columns[j], side) for j in self.means]
            ok = [self._valid(columns[j], side) for j in self.means]
            if vals:
                y = np.column_stack([np.where(v, x, 0.0) for x, v in zip(vals, ok, strict=True)])
                self.side_y.append(np.hstack([y, np.column_stack(ok).astype(np.float64)]))
            for j in self.quants:
                x = self._values(columns[j], side)
                where = np.flatnonzero(self._valid(columns[j], side))
                order = where[np.argsort(x[where], kind="stable")]
                self.orders[(j, side)] = (order, x[order])

    def _values(self, col: Column, side: int) -> np.ndarray:
        return col.base if side == 0 else col.cand

    def _valid(self, col: Column, side: int) -> np.ndarray:
        if self.paired:
            return np.isfinite(col.base) & np.isfinite(col.cand)
        return np.isfinite(self._values(col, side))

    def side_stats(
        self, side: int, counts: np.ndarray, as_float: np.ndarray | None = None
    ) -> np.ndarray:
        """One side's statistic per row of a count block: ``(rows, k)``."""
        out = np.full((counts.shape[0], len(self.columns)), np.nan)
        m = len(self.means)
        if m:
            fc = counts.astype(np.float64) if as_float is None else as_float
            s = fc @ self.side_y[side]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, self.means] = s[:, :m] / s[:, m:]
        for j in self.quants:
            q = self.columns[j].quantile
            assert q is not None
            order, sorted_values = self.orders[(j, side)]
            out[:, j] = weighted_quantile(counts, order, sorted_values, q)
        return out


def point_stats(columns: list[Column], paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Baseline and candidate statistic of each column on the observed calls (every count 1)."""
    prep = _Prepared(columns, paired)
    base = prep.side_stats(0, np.ones((1, columns[0].base.size), dtype=np.int32))
    cand = prep.side_stats(1, np.ones((1, columns[0].cand.size), dtype=np.int32))
    return base[0], cand[0]


def bootstrap_deltas(
    columns: list[Column],
    paired: bool,
    rng: np.random.Generator,
    resamples: int,
    clusters: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``(resamples, k)`` resampled deltas (candidate minus baseline statistic) per column.

    ``clusters`` gives each call's cluster (codes 0..G-1) per side: whole clusters are drawn and
    each call counts as often as its cluster was drawn (a cluster bootstrap). None: every call is
    its own cluster. Paired: one draw per resample, used for both sides. Unpaired: all of the
    baseline's resamples are drawn first, then the candidate's, from the same generator.
    """
    prep = _Prepared(columns, paired)
    nb, nc = columns[0].base.size, columns[0].cand.size
    gb, gc = clusters if clusters is not None else (np.arange(nb), np.arange(nc))

    def blocks(g: np.ndarray) -> Iterator[np.ndarray]:
        size = int(g.max()) + 1 if g.size else 0
        for block in count_blocks(rng, size, resamples):
            yield block if clusters is None else block[:, g]

    if paired:
        parts = []
        for block in blocks(gb):
            fc = block.astype(np.float64) if prep.means else None
            parts.append(prep.side_stats(1, block, fc) - prep.side_stats(0, block, fc))
        return np.vstack(parts)
    base = np.vstack([prep.side_stats(0, b) for b in blocks(gb)])
    cand = np.vstack([prep.side_stats(1, b) for b in blocks(gc)])
    return cand - base


def percentile_interval(reps: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of finite resampled values (NaN when most resamples are empty)."""
    finite = reps[np.isfinite(reps)]
    if finite.size < max(2, reps.size // 2):
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(finite, [tail, 1.0 - tail])
    return float(lo), float(hi)


def bootstrap_se(reps: np.ndarray) -> float:
    finite = reps[np.isfinite(reps)]
    return float(np.std(finite, ddof=1)) if finite.size >= 2 else math.nan
