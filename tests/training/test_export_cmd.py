"""`callgate export-training` end to end: every line of every file parses and the tool-call
structure holds; failed calls end in their correction; personal data comes out redacted; bad input
is one line and exit 2. Hand-built stored calls first (fast), then real banking calls (slow)."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest

from callgate.scenarios.load import resolve_suite_path
from callgate.store.blobs import BlobStore
from callgate.store.db import Store
from callgate.store.reader import StoreReader
from callgate.store.records import CallScores
from callgate.store.run_spec import RunSpec
from callgate.traces.model import CallTrace
from callgate.training.records import AsrManifestLine, ChatExample, ExampleMeta, ExportSummary
from support.banking_run import run_scored
from training.calls import (
    CARD_DIGITS,
    CARD_SPOKEN,
    DOB_NUMERIC,
    DOB_SPOKEN,
    PIN_SPOKEN,
    freeze_call,
    personal_call,
    tone,
)

RUN = "imported-1"
PLANTED = (CARD_SPOKEN, CARD_DIGITS, "4556737586899855", PIN_SPOKEN, "4821", DOB_SPOKEN)
PLANTED += (DOB_NUMERIC, "March 3")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_chat(out: Path) -> tuple[list[dict[str, Any]], list[ExampleMeta]]:
    """Every line is a chat example whose tool calls hold together; checked here by hand, not
    with the exporter's own checker."""
    examples = lines(out / "chat.jsonl")
    metas = [ExampleMeta.model_validate(m) for m in lines(out / "chat-meta.jsonl")]
    assert len(examples) == len(metas) and [m.line for m in metas] == list(range(len(metas)))
    for ex in examples:
        ChatExample.model_validate(ex)
        assert set(ex) == {"messages", "tools"}
        names = {t["function"]["name"] for t in ex["tools"]}
        assert all(t["type"] == "function" for t in ex["tools"])
        assert ex["messages"][0]["role"] == "system"
        pending: set[str] = set()
        for i, m in enumerate(ex["messages"]):
            assert m["role"] in ("system", "user", "assistant", "tool")
            if m["role"] == "assistant":
                assert m["weight"] in (0, 1)
                assert not pending, "a tool call not answered before the next assistant message"
            else:
                assert "weight" not in m and "tool_calls" not in m
            for call in m.get("tool_calls", []):
                assert call["type"] == "function" and call["function"]["name"] in names
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
                if i < len(ex["messages"]) - 1:
                    pending.add(call["id"])
            if m["role"] == "tool":
                assert m["tool_call_id"] in pending
                pending.discard(m["tool_call_id"])
                json.loads(m["content"])
            else:
                assert "tool_call_id" not in m
        assert not pending
    return examples, metas


def check_asr(out: Path) -> list[AsrManifestLine]:
    found = [AsrManifestLine.model_validate(x) for x in lines(out / "asr_manifest.jsonl")]
    for line in found:
        path = out / line.audio_filepath
        with wave.open(str(path)) as w:
            assert w.getnchannels() == 1 and w.getframerate() == line.sample_rate
            assert w.getnframes() / w.getframerate() == pytest.approx(line.duration, abs=1e-4)
        assert line.text == line.text.lower() and "," not in line.text and "." not in line.text
    assert len({x.audio_filepath for x in found}) == len(found)
    return found


def check_corrections(examples: list[dict[str, Any]], metas: list[ExampleMeta]) -> int:
    corrected = 0
    for ex, meta in zip(examples, metas, strict=True):
        weights = [m.get("weight") for m in ex["messages"] if m["role"] == "assistant"]
        if "failed_corrected" not in meta.behaviours:
            assert set(weights) == {1} and meta.wrong_step is None
            continue
        corrected += 1
        assert meta.wrong_step is not None
        assert ex["messages"][meta.wrong_step]["weight"] == 0
        last = ex["messages"][-1]
        assert last["weight"] == 1 and last["tool_calls"]
        assert [c["function"]["name"] for c in last["tool_calls"]] == meta.correction
        assert weights.count(0) == 1
    return corrected


# --------------------------------------------------------------------------- hand-built calls


