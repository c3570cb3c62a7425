"""One paired interval recomputed by hand matches the engine's: a percentile's cluster bootstrap
with a plain Python loop, a mean's cluster-robust t interval with plain arithmetic.

The resampling scheme is the documented one (docs/gate.md): the slice's generator is
``default_rng([seed, crc32(label)])`` and resample b draws ``floor(u * n)`` for ``u = random(n)``.
Everything else (means over scored pairs, percentiles, the interval) is recomputed here by hand.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from callgate.comparison import stats
from callgate.comparison.compare import MetricSpec
from callgate.comparison.session import run_compare
from callgate.comparison.sides import load_side
from comparison.synth import paired_rows, variant_file

SEED, B = 7, 400


def linear_quantile(sorted_values: list[float], q: float) -> float:
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def percentile(values: list[float], q: float) -> float:
    """The documented percentile (inverted CDF), by hand: the value of rank ceil(q n)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def loop_interval(
    base: list[float], cand: list[float], label: str, stat: str
) -> tuple[float, float]:
    n = len(base)
    rng = np.random.default_rng([SEED, zlib.crc32(label.encode())])
    deltas = []
    for _ in range(B):
        draws = rng.random(n)
        picked = [min(int(u * n), n - 1) for u in draws]
        pairs = [
            (base[i], cand[i]) for i in picked if not (math.isnan(base[i]) or math.isnan(cand[i]))
        ]
        if stat == "mean":
            deltas.append(
                sum(c for _, c in pairs) / len(pairs) - sum(b for b, _ in pairs) / len(pairs)
            )
        else:
            deltas.append(
                percentile([c for _, c in pairs], 0.95) - percentile([b for b, _ in pairs], 0.95)
            )
    deltas.sort()
    return linear_quantile(deltas, 0.025), linear_quantile(deltas, 0.975)


def test_paired_mean_interval_is_the_t_interval(tmp_path: Path) -> None:
    rows = paired_rows({"a": 40, "b": 35}, seed=3)
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    spec = MetricSpec("ttfa_p50_s", "lower", "continuous", "mean", "s")
    result = run_compare(base, cand, [spec], by=["call_type"], combinations=[])
    got = next(c for c in result.comparisons if c.slice == "call_type=b")
    in_b = base.text["tag_call_type"] == "b"
    d = cand.metrics["ttfa_p50_s"][in_b] - base.metrics["ttfa_p50_s"][in_b]
    # One call per scenario: the cluster-robust error is the textbook paired one.
    se = math.sqrt(sum((x - d.mean()) ** 2 for x in d) / (d.size - 1) / d.size)
    half = stats.t_ppf(0.975, d.size - 1) * se
    assert got.se == pytest.approx(se, rel=1e-9) and got.scenarios == 35
    assert (got.ci_low, got.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))


@pytest.mark.parametrize("stat", ["p95"])
def test_paired_interval_matches_a_plain_loop(tmp_path: Path, stat: str) -> None:
    rows = paired_rows({"a": 40, "b": 35}, seed=3)
    for r in rows[::17]:
        r["ttfa_p50_s"] = None  # some calls not scored: they drop out of their resamples
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    spec = MetricSpec("ttfa_p50_s", "lower", "continuous", stat, "s")
    result = run_compare(
        base, cand, [spec], by=["call_type"], combinations=[], seed=SEED, resamples=B
    )
    got = next(c for c in result.comparisons if c.slice == "call_type=b")
    assert result.pairing.paired
    in_b = [i for i in range(base.n) if base.text["tag_call_type"][i] == "b"]
    b_vals = [float(base.metrics["ttfa_p50_s"][i]) for i in in_b]
    c_vals = [float(cand.metrics["ttfa_p50_s"][i]) for i in in_b]
    lo, hi = loop_interval(b_vals, c_vals, "call_type=b", stat)
    assert got.ci_low == pytest.approx(lo, abs=1e-9)
    assert got.ci_high == pytest.approx(hi, abs=1e-9)
