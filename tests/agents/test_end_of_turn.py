"""The pipeline's end-of-turn decision: silence waits, the smart-turn model, and a VAD that takes
the room for speech."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from callgate.agents.end_of_turn import EndOfTurn, listen
from callgate.agents.pipeline_config import TurnSpec
from callgate.speech.audio import Audio


class ScriptedVAD:
    """Speech wherever the audio is non-zero (20 ms frames): the tests draw the VAD's view."""

    name = "scripted"

    def identity(self) -> str:
        return self.name

    def speech_segments(self, audio: Audio) -> list[tuple[float, float]]:
        frame = audio.sample_rate // 50
        n = len(audio.samples) // frame
        loud = np.abs(audio.samples[: n * frame]).reshape(n, frame).max(axis=1) > 0.01
        spans: list[tuple[float, float]] = []
        for i, on in enumerate(loud):
            t = i / 50
            if on and spans and abs(spans[-1][1] - t) < 1e-9:
                spans[-1] = (spans[-1][0], t + 0.02)
            elif on:
                spans.append((t, t + 0.02))
        return [(round(a, 4), round(b, 4)) for a, b in spans]


class FixedModel:
    """P(complete) by what was heard: complete unless the audio ends in a marked pause."""

    def __init__(self, incomplete_before: list[float]) -> None:
        self.incomplete = incomplete_before
        self.asked: list[float] = []

    def probability(self, audio: Audio) -> float:
        self.asked.append(audio.duration)
        return 0.1 if any(abs(audio.duration - t) < 0.25 for t in self.incomplete) else 0.9


def speech(*spans: tuple[float, float], total: float) -> Audio:
    x = np.zeros(round(total * 16000), dtype=np.float32)
    for a, b in spans:
        x[round(a * 16000) : round(b * 16000)] = 0.5
    return Audio(x)


def silent_line(t0: float, t1: float) -> Audio:
    return Audio.silence(t1 - t0)


def noisy_line(t0: float, t1: float) -> Audio:
    return Audio(np.full(round((t1 - t0) * 16000), 0.5, dtype=np.float32))


def detector(**turn: Any) -> EndOfTurn:
    return EndOfTurn(ScriptedVAD(), TurnSpec(**turn))  # type: ignore[arg-type]


def test_a_pause_shorter_than_the_wait_joins_one_turn() -> None:
    audio = speech((0.0, 1.0), (1.5, 2.0), total=3.5)
    turns, still_open = detector(end_of_turn_silence_ms=800).turns(audio)
    assert still_open is None
    assert [(t.start, t.end, t.eot) for t in turns] == [(0.0, 2.0, 2.8)]


def test_a_pause_longer_than_the_wait_cuts_the_caller_off() -> None:
    audio = speech((0.0, 1.0), (2.0, 2.5), total=4.0)
    turns, _ = detector(end_of_turn_silence_ms=800).turns(audio)
    assert [t.eot for t in turns] == [1.8, 3.3]


def test_speech_running_to_the_end_leaves_the_turn_open() -> None:
    turns, still_open = detector().turns(speech((0.5, 3.0), total=3.0))
    assert turns == [] and still_open == (0.5, 3.0)


def test_smart_turn_ends_a_complete_turn_early_and_waits_through_a_pause() -> None:
    model = FixedModel(incomplete_before=[1.2])  # the pause after 1.0 s is mid-sentence
    eot = EndOfTurn(
        ScriptedVAD(),  # type: ignore[arg-type]
        TurnSpec(detector="smart-turn", model_wait_ms=200, end_of_turn_silence_ms=2000),
        model,  # type: ignore[arg-type]
    )
    turns, _ = eot.turns(speech((0.0, 1.0), (2.0, 2.5), total=5.0))
    assert [(t.start, t.eot) for t in turns] == [(0.0, pytest.approx(2.7))]
    assert len(model.asked) == 2


def test_listen_takes_the_line_before_and_after_the_words() -> None:
    words = speech((0.1, 1.4), total=1.5)
    heard = listen(detector(), silent_line, words, start=10.0, heard_until=0.0)
    assert heard.start == pytest.approx(9.0)  # a second of the line before the words
    (turn,) = heard.turns
    assert heard.start + turn.eot == pytest.approx(10.0 + 1.4 + 0.8)
    assert heard.until == pytest.approx(heard.start + turn.eot)
    assert heard.audio.duration == pytest.approx(turn.eot, abs=1e-3)


def test_a_room_the_vad_takes_for_speech_holds_the_turn_to_the_agents_limit() -> None:
    words = speech((0.0, 1.5), total=1.5)
    heard = listen(detector(max_tail_s=2.0), noisy_line, words, start=5.0, heard_until=5.0)
    (turn,) = heard.turns
    assert heard.start == 5.0  # nothing unheard before the words
    assert heard.until == pytest.approx(5.0 + 1.5 + 2.0)
    assert turn.eot == pytest.approx(3.5)


def test_speech_heard_only_after_the_turn_is_not_part_of_it() -> None:
    def late_noise(t0: float, t1: float) -> Audio:
        # The line is quiet for a second after the words, then the room gets loud.
        n = round((t1 - t0) * 16000)
        t = t0 + np.arange(n) / 16000
        return Audio(np.where(t > 4.0, 0.5, 0.0).astype(np.float32))

    words = speech((0.0, 1.0), total=1.5)
    heard = listen(detector(max_tail_s=3.0), late_noise, words, start=2.0, heard_until=2.0)
    assert [round(heard.start + t.eot, 3) for t in heard.turns] == [3.8]


def test_smart_turn_features_match_pipecats_own() -> None:
    # callgate computes the model's Whisper features itself; they must be what Pipecat feeds it.
    features = pytest.importorskip("pipecat.audio.turn.smart_turn._whisper_features")
    from callgate.speech.turn_model import log_mel

    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    theirs = features.compute_whisper_log_mel_features(np.pad(x, (128000 - len(x), 0)))
    assert np.abs(log_mel(x) - theirs).max() < 1e-5


def test_a_missing_smart_turn_model_is_one_error_on_the_field_before_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callgate.agents import pipeline_check
    from callgate.errors import MissingModelError, UsageError

    def missing() -> None:
        raise MissingModelError("end-of-turn model 'smart-turn' needs the package 'pipecat-ai'")

    monkeypatch.setattr(pipeline_check, "smart_turn", missing)
    config = pipeline_check.PipelineConfig.model_validate(
        {
            "policy": {"name": "banking"},
            "tools": {"toolset": "banking"},
            "turn": {"detector": "smart-turn"},
        }
    )
    with pytest.raises(UsageError) as err:
        pipeline_check.check_pipeline(config, None)
    assert err.value.field == "turn.detector"
    assert "pip install 'callgate[pipecat]'" in str(err.value)
