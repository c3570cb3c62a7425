"""The caller's line for a whole call: room noise that never stops, sent down the channel.

A real line is never digitally silent between the caller's words: the room keeps talking, and the
codec and packet loss keep working on it. An agent's VAD and end-of-turn detector have to find the
caller's words *in* that stream, which is what fools them on a noisy line.

The noise sits ``snr_db`` below this caller's voice: the active speech level of a reference
sentence in the cohort's voice. A caller who speaks up (a frustrated repeat, ``gain_db``) is then
louder against the same room, as in life.

Pairing. Baseline and candidate answer at different times, so a noise bed keyed by call time would
put different noise under the same words. Instead each utterance starts the bed at an offset keyed
by its words (and how often they were said), a second before the words, and the bed runs on from
there until the next utterance: the noise just before the words (where an agent's VAD measures the
room), under them, and after them (where it waits for the end of the turn) is the same for every
variant of a call. An agent that streamed that second before the words were known heard the
previous stretch's noise there: a small difference only streaming agents see.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from callgate.agents.env import CallEnv
from callgate.scenarios.model import ChannelSpec, NoiseSpec, VoiceSpec
from callgate.simulation.babble import babble
from callgate.simulation.channel import ChannelResult, send
from callgate.simulation.noise import NOMINAL_SPEECH_DBFS, active_mask, pink_noise, white_noise
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import get_tts

# The sentence whose active level sets a voice's speech level (and so the room's noise level).
REFERENCE_SENTENCE = "hello, I am calling about something on my account that I need some help with"
_BED_S = 30.0
PAIRED_LEAD_S = 1.0  # line before the words that belongs to their stretch (agents' VAD lead)
_beds: dict[str, np.ndarray] = {}
_levels: dict[str, float] = {}


def _bed(kind: str, env: CallEnv) -> np.ndarray:
    """A unit-RMS noise bed of the given type, built once per process and looped."""
    if kind not in _beds:
        n = round(_BED_S * SAMPLE_RATE)
        rng = np.random.default_rng(20261203)
        if kind == "babble":
            bed = babble(env).resample(SAMPLE_RATE).samples.astype(np.float64)
            bed = bed / np.sqrt(np.mean(np.square(bed)))
        elif kind == "pink":
            bed = pink_noise(n, rng)
        else:
            bed = white_noise(n, rng)
        _beds[kind] = bed
    return _beds[kind]


def voice_power(voice: VoiceSpec, env: CallEnv) -> float:
    """Mean power of the active speech of :data:`REFERENCE_SENTENCE` in ``voice``."""
    key = f"{voice.engine}|{voice.voice}|{voice.rate}"
    if key not in _levels:
        try:
            audio, _ref, _hit = env.cache.synthesize(
                get_tts(voice.engine), REFERENCE_SENTENCE, voice.voice, voice.rate
            )
            x = audio.resample(SAMPLE_RATE).samples.astype(np.float64)
            power = float(np.mean(np.square(x[active_mask(x, SAMPLE_RATE)]))) if len(x) else 0.0
        except Exception:  # a voice that cannot say it (recorded-only cohorts): nominal level
            power = 0.0
        _levels[key] = power or 10.0 ** (NOMINAL_SPEECH_DBFS / 10.0)
    return _levels[key]


@dataclass(frozen=True)
class _Stretch:
    start: float  # call time the bed position below applies from
    offset: int  # bed sample at ``start``
    key: int  # seeds the channel's randomness for audio cut from this stretch


class Line:
    """One call's line: :meth:`utterance` delivers the caller's words with the room around them,
    :meth:`background` the line where the caller says nothing; both as the agent receives them."""

    def __init__(
        self,
        noise: NoiseSpec,
        channel: ChannelSpec,
        voice: VoiceSpec,
        seed: int,
        env: CallEnv,
    ) -> None:
        self.noise = noise
        self.channel = channel
        self.seed = seed
        self.silent = noise.type == "none"
        self.bed = np.zeros(1) if self.silent else _bed(noise.type, env)
        level = 0.0
        if not self.silent:
            assert noise.snr_db is not None  # NoiseSpec requires it for every noisy type
            level = float(np.sqrt(voice_power(voice, env) / 10.0 ** (noise.snr_db / 10.0)))
        self.level = level
        first = np.random.default_rng([seed, 0x11E]).integers(0, len(self.bed))
        self._stretches = [_Stretch(0.0, int(first), 0)]

    def utterance(self, speech: Audio, start: float, words: str, repeat: int) -> ChannelResult:
        """``speech`` (clean, 16 kHz) said at ``start``, with the room under it, down the line.
        The line from a second before ``start`` on belongs to this utterance's stretch of the
        bed."""
        digest = hashlib.sha256(f"{words}|{repeat}".encode()).digest()
        key = int.from_bytes(digest[:8], "big")
        offset = int(np.random.default_rng([self.seed, key]).integers(0, len(self.bed)))
        # The stretch begins a moment before the words: an agent's VAD hears that moment too
        # (its noise floor comes from it), and it must be the same for every variant.
        lead = min(PAIRED_LEAD_S, start)
        begin = start - lead
        at = bisect_right([s.start for s in self._stretches], begin)
        self._stretches[at:] = [_Stretch(begin, offset - round(lead * SAMPLE_RATE), key)]
        x = speech.resample(SAMPLE_RATE).samples.astype(np.float64)
        rng = np.random.default_rng([self.seed, key, 0])
        return self._send(x + self._noise(offset, len(x)), rng)

    def background(self, t0: float, t1: float) -> Audio:
        """The line from ``t0`` to ``t1`` with no caller speech, as the agent receives it."""
        n = max(0, round((t1 - t0) * SAMPLE_RATE))
        if self.silent or n == 0:
            return Audio(np.zeros(n, dtype=np.float32))
        stretch = self._stretches[bisect_right([s.start for s in self._stretches], t0) - 1]
        into = round((t0 - stretch.start) * SAMPLE_RATE)
        rng = np.random.default_rng([self.seed, stretch.key, 1, into])
        return self._send(self._noise(stretch.offset + into, n), rng).audio

    def _noise(self, offset: int, n: int) -> np.ndarray:
        if self.silent:
            return np.zeros(n)
        return self.level * self.bed[(offset + np.arange(n)) % len(self.bed)]

    def _send(self, x: np.ndarray, rng: np.random.Generator) -> ChannelResult:
        # Peaks of a loud caller plus the room saturate the microphone, as in life.
        audio = Audio(np.clip(x, -1.0, 1.0).astype(np.float32), SAMPLE_RATE)
        return send(audio, self.channel, rng)
