"""The report's building blocks: escaping, diff, charts, timeline, audio plan."""

from __future__ import annotations

import json
import re
from pathlib import Path

from callgate.gate.model import GateReport
from callgate.report.audio import plan_audio
from callgate.report.diff import diff_html
from callgate.report.escape import anchor, esc, json_for_script
from callgate.report.svg import cdf_chart, forest_plot, nice_ticks
from callgate.report.timeline import timeline_svg
from callgate.store.blobs import BlobStore
from factories import agent, call, caller, event, tool
from report.handmade import EVIL, _audio, gate_check, gate_report


def test_json_for_script_cannot_close_the_element() -> None:
    payload = {"t": "</script><!-- <script>x</script>", "n": float("nan"), "u": "a\u2028b"}
    text = json_for_script(payload)
    assert "</" not in text and "<!--" not in text and "<" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {"t": payload["t"], "n": None, "u": "a\u2028b"}


def test_esc_and_anchor() -> None:
    assert esc(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc('"x"') == "&quot;x&quot;" and esc(None) == ""
    assert anchor('a"b<c') == "call-a_b_c"


def test_diff_highlights_the_counted_errors() -> None:
    html = diff_html("please freeze my card", "please fees my card")
    assert '<span class="sub"' in html and "<del>freeze</del> <ins>fees</ins>" in html
    assert "1 sub, 0 del, 0 ins" in html
    html = diff_html("freeze my debit card", "freeze my card")
    assert '<del class="del" title="missed">debit</del>' in html and "0 sub, 1 del, 0 ins" in html
    html = diff_html("freeze my card", "oh freeze my card")
    assert '<ins class="ins" title="added">oh</ins>' in html and "0 sub, 0 del, 1 ins" in html
    assert EVIL not in diff_html(EVIL, EVIL + " x")


def test_forest_plot_rows_zero_and_margin() -> None:
    gate = GateReport.model_validate(
        gate_report(
            checks=[
                gate_check("task_completion", "all", -0.02, n=100, ci_low=-0.08, ci_high=0.04),
                gate_check(
                    "task_completion",
                    f"accent={EVIL}",
                    None,
                    n=10,
                    status="warn",
                    note="too few calls",
                    verdict="",
                ),
                gate_check(
                    "ttfa",
                    "all",
                    0.1,
                    n=100,
                    statistic="p95",
                    ci_low=0.02,
                    ci_high=0.2,
                    margin=0.25,
                    direction="lower",
                    kind="continuous",
                    unit="s",
                ),
            ]
        )
    )
    svg = forest_plot(gate.checks)
    assert svg.startswith('<svg id="forest-plot"') and svg.count('class="forest-row"') == 3
    assert svg.count('class="forest-panel"') == 2
    assert svg.count('class="zero"') == 2 and svg.count('class="margin-line"') == 1
    assert "-2.0 pts [-8.0 pts to +4.0 pts]" in svg and "not tested: too few calls" in svg
    assert EVIL not in svg and "lower is better" in svg
    assert forest_plot([]) == ""


def test_nice_ticks() -> None:
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(-0.33, 0.12)[0] >= -0.33


def test_cdf_down_samples_and_escapes() -> None:
    svg = cdf_chart({"baseline": [i / 1000 for i in range(10_000)], EVIL: [1.0, 2.0]})
    assert svg.count('class="cdf-line"') == 2 and EVIL not in svg
    points = re.search(r'points="([^"]+)"', svg)
    assert points is not None and len(points.group(1).split()) <= 2 * 160 + 1
    assert "No per-turn values" in cdf_chart({"a": []})


def test_timeline_items_seek() -> None:
    trace = call(
        caller_turns=[caller(0, EVIL, 2.0, 3.5)],
        agent_turns=[
            agent(0, "hi", first_audible=0.5, playback_end=1.8),
            agent(
                1,
                "ok",
                heard=(2.0, 3.5),
                asr="x",
                first_audible=4.0,
                playback_end=6.0,
                interrupted=True,
            ),
        ],
        tool_calls=[tool(0, "freeze_card", {"card": EVIL}, 3.8)],
        events=[event(5.0, "barge_in", 1), event(6.0, "call_end")],
        duration_s=6.5,
    )
    svg = timeline_svg(trace)
    assert 'data-seek="2.000"' in svg and 'data-seek="3.800"' in svg
    assert 'class="seek item agent cut"' in svg and "ev-barge_in" in svg
    assert 'class="cursor"' in svg and EVIL not in svg and "&lt;script&gt;" in svg


def test_audio_plan_counts_every_use(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    a, b = blobs.put(_audio(300)), blobs.put(_audio(600))
    size = blobs.path(a.sha256).stat().st_size
    html = tmp_path / "r.html"
    plan = plan_audio(blobs, [[a, b], [a, None]], html, inline_budget=10**6)
    assert plan.mode == "inline" and plan.allowed == {a.sha256, b.sha256}
    src = plan.src(a)
    assert src is not None and src.startswith("data:audio/flac;base64,")
    linked = plan_audio(blobs, [[a, b], [a]], html, inline_budget=size)
    assert linked.mode == "linked" and linked.src(a) == f"r_audio/{a.sha256}.flac"
    linked.copy_files()
    assert sorted(p.name for p in (tmp_path / "r_audio").iterdir()) == sorted(
        f"{s}.flac" for s in (a.sha256, b.sha256)
    )
    missing = plan_audio(blobs, [[a.model_copy(update={"sha256": "0" * 64})]], html)
    assert missing.mode == "none" and missing.left_out == 1


def test_a_failed_call_says_why_in_its_detail_and_timeline() -> None:
    from callgate.report.calls import call_detail

    trace = call(
        agent_turns=[agent(0, "hi", first_audible=0.5, playback_end=1.8)],
        events=[event(2.0, "agent_error"), event(2.0, "call_end")],
        ended_by="error",
        error=f"the agent closed the connection {EVIL}",
        duration_s=2.0,
    )
    html = call_detail(trace, None, None, audio_src=lambda ref: None, call_link=lambda c: "#")
    assert "ended by error" in html and "the agent closed the connection" in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "agent failed" in timeline_svg(trace)