def _scores(ok: bool) -> CallScores:
    value = 1.0 if ok else 0.0
    return CallScores(
        metrics={"task_completion": value, "tool_selection_accuracy": value}, reasons={}
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """An imported batch (no variant spec, no stored suite: the banking suite's rules and derived
    tool schemas): a success, two failures, a call full of personal data, a holdout call and an
    unscored one, each with caller audio."""
    root = tmp_path / "store"
    st = Store.open(root)
    blobs = BlobStore(root / "blobs")
    traces: list[tuple[CallTrace, CallScores | None]] = [
        (freeze_call(call_id="ok"), _scores(True)),
        (freeze_call("credit", call_id="wrong-card"), _scores(False)),
        (freeze_call(made=False, call_id="never-froze"), _scores(False)),
        (personal_call(call_id="personal"), _scores(True)),
        (freeze_call(call_id="held", split="holdout"), _scores(True)),
        (freeze_call(call_id="unscored"), None),
    ]
    st.ensure_run(RUN, RunSpec(suite="banking", variants={"prod": ""}), len(traces))
    spec_hash = st.set_evaluation(RUN, [{"name": "TaskCompletion"}])
    for i, (trace, scores) in enumerate(traces):
        audio = blobs.put(tone(14.0, seed=i))
        update = {"run_id": RUN, "source": "imported", "suite": "banking", "variant": "prod"}
        st.put_call(trace.model_copy(update={**update, "caller_audio": audio}))
        if scores is not None:
            st.put_scores(RUN, spec_hash, trace.call_id, scores)
    st.close()
    return root


def test_export_of_hand_built_calls(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code, stdout, stderr = cli("export-training", "--store", str(store), "--out", str(out))
    assert code == 0, stderr
    examples, metas = check_chat(out)
    assert sorted(m.call_id for m in metas) == ["never-froze", "ok", "personal", "wrong-card"]
    assert check_corrections(examples, metas) == 2
    kinds = {m.call_id: m.wrong_step_kind for m in metas}
    assert kinds == {
        "never-froze": "end_of_call",
        "ok": None,
        "personal": None,
        "wrong-card": "tool_call",
    }
    assert {m.tools_from for m in metas} == {"derived"}
    ok = next(m for m in metas if m.call_id == "ok")
    assert ok.behaviours == ["success", "repair", "interruption", "silence"]

    asr = check_asr(out)
    # ASR data needs no scores: the unscored call's utterances are in.
    assert {x.call_id for x in asr} == {"never-froze", "ok", "personal", "wrong-card", "unscored"}
    assert [x.text for x in asr if x.call_id == "personal"] == ["what's my balance"]

    # Personal data: redacted in every text written, its utterances out of the ASR manifest.
    written = "".join(p.read_text() for p in out.glob("*.json*"))
    for planted in PLANTED:
        assert planted not in written, planted
    chat = (out / "chat.jsonl").read_text()
    assert "[CARD_NUMBER]" in chat and "[PIN]" in chat and "[DATE_OF_BIRTH]" in chat

    summary = ExportSummary.model_validate_json((out / "export.json").read_text())
    assert summary.examples == 4 and summary.asr_lines == len(asr) == 13
    assert summary.by_behaviour["failed_corrected"].examples == 2
    assert summary.by_behaviour["repair"].examples == 3
    assert summary.skipped["holdout calls (--split dev)"] == 1
    assert summary.skipped["chat: not scored"] == 1
    assert summary.skipped["asr: personal data in the reference (audio cannot be redacted)"] == 3
    assert summary.redaction.calls == 1 and summary.redaction.spans["pin"] == 1
    assert summary.tools_from == {f"{RUN}/prod": "derived"}
    assert {r.origin for r in summary.redaction.rules} == {"suite", "built-in"}

    for shown in ("failed_corrected", "repair", "interruption", "silence", "voice=a"):
        assert shown in stdout
    assert "redacted: " in stdout and "chat.jsonl (4)" in stdout
    assert "warning" not in stderr


def test_no_redact_keeps_everything(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code, stdout, _ = cli("export-training", "--store", str(store), "-o", str(out), "--no-redact")
    assert code == 0
    assert CARD_SPOKEN in (out / "chat.jsonl").read_text()
    assert sum(x.call_id == "personal" for x in check_asr(out)) == 4
    assert "redaction: off" in stdout


def test_holdout_only_when_asked_and_noted_for_the_gate(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code, _, stderr = cli(
        "export-training", RUN, "--store", str(store), "-o", str(out), "--split", "holdout"
    )
    assert code == 0
    _, metas = check_chat(out)
    assert [m.call_id for m in metas] == ["held"]
    assert "warning: 1 holdout calls exported for training" in stderr
    with StoreReader.open(store) as st:
        assert st.holdout_tuning_reads([RUN]) == [("export-training:out", 1)]


def test_a_second_export_replaces_the_first(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert cli("export-training", "--store", str(store), "-o", str(out))[0] == 0
    assert list((out / "audio").glob("*.wav"))
    code, _, stderr = cli("export-training", "--store", str(store), "-o", str(out), "-f", "chat")
    assert code == 0, stderr
    assert not (out / "asr_manifest.jsonl").exists() and not list((out / "audio").glob("*.wav"))
    summary = ExportSummary.model_validate_json((out / "export.json").read_text())
    assert summary.formats == ["chat"] and set(summary.files) == {"chat.jsonl", "chat-meta.jsonl"}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--split", "train"), "--split: unknown split 'train'"),
        (("--format", "chat,csv"), "--format: unknown format"),
        (("--variant", "candidate"), "--variant: no variant 'candidate'"),
        (("nope",), "no run 'nope'"),
        (("--system", " "), "--system: is empty"),
    ],
)
def test_bad_input_is_one_line(
    store: Path, tmp_path: Path, cli, args: tuple[str, ...], needle: str
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code, _, stderr = cli("export-training", "--store", str(store), "-o", str(out), *args)
    assert code == 2
    assert stderr.strip().count("\n") == 0 and needle in stderr, stderr
    assert not out.exists()


def test_an_unscored_run_or_a_folder_in_use_is_refused(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    st = Store.open(store)
    st.ensure_run("fresh", RunSpec(suite="banking", variants={"prod": ""}), 1)
    st.put_call(freeze_call(run_id="fresh", call_id="f1"))
    st.close()
    code, _, stderr = cli(
        "export-training", "fresh", "--store", str(store), "-o", str(tmp_path / "o")
    )
    assert code == 2 and "run fresh is not scored yet" in stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    code, _, stderr = cli("export-training", RUN, "--store", str(store), "-o", str(busy))
    assert code == 2 and "holds no earlier export" in stderr
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_system_message_from_a_file(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    system = tmp_path / "system.txt"
    system.write_text("You answer calls.\n")
    out = tmp_path / "out"
    assert (
        cli("export-training", "--store", str(store), "-o", str(out), "--system", str(system))[0]
        == 0
    )
    assert {ex["messages"][0]["content"] for ex in lines(out / "chat.jsonl")} == {
        "You answer calls."
    }


# --------------------------------------------------------------------------- real banking calls

# A correction the agent gets (repair turn and transfer), a barge-in, a silence, a misheard merchant
# (ASR: the wrong argument) and a dropped second request (policy: a call never made).
SCENARIOS = [
    "human-after-misunderstanding",
    "freeze-barge-in-confirmation",
    "balance-silence-before-slot",
    "dispute-uber",
    "multi-compound-freeze-and-balance",
]


@pytest.mark.slow
def test_export_of_real_banking_calls(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    baseline = resolve_suite_path("banking").parent / "variants" / "baseline.yaml"
    evaluators = ["ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing"]
    calls = run_scored(tmp_path / "store", baseline, SCENARIOS, evaluators)
    run_id = calls[0][0].run_id
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "export-training", run_id, "--store", str(tmp_path / "store"), "--out", str(out)
    )
    assert code == 0, stderr
    examples, metas = check_chat(out)
    by_scenario = {m.scenario_id: m for m in metas}
    assert set(by_scenario) == set(SCENARIOS)
    assert check_corrections(examples, metas) == 2
    assert "repair" in by_scenario["human-after-misunderstanding"].behaviours
    assert "transfer" in by_scenario["human-after-misunderstanding"].behaviours
    assert "interruption" in by_scenario["freeze-barge-in-confirmation"].behaviours
    assert "silence" in by_scenario["balance-silence-before-slot"].behaviours
    uber = by_scenario["dispute-uber"]
    assert uber.wrong_step_kind == "tool_call" and uber.correction == ["dispute_charge"]
    uber_fix = examples[uber.line]["messages"][-1]["tool_calls"][0]["function"]
    assert json.loads(uber_fix["arguments"]) == {"merchant": "Uber"}
    compound = by_scenario["multi-compound-freeze-and-balance"]
    assert compound.correction == ["freeze_card"] and compound.cause == "policy"
    assert {m.tools_from for m in metas} == {"toolset"}
    tools = {t["function"]["name"]: t["function"] for t in examples[0]["tools"]}
    assert tools["freeze_card"]["parameters"]["required"] == ["card"]  # the tool set's schema
    asr = check_asr(out)
    assert {x.scenario_id for x in asr} == set(SCENARIOS)
    assert "chat examples by behaviour" in stdout and "by cohort" in stdout


def test_an_interrupted_export_leaves_no_half_file(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callgate.training import export as export_module

    real = export_module._Exporter.asr
    seen: list[str] = []

    def stop_at_the_third_call(self, run, trace, out):  # type: ignore[no-untyped-def]
        seen.append(trace.call_id)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return real(self, run, trace, out)

    fresh = tmp_path / "fresh"
    with StoreReader.open(store) as st:
        before = export_module.export_training(st, export_module.ExportRequest(fresh, [RUN]))
        assert before.summary.examples == 4
        earlier = {p.name: p.read_bytes() for p in fresh.glob("*.json*")}
        monkeypatch.setattr(export_module._Exporter, "asr", stop_at_the_third_call)
        with pytest.raises(KeyboardInterrupt):
            export_module.export_training(st, export_module.ExportRequest(fresh, [RUN]))
        assert {p.name: p.read_bytes() for p in fresh.glob("*.json*")} == earlier
        assert not [p for p in fresh.iterdir() if p.name.startswith(".")]
        seen.clear()
        new = tmp_path / "new"
        with pytest.raises(KeyboardInterrupt):
            export_module.export_training(st, export_module.ExportRequest(new, [RUN]))
        assert not new.exists()
