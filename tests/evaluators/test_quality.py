"""SpeechQuality: the plumbing with a fake quality model, then the real DNSMOS on real voices
(the metric falls with SNR; a codec-damaged agent voice scores below the clean one)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callgate.errors import UsageError
from callgate.evaluators.base import EVALUATORS, EvalContext, EvalResult, metric_index
from callgate.evaluators.quality import SpeechQuality
from callgate.evaluators.suite import DEFAULT_EVALUATORS
from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.speech.audio import SAMPLE_RATE, Audio, concat
from callgate.speech.quality import QUALITY_MODELS, QualityScores, get_quality
from callgate.store.blobs import BlobStore
from callgate.store.cache import SpeechCache
from callgate.traces.model import AudioRef, CallTrace, LineTrace
from factories import agent, call, caller

PHONE = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000)


class FakeQuality:
    """Scores a clip by its peak (OVRL = 10 x peak), and keeps every clip it was given."""

    name = "fake-quality"

    def __init__(self) -> None:
        self.seen: list[Audio] = []

    def identity(self) -> str:
        return "fake-quality|1"

    def score(self, audio: Audio) -> QualityScores:
        self.seen.append(audio)
        peak = float(np.max(np.abs(audio.samples)))
        return QualityScores(ovrl=10 * peak, sig=10 * peak + 0.5, bak=4.0, p808=3.0, windows=1)


@pytest.fixture
def fake() -> Iterator[FakeQuality]:
    QUALITY_MODELS.register("fake-quality")(FakeQuality)
    model = get_quality("fake-quality")
    assert isinstance(model, FakeQuality)
    model.seen.clear()
    yield model
    QUALITY_MODELS.unregister("fake-quality")


def tone(seconds: float, amplitude: float) -> Audio:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return Audio((amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def hiss(seconds: float) -> Audio:
    rng = np.random.default_rng(5)
    return Audio((0.1 * rng.standard_normal(round(seconds * SAMPLE_RATE))).astype(np.float32))


def line(channel: ChannelSpec | None) -> LineTrace | None:
    if channel is None:
        return None
    return LineTrace(noise={"type": "none"}, channel=channel.model_dump(mode="json"))


def scored(
    blobs: BlobStore,
    replies: list[tuple[Audio, dict[str, Any]]],
    *,
    track: Audio | None = None,
    utterances: tuple[tuple[float, float], ...] = (),
    channel: ChannelSpec | None = None,
    model: str = "fake-quality",
    cache: SpeechCache | None = None,
) -> EvalResult:
    turns = []
    for i, (audio, kw) in enumerate(replies):
        ref = blobs.put(audio)
        turns.append(agent(i, f"reply {i}", reply_audio=ref, **kw))
    trace: CallTrace = call(
        agent_turns=turns,
        caller_turns=[caller(i, f"utterance {i}", a, b) for i, (a, b) in enumerate(utterances)],
        caller_audio=None if track is None else blobs.put(track),
        line=line(channel),
    )
    ctx = EvalContext(
        load_audio=blobs.get, options={} if cache is None else {"speech_cache": cache}
    )
    return SpeechQuality(model=model).score_call(trace, ctx)


def test_turns_are_duration_weighted_into_the_call(fake: FakeQuality, tmp_path: Path) -> None:
    track = concat([Audio.silence(0.5), tone(1.5, 0.25), Audio.silence(1.0), tone(2.0, 0.35)])
    res = scored(
        BlobStore(tmp_path),
        [
            (tone(1.0, 0.2), {}),  # the greeting: answers nothing
            (tone(3.0, 0.4), {"heard": (0.5, 2.0)}),
            (tone(2.0, 0.3), {"heard": (3.0, 5.0), "discarded": True}),  # never played
        ],
        track=track,
        utterances=((0.5, 2.0), (3.0, 5.0)),
        channel=ChannelSpec(type="wideband"),
    )
    m = res.metrics
    assert m["agent_audio_mos"] == pytest.approx((2.0 * 1 + 4.0 * 3) / 4, abs=1e-3)
    assert m["agent_speech_mos"] == pytest.approx(4.0, abs=1e-3)
    assert m["caller_audio_mos"] == pytest.approx((2.5 * 1.5 + 3.5 * 2.0) / 3.5, abs=1e-3)
    assert res.score == m["agent_audio_mos"] and res.passed is True  # above 2.9
    rows = {r["turn"]: r for r in res.turns}
    assert rows[0] == {
        "turn": 0,
        "agent_mos": pytest.approx(2.0, abs=1e-3),
        "agent_sig_mos": pytest.approx(2.5, abs=1e-3),
        "agent_bak_mos": 4.0,
    }
    assert rows[1]["agent_mos"] == pytest.approx(4.0, abs=1e-3)
    assert rows[1]["caller_mos"] == pytest.approx(2.5, abs=1e-3)  # the utterance it answered
    assert "agent_mos" not in rows[2] and rows[2]["caller_mos"] == pytest.approx(3.5, abs=1e-3)
    assert "over 2 replies" in res.reason and "over 2 utterances" in res.reason


def test_missing_audio_is_not_scored_never_zero(fake: FakeQuality, tmp_path: Path) -> None:
    trace = call(agent_turns=[agent(0, "hello")])  # no reply audio, no caller track
    res = SpeechQuality(model="fake-quality").score_call(trace, EvalContext(load_audio=lambda s: 0))
    assert res.score is None and res.reason.startswith("not scored: no agent or caller audio")
    assert res.metrics == dict.fromkeys(("agent_audio_mos", "agent_speech_mos", "caller_audio_mos"))
    with_audio = call(
        agent_turns=[
            agent(0, "hi", reply_audio=AudioRef(sha256="x" * 64, sample_rate=16000, duration_s=1.0))
        ]
    )
    res = SpeechQuality(model="fake-quality").score_call(with_audio, EvalContext())
    assert res.score is None and "audio store not available" in res.reason
    assert not fake.seen


def test_without_a_caller_track_only_the_agent_is_scored(fake: FakeQuality, tmp_path: Path) -> None:
    res = scored(BlobStore(tmp_path), [(tone(1.0, 0.3), {})], utterances=((0.0, 1.0),))
    assert res.metrics["agent_audio_mos"] == pytest.approx(3.0, abs=1e-3)
    assert res.metrics["caller_audio_mos"] is None
    assert "caller: not scored (no caller track)" in res.reason


def high_band_share(audio: Audio) -> float:
    power = np.abs(np.fft.rfft(audio.samples)) ** 2
    freqs = np.fft.rfftfreq(len(audio.samples), 1 / audio.sample_rate)
    return float(power[freqs > 3800].sum() / power.sum())


def test_the_agent_is_heard_through_the_calls_channel(fake: FakeQuality, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    res = scored(blobs, [(hiss(1.0), {})], channel=PHONE)
    assert high_band_share(fake.seen[-1]) < 1e-3  # band-limited to 300-3400 Hz
    assert res.details["agent_heard"] == "through the channel: telephony 8 kHz mulaw"
    res = scored(blobs, [(hiss(1.0), {})])  # an imported trace: no line
    assert high_band_share(fake.seen[-1]) > 0.4
    assert res.details["agent_heard"] == "as recorded (the trace has no line)"


def test_packet_loss_is_seeded_by_the_reply_and_the_line(fake: FakeQuality, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    lossy = PHONE.model_copy(update={"packet_loss": 0.3})
    reply = hiss(2.0)
    scored(blobs, [(reply, {}), (reply, {})], channel=lossy)
    scored(blobs, [(reply, {})], channel=lossy)
    first, second, again = fake.seen
    # The same reply over the same line loses the same packets: in another turn, in another
    # call, and so for the baseline and the candidate alike.
    assert np.array_equal(first.samples, second.samples)
    assert np.array_equal(first.samples, again.samples)
    scored(blobs, [(reply, {})], channel=PHONE)
    clean = fake.seen[-1]
    assert np.sum(first.samples**2) < 0.85 * np.sum(clean.samples**2)  # packets were dropped


def test_scores_are_cached_by_audio_content(fake: FakeQuality, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    cache = SpeechCache(tmp_path / "cache", blobs)
    replies: list[tuple[Audio, dict[str, Any]]] = [
        (tone(1.0, 0.2), {}),
        (tone(1.0, 0.2), {}),
        (tone(2.0, 0.3), {}),
    ]
    first = scored(blobs, replies, channel=PHONE, cache=cache)
    assert len(fake.seen) == 2  # the repeated reply was scored once
    again = scored(blobs, replies, channel=PHONE, cache=cache)
    assert len(fake.seen) == 2 and again.metrics == first.metrics and again.turns == first.turns


def test_registered_as_a_default_evaluator_with_gateable_metrics() -> None:
    assert {"name": "SpeechQuality"} in DEFAULT_EVALUATORS
    assert EVALUATORS.factory("SpeechQuality") is SpeechQuality
    declared = metric_index()
    for name in ("agent_audio_mos", "agent_speech_mos", "caller_audio_mos"):
        assert declared[name].direction == "higher" and declared[name].unit == "MOS"
    assert declared["agent_audio_mos"].threshold == 2.9
    assert declared["caller_audio_mos"].threshold is None  # describes the line, not the agent


def test_bad_model_or_parameter_is_one_line() -> None:
    with pytest.raises(UsageError, match="unknown quality model 'nope'"):
        SpeechQuality(model="nope")
    with pytest.raises(ValueError, match="hop_s"):
        SpeechQuality(model_params={"hop_s": 30})
    assert SpeechQuality().params() == {"model": "dnsmos", "model_params": {}}


# -- the real model -------------------------------------------------------------------------------

SENTENCES = [
    "I'd like to check the balance on my checking account, please.",
    "Your debit card ending in four two one seven is now frozen.",
    "I can move fifty dollars from checking to savings. Shall I go ahead?",
]
SNRS = [30, 20, 10, 5, 0]


def piper(texts: list[str]) -> list[Audio]:
    from callgate.speech.engines import get_tts

    tts = get_tts("piper")
    return [tts.synthesize(t, "joe").resample(SAMPLE_RATE).quantised() for t in texts]


def babble() -> Audio:
    from callgate.simulation.noise import babble_bed
    from callgate.speech.engines import get_tts

    tts = get_tts("espeak")
    talk = [
        ("en-gb", "did you see the game last night it went to extra time"),
        ("en-us+Annie", "we should pick up some bread and milk on the way home"),
        ("en-029", "the meeting moved to three so I will be a little late"),
        ("en-gb-x-rp", "my sister is visiting next week with the kids"),
    ]
    talkers = [tts.synthesize(text, voice) for voice, text in talk]
    return babble_bed(talkers, 20.0, np.random.default_rng(11))


@pytest.mark.slow
def test_caller_audio_quality_falls_monotonically_with_snr(tmp_path: Path) -> None:
    """The same three sentences as one caller track, with noise over the whole call (between the
    utterances too) at 30 to 0 dB: the caller's MOS falls at every step, for both noises."""
    clips = piper(SENTENCES)
    gap = Audio.silence(0.4)
    track = concat([part for c in clips for part in (gap, c)] + [gap])
    spans, t = [], 0.0
    for c in clips:
        t += gap.duration
        spans.append((t, t + c.duration))
        t += c.duration
    bed = babble()
    blobs = BlobStore(tmp_path)
    table: dict[str, list[float]] = {}
    for kind in ("white", "babble"):
        for snr in SNRS:
            noisy = add_noise_over(track, NoiseSpec(type=kind, snr_db=snr), bed)
            res = scored(blobs, [], track=noisy, utterances=tuple(spans), model="dnsmos")
            value = res.metrics["caller_audio_mos"]
            assert value is not None
            table.setdefault(kind, []).append(value)
    for kind, values in table.items():
        assert all(a > b for a, b in itertools.pairwise(values)), (kind, values)
        assert values[0] - values[-1] > 1.0, (kind, values)  # 30 dB to 0 dB: over a MOS point


