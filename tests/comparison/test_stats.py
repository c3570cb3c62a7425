"""Statistics against hand computations: Student's t, Holm/BH, score tests, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from callgate.comparison import stats


# Student's t against tabulated values (no SciPy here).
@pytest.mark.parametrize(
    ("t", "df", "sf"),
    [(2.0, 5, 0.050970), (1.0, 3, 0.195501), (2.228139, 10, 0.025), (6.313752, 1, 0.05)],
)
def test_student_t_tail(t: float, df: float, sf: float) -> None:
    assert stats.t_sf(t, df) == pytest.approx(sf, abs=2e-6)
    assert stats.t_sf(-t, df) == pytest.approx(1 - sf, abs=2e-6)
    assert stats.t_ppf(1 - sf, df) == pytest.approx(t, abs=1e-4)
    assert stats.t_sf(1.959964, math.inf) == pytest.approx(0.025, abs=1e-6)


HOLM_BH = [
    # p-values, Holm adjusted, BH adjusted (computed by hand)
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02], [0.02, 0.04, 0.04, 0.02]),
    ([0.5, 0.6], [1.0, 1.0], [0.6, 0.6]),
    ([0.02], [0.02], [0.02]),
    ([0.001, 0.2, 0.03], [0.003, 0.2, 0.06], [0.003, 0.2, 0.045]),
    ([0.04, 0.04, 0.04], [0.12, 0.12, 0.12], [0.04, 0.04, 0.04]),
]


@pytest.mark.parametrize(("p", "holm", "bh"), HOLM_BH)
def test_multiplicity_adjustments(p: list[float], holm: list[float], bh: list[float]) -> None:
    assert stats.holm(p) == pytest.approx(holm)
    assert stats.benjamini_hochberg(p) == pytest.approx(bh)
    assert stats.adjust(p, "holm") == stats.holm(p)
    assert stats.adjust(p, "bh") == stats.benjamini_hochberg(p)


def test_score_statistic_at_zero_is_mcnemar_z_and_deflates_by_the_design_effect() -> None:
    assert stats.score_z(30, 10, 240, 0.0) == pytest.approx((30 - 10) / math.sqrt(40))
    assert stats.score_z(10, 30, 240, 0.0) == pytest.approx(-(30 - 10) / math.sqrt(40))
    assert stats.score_z(30, 10, 240, 0.0, deff=4.0) == pytest.approx(10 / math.sqrt(40))


def test_score_bound_is_where_the_test_sits_at_its_edge() -> None:
    hi = stats.score_bound(30, 10, 240, 1.0, -1.644854)
    lo = stats.score_bound(30, 10, 240, 1.0, 1.644854)
    assert lo < 20 / 240 < hi
    assert stats.score_z(30, 10, 240, hi) == pytest.approx(-1.644854, abs=1e-5)
    # Clusters widen the bound.
    assert stats.score_bound(30, 10, 240, 2.0, -1.644854) > hi


def test_score_test_keeps_its_level_at_the_margin() -> None:
    # Independent pairs whose loss is exactly the margin: "within the margin" must be shown in
    # at most alpha of the runs (a Wald test shows it in about 6%).
    rng = np.random.default_rng(0)
    counts = rng.multinomial(500, [0.225, 0.125, 0.65], size=20_000)
    shown = [
        stats.normal_sf(-stats.score_z(int(w), int(b), 500, 0.10)) < 0.05 for w, b, _ in counts
    ]
    assert np.mean(shown) <= 0.052


def test_count_blocks_do_not_depend_on_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = np.vstack(list(stats.count_blocks(stats.slice_rng(3, "all"), 37, 50)))
    monkeypatch.setattr(stats, "BLOCK_ELEMENTS", 37 * 7)
    blocks = list(stats.count_blocks(stats.slice_rng(3, "all"), 37, 50))
    assert len(blocks) > 1
    assert np.array_equal(whole, np.vstack(blocks))
    assert (whole.sum(axis=1) == 37).all()


def test_weighted_quantile_is_numpy_inverted_cdf() -> None:
    rng = np.random.default_rng(1)
    values = np.round(rng.normal(size=130), 1)  # ties on purpose
    counts = rng.integers(0, 4, size=(20, 130)).astype(np.int32)
    counts[3] = 0
    counts[3, 7] = 1  # a resample that drew a single call
    order = np.argsort(values)
    for q in (0.5, 0.95, 0.99):
        got = stats.weighted_quantile(counts, order, values[order], q)
        want = [np.quantile(np.repeat(values, row), q, method="inverted_cdf") for row in counts]
        assert got == pytest.approx(want, abs=1e-12)
    assert np.isnan(stats.weighted_quantile(counts[:1] * 0, order, values[order], 0.5)).all()


@pytest.mark.parametrize("paired", [True, False])
def test_bootstrap_interval_covers_the_true_delta(paired: bool) -> None:
    rng = np.random.default_rng(11)
    n = 400
    level = rng.normal(2.0, 1.0, n)
    base = level + rng.normal(0, 0.5, n)
    cand = level + 0.3 + rng.normal(0, 0.5, n)
    if not paired:
        cand = rng.normal(2.3, 1.1, n + 50)
    cols = [stats.Column(base, cand, None)]
    reps = stats.bootstrap_deltas(cols, paired, stats.slice_rng(0, "all"), 2000)
    lo, hi = stats.percentile_interval(reps[:, 0], 0.95)
    assert lo < 0.3 < hi
    assert hi - lo < (0.2 if paired else 0.4)  # pairing removes the shared call level


def test_cluster_bootstrap_draws_whole_scenarios() -> None:
    # Two scenarios of 50 identical calls each: a cluster bootstrap sees two values, not 100.
    base = np.r_[np.zeros(50), np.ones(50)]
    cand = base + 0.5
    g = np.r_[np.zeros(50, dtype=np.int64), np.ones(50, dtype=np.int64)]
    reps = stats.bootstrap_deltas(
        [stats.Column(base, cand, 0.5)], True, stats.slice_rng(0, "all"), 200, (g, g)
    )
    assert set(np.round(reps[:, 0], 6)) <= {0.5}
    reps = stats.bootstrap_deltas(
        [stats.Column(base, cand, 0.5)], False, stats.slice_rng(0, "all"), 400, (g, g)
    )
    # Unpaired, each side draws its scenarios: the median moves in whole steps of one scenario.
    assert set(np.round(reps[:, 0], 6)) <= {-0.5, 0.5, 1.5}
