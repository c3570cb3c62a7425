"""Loading sides (files in three formats, variants) and pairing them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from callgate.comparison.pairing import pair
from callgate.comparison.sides import load_side
from callgate.errors import UsageError
from comparison.synth import COLUMNS, paired_rows, variant_file, write

ROWS = paired_rows({"a": 40, "b": 30}, seed=1)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_the_three_formats_load_the_same(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"all.{suffix}", ROWS)
    side = load_side(f"{path}:candidate", None)
    assert side.n == 70 and side.variant == "candidate" and side.origin == "file"
    assert side.tags == ["call_type", "split"]
    expected = [r["task_completion"] for r in ROWS if r["variant"] == "candidate"]
    assert side.metrics["task_completion"].tolist() == expected
    assert side.text["repeat"][0] == "0"  # an int column read back as a key, whatever the format


def test_paired_when_keys_match(tmp_path: Path) -> None:
    base = load_side(str(variant_file(tmp_path, ROWS, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, ROWS, "candidate", "jsonl")), None)
    p = pair(base, cand)
    assert p.paired and p.n == 70
    assert (base.text["scenario_id"][p.base] == cand.text["scenario_id"][p.cand]).all()
    assert "paired" in p.note


def test_pairs_follow_keys_not_row_order(tmp_path: Path) -> None:
    cand_rows = [r for r in ROWS if r["variant"] == "candidate"][::-1]
    base = load_side(str(variant_file(tmp_path, ROWS, "baseline")), None)
    cand = load_side(str(write(tmp_path / "c.csv", cand_rows)), None)
    p = pair(base, cand)
    assert p.paired
    assert (base.text["scenario_id"][p.base] == cand.text["scenario_id"][p.cand]).all()


def test_unpaired_without_keys(tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c[0] not in ("scenario_id", "cohort_id", "repeat")]
    base = load_side(str(write(tmp_path / "b.csv", ROWS[0::2], columns)), None)
    cand = load_side(str(write(tmp_path / "c.csv", ROWS[1::2], columns)), None)
    p = pair(base, cand)
    assert not p.paired and "unpaired" in p.note
    assert p.base.size == base.n and p.cand.size == cand.n


def test_unpaired_when_keys_do_not_overlap_and_on_request(tmp_path: Path) -> None:
    other = [
        dict(r, scenario_id="x" + r["scenario_id"]) for r in ROWS if r["variant"] == "candidate"
    ]
    base = load_side(str(variant_file(tmp_path, ROWS, "baseline")), None)
    cand = load_side(str(write(tmp_path / "c.csv", other)), None)
    assert not pair(base, cand).paired
    same = load_side(str(variant_file(tmp_path, ROWS, "candidate")), None)
    assert not pair(base, same, force_unpaired=True).paired


def test_partial_overlap_pairs_the_twins_and_says_so(tmp_path: Path) -> None:
    cand_rows = [r for r in ROWS if r["variant"] == "candidate"][:60]
    base = load_side(str(variant_file(tmp_path, ROWS, "baseline")), None)
    cand = load_side(str(write(tmp_path / "c.csv", cand_rows)), None)
    p = pair(base, cand)
    assert p.paired and p.n == 60 and p.unmatched_base == 10
    assert "10 baseline and 0 candidate calls without a twin" in p.note


def test_mixed_variants_need_a_variant(tmp_path: Path) -> None:
    path = write(tmp_path / "both.csv", ROWS)
    with pytest.raises(UsageError, match=r"mixed variants \(baseline, candidate\)"):
        load_side(str(path), None)
    with pytest.raises(UsageError, match="no calls of variant 'tuned'"):
        load_side(f"{path}:tuned", None)


def test_missing_column_and_gaps_in_identity_columns(tmp_path: Path) -> None:
    no_variant = [c for c in COLUMNS if c[0] != "variant"]
    path = write(tmp_path / "nv.csv", ROWS, no_variant)
    with pytest.raises(UsageError, match="missing column 'variant'"):
        load_side(str(path), None)
    gap = [dict(r) for r in ROWS if r["variant"] == "baseline"]
    gap[4]["repeat"] = None
    with pytest.raises(UsageError, match=r"column 'repeat': 1 rows have no value .*data row 5"):
        load_side(str(write(tmp_path / "gap.parquet", gap)), None)
    gap = [dict(r) for r in ROWS if r["variant"] == "baseline"]
    gap[2]["call_id"] = None
    with pytest.raises(UsageError, match="column 'call_id'"):
        load_side(str(write(tmp_path / "gap.jsonl", gap)), None)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        load_side(str(tmp_path / "none.csv"), None)
    (tmp_path / "r.txt").write_text("x")
    with pytest.raises(UsageError, match="unknown results format"):
        load_side(str(tmp_path / "r.txt"), None)
    (tmp_path / "bad.jsonl").write_text('{"call_id": "a", "variant": "b"}\n[1]\n')
    with pytest.raises(UsageError, match="line 2: not a JSON object"):
        load_side(str(tmp_path / "bad.jsonl"), None)


def test_not_scored_cells_are_nan(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS if r["variant"] == "baseline"]
    rows[0]["ttfa_p50_s"] = None
    for suffix in ("csv", "parquet", "jsonl"):
        side = load_side(str(write(tmp_path / f"n.{suffix}", rows)), None)
        assert np.isnan(side.metrics["ttfa_p50_s"][0]) and side.metrics["ttfa_p50_s"][1] > 0


def test_csv_without_pyarrow_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [dict(r, tag_call_type="10") for r in ROWS if r["variant"] == "baseline"]
    rows[0]["ttfa_p50_s"] = None
    path = write(tmp_path / "b.csv", rows)
    fast = load_side(str(path), None)
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)  # the import fails: csv module path
    slow = load_side(str(path), None)
    assert set(fast.text) == set(slow.text) and set(fast.metrics) == set(slow.metrics)
    for name in fast.text:
        assert fast.text[name].tolist() == slow.text[name].tolist(), name
    for name in fast.metrics:
        assert np.array_equal(fast.metrics[name], slow.metrics[name], equal_nan=True), name
    assert fast.text["tag_call_type"][0] == "10"  # a numeric-looking tag stays text


@pytest.mark.parametrize("fast", [True, False])
def test_ragged_csv_is_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.setitem(sys.modules, "pyarrow.csv", None)
    path = tmp_path / "r.csv"
    path.write_text("call_id,variant,task_completion\na,b,1\nc,d\n")
    with pytest.raises(UsageError) as info:
        load_side(str(path), None)
    assert "r.csv: " in info.value.one_line() and "\n" not in info.value.one_line()