def add_noise_over(track: Audio, spec: NoiseSpec, bed: Audio) -> Audio:
    from callgate.simulation.noise import add_noise

    return add_noise(track, spec, np.random.default_rng(3), bed).quantised()


@pytest.mark.slow
def test_a_codec_damaged_agent_voice_scores_below_the_clean_one(tmp_path: Path) -> None:
    """The agent's replies heard over a wideband line, over 8 kHz mu-law, and over mu-law with
    packet loss: each damage lowers the agent's MOS, per call and in every turn."""
    replies: list[tuple[Audio, dict[str, Any]]] = [(clip, {}) for clip in piper(SENTENCES)]
    blobs = BlobStore(tmp_path)
    results = {
        name: scored(blobs, replies, channel=channel, model="dnsmos")
        for name, channel in {
            "clean": ChannelSpec(type="wideband"),
            "mulaw": PHONE,
            "lossy": PHONE.model_copy(update={"packet_loss": 0.10}),
        }.items()
    }
    mos = {name: r.metrics["agent_audio_mos"] for name, r in results.items()}
    assert mos["clean"] > mos["mulaw"] > mos["lossy"], mos  # type: ignore[operator]
    assert mos["clean"] - mos["lossy"] > 0.2, mos  # type: ignore[operator]
    for clean_row, lossy_row in zip(results["clean"].turns, results["lossy"].turns, strict=True):
        assert lossy_row["agent_mos"] < clean_row["agent_mos"]
    assert results["lossy"].passed is False and results["clean"].passed is True
