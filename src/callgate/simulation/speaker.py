"""The caller's voice: utterance text -> clean audio with known speech spans."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from callgate.agents.env import CallEnv
from callgate.scenarios.model import Utterance, VoiceSpec
from callgate.speech.audio import SAMPLE_RATE, Audio, read_audio, speech_extent
from callgate.speech.engines import get_tts
from callgate.speech.respell import respell_for_tts
from callgate.traces.model import AudioRef


@dataclass(frozen=True)
class Spoken:
    audio: Audio  # clean, before the channel
    pieces: list[tuple[str, float, float]]  # (reference text, start_s, end_s) within ``audio``
    ref: AudioRef | None  # blob of the clean audio when it is a single TTS clip
    recorded: bool = False  # a recording, not the cohort's voice


def split_at_pause(utt: Utterance) -> list[str]:
    if utt.pause is None:
        return [utt.say]
    at = utt.say.lower().index(utt.pause.after.lower()) + len(utt.pause.after)
    head, tail = utt.say[:at].strip(), utt.say[at:].strip(" ,")
    return [p for p in (head, tail) if p]


def speak(
    env: CallEnv,
    voice: VoiceSpec,
    utt: Utterance,
    rate: float,
    gain_db: float,
    lexicon: Mapping[str, str],
) -> Spoken:
    if utt.audio is not None:
        return _recorded(env, utt, gain_db)
    engine = get_tts(voice.engine)
    parts = split_at_pause(utt)
    clips: list[Audio] = []
    refs: list[AudioRef] = []
    for text in parts:
        with env.stopwatch.time("tts_caller"):
            audio, ref, _hit = env.cache.synthesize(
                engine,
                respell_for_tts(text, lexicon),
                voice.voice,
                round(voice.rate * utt.rate * rate, 4),
            )
        clips.append(audio.resample(SAMPLE_RATE))
        refs.append(ref)
    gap = Audio.silence(utt.pause.ms / 1000.0) if utt.pause else None
    samples: list[np.ndarray] = []
    pieces: list[tuple[str, float, float]] = []
    t = 0.0
    for i, (text, clip) in enumerate(zip(parts, clips, strict=True)):
        if i and gap is not None:
            samples.append(gap.samples)
            t += gap.duration
        a, b = speech_extent(clip)
        pieces.append((text, t + a, t + b))
        samples.append(clip.samples)
        t += clip.duration
    audio = Audio(np.concatenate(samples))
    total_gain = gain_db
    if total_gain:
        audio = Audio(np.clip(audio.samples * 10 ** (total_gain / 20.0), -1.0, 1.0))
    return Spoken(audio, pieces, refs[0] if len(refs) == 1 and not total_gain else None)


def _recorded(env: CallEnv, utt: Utterance, gain_db: float) -> Spoken:
    """A recorded caller turn: mixed to mono and resampled to the call's rate; only the gain of
    a frustrated repeat applies (a recording keeps its own speed and voice)."""
    assert utt.audio is not None
    with env.stopwatch.time("tts_caller"):
        audio = read_audio(utt.audio).resample(SAMPLE_RATE).quantised()
    if gain_db:
        audio = Audio(np.clip(audio.samples * 10 ** (gain_db / 20.0), -1.0, 1.0))
    ref = env.blobs.put(audio)
    a, b = speech_extent(audio)
    return Spoken(audio, [(utt.say, a, b)], ref, recorded=True)
