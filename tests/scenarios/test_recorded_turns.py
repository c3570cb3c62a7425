"""Recorded caller turns: a real caller's file replays through the line instead of TTS, and the
ASR is scored against the transcript given beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callgate.errors import UsageError
from callgate.scenarios import load_suite
from callgate.scenarios.load import resolve_suite_path
from callgate.speech.audio import SAMPLE_RATE, Audio

SUITE = """\
schema_version: 1
name: rec
voices: {v: {engine: espeak, voice: en-us}}
grids: {default: [{voice: [v]}]}
scenarios:
  - id: s
    call_type: c
    caller:
      goal: g
      turns:
        - {say: "hello there", audio: AUDIO}
"""


def write_stereo_mp3(path: Path, mono: Audio, rate: int = 44_100) -> None:
    """A 44.1 kHz stereo mp3, the shape of a phone app's recording (channels slightly apart)."""
    x = mono.resample(rate).samples
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.stack([x, 0.9 * x], axis=1), rate, format="MP3")


def suite_with(tmp_path: Path, audio: str, extra: str = "") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("AUDIO", audio).rstrip("\n") + extra + "\n", encoding="utf-8")
    return path


def tone() -> Audio:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


def test_a_recording_resolves_against_the_suite_folder_and_is_hashed(tmp_path: Path) -> None:
    write_stereo_mp3(tmp_path / "rec" / "hello.mp3", tone())
    loaded = load_suite(str(suite_with(tmp_path, "rec/hello.mp3")))
    turn = loaded.suite.scenarios[0].caller.turns[0]
    assert turn.audio == str((tmp_path / "rec" / "hello.mp3").resolve())
    # Re-recording the file under the same name is a new run.
    write_stereo_mp3(tmp_path / "rec" / "hello.mp3", Audio(0.5 * tone().samples))
    assert load_suite(str(tmp_path / "suite.yaml")).content_hash != loaded.content_hash


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "audio file not found"),
        (lambda p: p.write_text("not audio"), "cannot read audio file hello.mp3"),
        (lambda p: sf.write(str(p), np.zeros(0), 16000, format="WAV"), "holds no audio"),
    ],
)
def test_a_bad_recording_is_one_error_naming_the_line(tmp_path, make, message) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "hello.mp3"
    if make is not None:
        make(target)
    path = suite_with(tmp_path, "hello.mp3")
    with pytest.raises(UsageError) as err:
        load_suite(str(path))
    text = str(err.value)
    assert message in text and "suite.yaml:11" in text and "\n" not in text


def test_a_recording_takes_no_pause_or_rate(tmp_path: Path) -> None:
    write_stereo_mp3(tmp_path / "hello.mp3", tone())
    path = suite_with(tmp_path, "hello.mp3, rate: 1.2")
    with pytest.raises(UsageError, match=r"recorded turn \(audio\) takes neither pause nor rate"):
        load_suite(str(path))


@pytest.mark.slow
def test_a_recorded_mp3_turn_is_heard_and_scored_against_its_transcript(tmp_path: Path) -> None:
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.execution.scoring import score_run
    from callgate.speech.engines import get_tts
    from callgate.store.db import Store
    from callgate.variants import load_variants

    said = "I need to freeze my debit card please."
    suite_dir = tmp_path / "banking"
    shutil.copytree(resolve_suite_path("banking").parent, suite_dir)
    voice = get_tts("piper").synthesize(said, "joe", 0.9)  # slower than the cohort's voice
    write_stereo_mp3(suite_dir / "recordings" / "freeze.mp3", voice)
    scenarios = suite_dir / "scenarios.yaml"
    text = scenarios.read_text(encoding="utf-8")
    old = '        - {say: "I need to freeze my debit card please.", entities: [freeze, debit]}\n'
    new = f'        - {{say: "{said}", audio: recordings/freeze.mp3, entities: [freeze, debit]}}\n'
    assert text.count(old) >= 1
    scenarios.write_text(text.replace(old, new, 1), encoding="utf-8")

    suite = load_suite(str(suite_dir / "suite.yaml"))
    request = RunRequest(
        suite,
        load_variants(["baseline"], suite),
        scenarios=["freeze-debit-simple"],
        cohort=["voice=us-joe", "noise=clean"],
    )
    p = plan(request)
    store = Store.open(tmp_path / "store")
    assert not execute(store, p, executor="inline").failed
    spec = [{"name": "ASRAccuracy"}, {"name": "TaskCompletion"}]
    assert not score_run(store, p.run_id, spec, executor="inline").failed
    (trace,) = list(store.calls(p.run_id))
    first = trace.caller_turns[0]
    assert first.voice == "recorded" and first.text == said
    assert first.clean_audio is not None and first.clean_audio.sample_rate == SAMPLE_RATE
    heard = trace.agent_turns[1]
    assert heard.reference_text == said and heard.asr is not None
    assert "freeze" in heard.asr.text.lower()
    (scores,) = store.scores(p.run_id).values()
    assert scores.metrics["asr_wer"] is not None and scores.metrics["asr_wer"] < 0.3
    assert [c.tool for c in trace.tool_calls] == ["freeze_card"]
