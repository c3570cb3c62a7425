"""`ingest` of callgate's JSONL call log: what a call becomes, bad lines, duplicates, audio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callgate.production.ingest.batch import ingest
from callgate.store.db import Store
from support.call_logs import make_calls, write_call_log


def logged_call(call_id: str = "c-1", **over: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "call_id": call_id,
        "started_at": "2026-11-30T09:15:00+01:00",
        "release": "v42",
        "scenario": "freeze",
        "tags": {"accent": "scottish", "channel": "phone", "snr_db": 10},
        "turns": [
            {"speaker": "agent", "start": 0.4, "end": 2.0, "text": "How can I help?"},
            {"speaker": "caller", "start": 2.5, "end": 4.0, "text": "fees my card",
             "confidence": 0.41, "reference": "freeze my card"},
            {"speaker": "agent", "start": 5.2, "end": 6.0, "text": "Sorry, could you repeat?"},
            {"speaker": "caller", "start": 6.5, "end": 8.0, "text": "freeze my card",
             "confidence": 0.93, "reference": "freeze my card"},
            {"speaker": "agent", "start": 8.9, "end": 10.0, "text": "Your card is frozen.",
             "tool_calls": [{"tool": "freeze_card", "args": {"card": "debit"},
                             "result": "frozen", "start": 8.5, "end": 8.7}]},
        ],
        "costs": [{"kind": "asr", "amount": 0.002}, {"kind": "llm", "amount": 0.001}],
        "resolved": True,
    }  # fmt: skip
    call.update(over)
    return call


def write(path: Path, calls: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    return path


def test_a_logged_call_becomes_a_scored_trace(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "log.jsonl", [logged_call()])])
    assert out.added == 1 and not out.problems and out.run_id is not None
    trace = next(store.calls(out.run_id))
    assert trace.source == "imported" and trace.variant == "v42"
    assert trace.imported is not None and trace.imported.started_at == "2026-11-30T08:15:00Z"
    assert trace.imported.line == 1 and trace.imported.log_call_id == "c-1"
    assert trace.cohort == {"accent": "scottish", "channel": "phone", "snr_db": "10",
                            "scenario": "freeze"}  # fmt: skip
    # The second caller turn says the first again: a correction, found from the words alone.
    assert [u.why for u in trace.caller_turns] == ["script", "correction"]
    heard = trace.agent_turns[1]
    assert heard.asr is not None and heard.asr.text == "fees my card"
    assert heard.asr.confidence == pytest.approx(0.41)
    assert heard.reference_text == "freeze my card"
    assert trace.tool_calls[0].tool == "freeze_card" and trace.tool_calls[0].turn == 2
    assert trace.tool_calls[0].result == {"value": "frozen"}
    assert [e.t for e in trace.events] == sorted(e.t for e in trace.events)
    assert trace.ended_by == "agent_hangup" and trace.cost_total == pytest.approx(0.003)

    row = store.call_rows(out.run_id)[0]
    # Time to first audio: agent audible minus the end of the caller's speech, per turn.
    assert row.ttfa == pytest.approx([1.2, 0.9])
    assert row.metrics["caller_repeats"] == 1.0
    assert row.metrics["task_completion"] == 1.0 and row.failed is False
    assert row.metrics["asr_wer"] == pytest.approx(1 / 6)  # "fees" for "freeze", in 6 words
    assert row.metrics["cost_per_call"] == pytest.approx(0.003)


def test_without_a_reference_asr_accuracy_is_not_scored(tmp_path: Path) -> None:
    call = logged_call()
    for turn in call["turns"]:
        turn.pop("reference", None)
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "log.jsonl", [call])])
    assert out.run_id is not None
    row = store.call_rows(out.run_id)[0]
    assert row.metrics["asr_wer"] is None
    assert "not scored" in row.reasons["ASRAccuracy"]
    trace = next(store.calls(out.run_id))
    assert trace.caller_turns[0].text == "fees my card"  # what was heard stands in, unscored


def test_bad_lines_are_named_and_fail_the_import_unless_skipped(tmp_path: Path) -> None:
    calls = make_calls(40, seed=3)
    log = write_call_log(tmp_path / "log.jsonl", calls, malformed=(7, 20))
    store = Store.open(tmp_path / "store")
    out = ingest(store, [log])
    assert [(p.file.name, p.line) for p in out.problems] == [("log.jsonl", 7), ("log.jsonl", 20)]
    assert "not JSON" in out.problems[0].message
    assert out.problems[1].message.startswith("release: Field required")
    assert out.run_id is None and store.runs() == []  # nothing written

    out = ingest(store, [log], on_error="skip")
    assert out.added == 38 and len(out.problems) == 2
    assert len(store.runs()) == 1


def test_ingesting_twice_stores_each_call_once(tmp_path: Path) -> None:
    calls = make_calls(60, seed=4)
    store = Store.open(tmp_path / "store")
    first = ingest(store, [write_call_log(tmp_path / "a.jsonl", calls[:40])])
    again = ingest(store, [write_call_log(tmp_path / "a.jsonl", calls[:40])])
    assert first.added == 40 and again.added == 0 and again.known == 40 and again.run_id is None
    # Another export overlapping the first: only its new calls are added, in a run of their own.
    overlap = ingest(store, [write_call_log(tmp_path / "b.jsonl", calls[20:])])
    assert overlap.added == 20 and overlap.known == 20
    stored = [cid for r in store.runs() for cid in store.stored_call_ids(r.run_id)]
    assert len(stored) == len(set(stored)) == 60


def test_a_call_twice_in_one_batch_is_a_problem(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", [logged_call("same"), logged_call("same")])
    out = ingest(Store.open(tmp_path / "store"), [log])
    assert [(p.line, p.message) for p in out.problems] == [
        (2, "call_id 'same' again (first at log.jsonl:1)")
    ]


def test_audio_a_log_names_is_copied_into_the_store(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    tone = (0.1 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)
    sf.write(rec / "turn1.wav", tone, 8000)
    sf.write(rec / "caller.wav", np.concatenate([tone, tone]), 8000)
    call = logged_call(caller_audio="rec/caller.wav")
    call["turns"][1]["audio"] = "rec/turn1.wav"
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "log.jsonl", [call])])
    assert out.run_id is not None
    trace = next(store.calls(out.run_id))
    assert trace.caller_audio is not None and trace.caller_audio.duration_s == 2.0
    clip = trace.caller_turns[0].clean_audio
    assert (
        clip is not None and clip.sample_rate == 8000 and trace.caller_turns[0].voice == "recorded"
    )
    assert (tmp_path / "store" / "blobs" / clip.sha256[:2] / f"{clip.sha256}.flac").is_file()

    missing = logged_call("c-2", agent_audio="rec/nope.wav")
    out = ingest(store, [write(tmp_path / "more.jsonl", [missing])])
    assert [(p.line, p.message) for p in out.problems] == [
        (1, "audio file not found: rec/nope.wav")
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"started_at": "yesterday"}, "started_at: Input should be a valid datetime"),
        ({"turns": [{"speaker": "bot", "start": 0, "end": 1}]}, "turns.0.speaker: Input should be"),
        (
            {"turns": [{"speaker": "caller", "start": 2, "end": 1}]},
            "turns.0: Value error, end 1.0 is before start 2.0",
        ),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
        (
            {
                "costs": [
                    {"kind": "asr", "amount": 1},
                    {"kind": "llm", "amount": 1, "currency": "EUR"},
                ]
            },
            "costs: Value error, costs in several currencies (EUR, USD): give one",
        ),
        ({"duration_s": float("inf")}, "duration_s: Input should be a finite number"),
        ({"tags": {"accent": None}}, "tags.accent: Input should be a valid string"),
        ({"expect": {"tools": "freeze_card"}}, "expect.tools: Input should be a valid list"),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    out = ingest(
        Store.open(tmp_path / "store"), [write(tmp_path / "l.jsonl", [logged_call(**change)])]
    )
    assert len(out.problems) == 1 and out.problems[0].message.startswith(problem), out.problems


def test_a_line_that_is_not_utf8_is_named_and_the_rest_read(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", [logged_call("c-1"), logged_call("c-3")])
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + b'{"call_id": "c-\xff"}\n' + lines[1])
    out = ingest(Store.open(tmp_path / "store"), [log], on_error="skip")
    assert [(p.line, p.message) for p in out.problems] == [
        (2, "not UTF-8 text (byte 16 of the line)")
    ]
    assert out.added == 2


def test_calls_left_out_then_imported_from_the_same_file_are_a_run_of_their_own(
    tmp_path: Path,
) -> None:
    # The first import skips c-2 (its audio is missing); once the audio is there, the same file
    # adds c-2 in a new run and leaves the first run and its scores as they were.
    log = write(
        tmp_path / "log.jsonl", [logged_call("c-1"), logged_call("c-2", agent_audio="a.wav")]
    )
    store = Store.open(tmp_path / "store")
    first = ingest(store, [log], on_error="skip")
    assert first.added == 1 and first.run_id is not None
    sf.write(tmp_path / "a.wav", np.zeros(800, dtype=np.float32), 8000)
    second = ingest(store, [log, log], on_error="skip")  # a file named twice is read once
    assert second.added == 1 and second.known == 1 and not second.problems
    assert second.run_id not in (None, first.run_id)
    assert len(store.call_rows(first.run_id)) == 1
    assert store.call_rows(first.run_id)[0].metrics["task_completion"] == 1.0
