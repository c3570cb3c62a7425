"""Statistics against hand computations: exact binomial tails, Holm/BH, score tests, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from callgate.comparison import stats


@pytest.mark.parametrize(
    ("worse", "better", "expected"),
    [
        (8, 2, (45 + 10 + 1) / 2**10),  # C(10,8) + C(10,9) + C(10,10)
        (5, 5, 638 / 1024),  # sum_{k>=5} C(10,k) = 638
        (3, 0, 1 / 8),
        (0, 3, 1.0),
        (0, 0, 1.0),
        (10, 0, 1 / 1024),
        (12, 4, sum(math.comb(16, k) for k in range(12, 17)) / 2**16),
    ],
)
def test_mcnemar_exact_p_values(worse: int, better: int, expected: float) -> None:
    assert stats.mcnemar_one_sided(worse, better) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("k", "n"), [(1100, 2000), (760, 1500), (1501, 3000), (2900, 5000)])
def test_binomial_tail_log_space_matches_exact_integers(k: int, n: int) -> None:
    exact = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
    assert stats.binom_half_sf(k, n) == pytest.approx(exact, rel=1e-9, abs=1e-15)


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


def test_tango_score_at_zero_is_mcnemar_z() -> None:
    assert stats.tango_z(30, 10, 240, 0.0) == pytest.approx((30 - 10) / math.sqrt(40))
    assert stats.tango_z(10, 30, 240, 0.0) == pytest.approx(-(30 - 10) / math.sqrt(40))


def test_tango_interval_brackets_the_estimate_and_the_test() -> None:
    lo, hi = stats.tango_interval(30, 10, 240, 0.95)
    assert lo < 20 / 240 < hi
    # The interval's ends are where the two-sided 95% score test is exactly at its edge.
    assert stats.tango_z(30, 10, 240, lo) == pytest.approx(1.959964, abs=1e-5)
    assert stats.tango_z(30, 10, 240, hi) == pytest.approx(-1.959964, abs=1e-5)
    lo0, hi0 = stats.tango_interval(0, 0, 50, 0.95)
    assert lo0 == pytest.approx(-hi0) and hi0 > 0


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
