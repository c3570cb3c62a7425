"""`callgate report` on a hand-built store: content, escaping, audio rule, gate handling."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from callgate.errors import UsageError
from callgate.gate.model import load_gate
from callgate.report.data import load_run
from callgate.report.page import write_report
from callgate.store.db import Store
from report.handmade import EVIL, Hand, gate_check, gate_report, make_store
from support.synthetic import build_run
from support.synthetic_scores import write_gate


@pytest.fixture
def hand(tmp_path: Path) -> Hand:
    return make_store(tmp_path / "store")


def _gate(hand: Hand, tmp_path: Path) -> Path:
    return write_gate(hand.gate, tmp_path / "gate-out")


def _report(hand: Hand, out: Path, gate: Path | None = None, **kw: int):  # type: ignore[no-untyped-def]
    store = Store.open(hand.root, create=False)
    try:
        return write_report(store, hand.run_id, out, load_gate(gate) if gate else None, **kw)
    finally:
        store.close()


def test_pairs_and_regressions(hand: Hand) -> None:
    store = Store.open(hand.root, create=False)
    view = load_run(store, hand.run_id)
    rows = view.by_id
    assert (view.baseline, view.candidate) == ("baseline", "candidate")
    assert [r.call_id for r in view.rows if r.regressed] == ["fc01"]
    assert rows["fc01"].partner == "fb01" and rows["fb01"].partner == "fc01"
    assert rows["bc01"].failed and not rows["bc01"].regressed  # baseline failed too
    assert rows["fc01"].cause == "asr" and rows["tc01"].cause is None
    assert set(view.traces) == {"fc01", "bb01", "bc01"}  # only failed calls keep their trace


def test_report_with_gate(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "ci" / "report.html"
    result = _report(hand, out, _gate(hand, tmp_path))
    html = out.read_text(encoding="utf-8")
    assert (result.failures, result.regressed, result.details) == (3, 1, 3)
    assert 'id="decision" class="decision BLOCK"' in html
    assert '<svg id="forest-plot"' in html and 'class="margin-line"' in html
    assert html.count('class="forest-row"') == 4
    assert 'id="ttfa-cdf"' in html and 'id="attribution"' in html
    # Regression first in the table, linked to its detail section in the same file.
    first_link = re.search(r'<table id="failures".*?href="#(call-[^"]+)"', html, re.S)
    assert first_link and first_link.group(1) == "call-fc01"
    assert 'id="call-fc01"' in html
    # Players: small audio is inlined, nothing to fetch.
    assert html.count('<audio controls preload="none"') == 6
    assert 'src="data:audio/flac;base64,' in html and result.audio.mode == "inline"
    assert not (tmp_path / "ci" / "report_audio").exists()
    # Diff, timeline and tools of the regressed call.
    assert '<span class="sub"' in html and "data-seek=" in html
    assert "wrong args" in html and "missing" in html
    # No network: no external URL anywhere in the page.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    md = (tmp_path / "ci" / "report.md").read_text(encoding="utf-8")
    assert "**BLOCK**" in md and "Regressed calls (1)" in md and "`fc01`" in md


def test_user_text_is_escaped_everywhere(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _report(hand, out, _gate(hand, tmp_path))
    html = out.read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert json.loads(data.group(1))["reasons"][0].endswith(EVIL)  # \u003c in, < back out
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert EVIL not in md and "&lt;script&gt;" in md


def test_report_of_an_undecided_gate_lists_what_is_open(hand: Hand, tmp_path: Path) -> None:
    check = gate_check("task_completion", "accent=scottish", -0.12, margin=0.1)
    check |= {"status": "open", "extra_calls": 140, "scenarios": 12, "note": "not ruled out"}
    message = "task_completion in accent=scottish (n=40, 12 scenarios): about 140 more calls"
    doc = gate_report(decision="UNDECIDED", checks=[check]) | {
        "schema_version": 2,
        "undecided": [{"kind": "undecided", "slice": "accent=scottish", "message": message}],
    }
    out = tmp_path / "report.html"
    _report(hand, out, write_gate(doc, tmp_path / "g"))
    html = out.read_text(encoding="utf-8")
    assert 'class="decision UNDECIDED"' in html and "<h3>Still open</h3>" in html
    assert "about 140 more calls" in html and "~140 more calls" in html  # reason and check row
    assert 'data-status="open"' in html
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "⏸️ **UNDECIDED**" in md and "### Still open" in md


def test_report_without_gate(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = _report(hand, out)
    html = out.read_text(encoding="utf-8")
    assert "no gate decision" in html and 'id="forest-plot"' not in html
    assert result.markdown == tmp_path / "r.md"
    assert "no gate decision" in result.markdown.read_text(encoding="utf-8")


def test_audio_over_budget_is_linked_beside_the_report(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "my report.html"
    result = _report(hand, out, inline_budget=1000)
    html = out.read_text(encoding="utf-8")
    assert result.audio.mode == "linked" and "data:audio" not in html
    folder = tmp_path / "my report_audio"
    srcs = re.findall(r'<audio [^>]*src="([^"]+)"', html)
    assert len(srcs) == 6
    for src in srcs:
        assert src.startswith("my%20report_audio/") and src.endswith(".flac")
        assert (folder / src.split("/", 1)[1]).is_file()


def test_linked_budget_drops_players_not_sections(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = _report(hand, out, inline_budget=1000, linked_budget=4_000)
    html = out.read_text(encoding="utf-8")
    assert result.details == 3 and result.audio.left_out > 0
    assert 0 < html.count("<audio ") < 6 and "no audio" in html


def test_detail_cap_says_how_many_are_left_out(hand: Hand, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = _report(hand, out, max_details=1)
    html = out.read_text(encoding="utf-8")
    assert (result.details, result.details_left_out) == (1, 2)
    assert "2 more failed calls are left out (cap 1)" in html
    assert html.count('class="call-detail"') == 1 and 'id="call-fc01"' in html


def test_size_rule_on_a_synthetic_run(tmp_path: Path) -> None:
    """300 calls: capped details, the page well under 20 MB, audio inline under 5 MB."""
    run = build_run(tmp_path / "store", pairs=150, audio_seconds=0.1)
    gate = write_gate(run.gate, tmp_path / "gate")
    store = Store.open(run.root, create=False)
    result = write_report(store, run.run_id, tmp_path / "r.html", load_gate(gate), max_details=40)
    assert result.failures > 40 and result.details == 40
    assert result.html_bytes < 20_000_000
    assert result.audio.mode == "inline" and result.audio.bytes <= 5_000_000
    linked = write_report(
        store, run.run_id, tmp_path / "l.html", None, max_details=40, inline_budget=10_000
    )
    assert linked.audio.mode == "linked" and linked.html_bytes < result.html_bytes
    assert len(list((tmp_path / "l_audio").iterdir())) == 80


def test_gate_json_is_read_through_the_gate_model(hand: Hand, tmp_path: Path) -> None:
    doc = gate_report(checks=[gate_check("x", "all", None)]) | {"future_field": {"anything": 1}}
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc))
    gate = load_gate(odd)  # a field added by a newer callgate is ignored
    assert gate.decision == "PROMOTE" and gate.checks[0].delta is None
    html = _report(hand, tmp_path / "r.html", odd).html.read_text(encoding="utf-8")
    assert "not tested" in html
    for bad, message in [
        ("[1, 2]", "not a gate report"),
        ("{oops", "not JSON"),
        (json.dumps(doc | {"decision": "promote"}), "decision: not a gate report"),
        (json.dumps(doc | {"schema_version": 3}), "newer than this callgate reads"),
    ]:
        odd.write_text(bad)
        with pytest.raises(UsageError, match=message):
            load_gate(odd)
    with pytest.raises(UsageError, match=r"no gate\.json"):
        load_gate(tmp_path / "empty-dir-does-not-exist")


def test_cli_report(hand: Hand, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    gate = _gate(hand, tmp_path)
    out = tmp_path / "r.html"
    code, stdout, stderr = cli(
        "report", "--store", str(hand.root), "--gate", str(gate.parent), "-o", str(out)
    )
    assert code == 0, stderr
    assert "3 failed calls (1 regressed), 3 with details" in stdout
    assert out.is_file() and (tmp_path / "r.md").is_file()
    code, _, stderr = cli("report", "--store", str(hand.root), "--gate", str(tmp_path / "nope"))
    assert code == 2 and stderr.startswith("callgate: error:") and stderr.count("\n") == 1
    code, _, stderr = cli("report", "nosuchrun", "--store", str(hand.root))
    assert code == 2 and "no run" in stderr
