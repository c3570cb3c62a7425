"""Differences of means when calls come in clusters: the calls of one scenario.

Repeats of a scenario, and one scenario heard in several cohorts of a tag slice, share the
scenario's words, tools and traps: when one of its calls fails, its others tend to fail too. Such
calls are not independent evidence, and a test that counts them as independent is too sure of
itself. Every mean here is therefore compared with a cluster-robust (CR1) variance over
scenarios, referred to Student's t with one degree of freedom less than the number of scenarios,
the usual small-sample correction for few clusters.

Two floors keep a small slice from being surer than its calls allow: the variance is never below
the independent-calls variance (a handful of scenarios can look homogeneous by chance), and for
pass/fail metrics never below that of one more discordant pair each way (a slice with no
discordant pair yet has not shown that the variants always agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A difference (candidate minus baseline) with its standard error and t reference."""

    delta: float
    se: float
    df: float
    clusters: int
    # Variance used over the independent-calls variance (>= 1): what clustering costs.
    deff: float = 1.0


def codes(labels: np.ndarray) -> np.ndarray:
    """Cluster labels as 0..G-1 in order of first appearance (so that a bootstrap over
    one-call clusters draws exactly what a bootstrap over calls draws)."""
    _, first, inverse = np.unique(labels.astype(str), return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse]


def _cluster_var(x: np.ndarray, g: np.ndarray) -> tuple[float, int]:
    """CR1 variance of the mean of ``x`` over the clusters ``g`` (codes), and the cluster count."""
    n = x.size
    used, g = np.unique(g, return_inverse=True)
    clusters = used.size
    if clusters < 2:
        return math.nan, clusters
    sums = np.bincount(g, weights=x - x.mean(), minlength=clusters)
    return clusters / (clusters - 1) * float(sums @ sums) / (n * n), clusters


def _floor(x: np.ndarray, iid: float, binary: bool, diff: bool) -> float:
    """The least variance ``x``'s mean may claim: ``iid`` (independent calls), and for pass/fail
    values that of one more disagreement (paired) or one more of each outcome (unpaired)."""
    n = x.size
    if not binary:
        return iid
    if diff:
        # Paired pass/fail: one more discordant pair each way.
        discordant = float(np.abs(x).sum())
        return max(iid, (discordant + 1.0) / (n + 2.0) / n)
    p = (float(x.sum()) + 1.0) / (n + 2.0)
    return max(iid, p * (1.0 - p) / n)


def paired(base: np.ndarray, cand: np.ndarray, g: np.ndarray, binary: bool) -> Estimate:
    """Mean of the paired differences; pairs of one scenario form a cluster."""
    d = cand - base
    n = d.size
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    var, clusters = _cluster_var(d, g)
    if n < 2 or clusters < 2:
        return Estimate(float(d.mean()), math.nan, math.nan, clusters)
    iid = float(d.var(ddof=1)) / n
    var = max(var, _floor(d, iid, binary, diff=True))
    deff = max(1.0, var / iid) if iid > 0 else 1.0
    return Estimate(float(d.mean()), math.sqrt(var), clusters - 1.0, clusters, deff)


def unpaired(
    base: np.ndarray, gb: np.ndarray, cand: np.ndarray, gc: np.ndarray, binary: bool
) -> Estimate:
    """Difference of two means, each side clustered on its own; Welch-Satterthwaite freedom."""
    if base.size == 0 or cand.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    delta = float(cand.mean() - base.mean())
    vb, kb = _cluster_var(base, gb)
    vc, kc = _cluster_var(cand, gc)
    if min(base.size, cand.size) < 2 or min(kb, kc) < 2:
        return Estimate(delta, math.nan, math.nan, kb + kc)
    vb = max(vb, _floor(base, float(base.var(ddof=1)) / base.size, binary, diff=False))
    vc = max(vc, _floor(cand, float(cand.var(ddof=1)) / cand.size, binary, diff=False))
    var = vb + vc
    denom = vb * vb / (kb - 1) + vc * vc / (kc - 1)
    df = var * var / denom if denom > 0 else float(kb + kc - 2)
    return Estimate(delta, math.sqrt(var), df, kb + kc)
