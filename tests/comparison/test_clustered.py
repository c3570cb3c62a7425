"""Cluster-robust differences: repeats of a scenario are not independent evidence."""

from __future__ import annotations

import numpy as np
import pytest

from callgate.comparison import clustered


def test_repeats_of_one_scenario_do_not_shrink_the_error() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 40)
    base = np.zeros(40)
    once = clustered.paired(base, d, np.arange(40), binary=False)
    # The same 40 scenarios, each run five times with the same outcome: no new evidence.
    five = clustered.paired(
        np.zeros(200), np.repeat(d, 5), np.repeat(np.arange(40), 5), binary=False
    )
    assert five.delta == pytest.approx(once.delta)
    assert five.se == pytest.approx(once.se, rel=0.02)
    assert five.df == once.df == 39 and five.clusters == 40
    assert five.deff > 4.5  # an independent-calls error would be sqrt(5) too small


def test_singleton_clusters_are_the_independent_error() -> None:
    rng = np.random.default_rng(1)
    b, c = rng.normal(0, 1, 300), rng.normal(0.2, 1, 300)
    est = clustered.paired(b, c, np.arange(300), binary=False)
    assert est.se == pytest.approx(np.std(c - b, ddof=1) / np.sqrt(300), rel=1e-9)
    assert est.deff == pytest.approx(1.0)


def test_pass_fail_floor_when_no_pair_disagrees() -> None:
    ones = np.ones(50)
    est = clustered.paired(ones, ones, np.arange(50), binary=True)
    assert est.delta == 0 and est.se > 0  # not certain of "no difference" after 50 pairs
    est = clustered.unpaired(ones, np.arange(50), ones, np.arange(50), binary=True)
    assert est.se > 0


def test_unpaired_uses_each_sides_clusters() -> None:
    rng = np.random.default_rng(2)
    b = np.repeat(rng.normal(0, 1, 30), 4)
    c = np.repeat(rng.normal(0, 1, 20), 6)
    est = clustered.unpaired(b, np.repeat(np.arange(30), 4), c, np.repeat(np.arange(20), 6), False)
    assert est.clusters == 50
    assert 19 <= est.df <= 48  # Welch-Satterthwaite between the two sides' freedoms
    naive = np.sqrt(b.var(ddof=1) / b.size + c.var(ddof=1) / c.size)
    assert est.se > 1.8 * naive
