"""Time-aligned mono tracks (the caller side and the agent side of a call)."""

from __future__ import annotations

import numpy as np

from callgate.speech.audio import SAMPLE_RATE, Audio


class Track:
    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self._buf = np.zeros(0, dtype=np.float32)

    def place(self, audio: Audio, t: float, until: float | None = None) -> None:
        """Mix ``audio`` in starting at ``t``; stop at ``until`` (an interrupted reply is cut)."""
        samples = audio.resample(self.sample_rate).samples
        if until is not None:
            samples = samples[: max(0, round((until - t) * self.sample_rate))]
        start = max(0, round(t * self.sample_rate))
        end = start + len(samples)
        if end > len(self._buf):
            grown = np.zeros(end, dtype=np.float32)
            grown[: len(self._buf)] = self._buf
            self._buf = grown
        self._buf[start:end] += samples

    def pad_to(self, seconds: float) -> None:
        n = round(seconds * self.sample_rate)
        if n > len(self._buf):
            self._buf = np.concatenate([self._buf, np.zeros(n - len(self._buf), dtype=np.float32)])

    @property
    def duration(self) -> float:
        return len(self._buf) / self.sample_rate

    def audio(self) -> Audio:
        return Audio(np.clip(self._buf, -1.0, 1.0), self.sample_rate)


def speech_extent(
    audio: Audio, floor_db: float = -45.0, below_peak_db: float = 35.0
) -> tuple[float, float]:
    """(start_s, end_s) of the audible part: 10 ms frames above an absolute and a relative floor."""
    sr = audio.sample_rate
    hop = max(1, sr // 100)
    n = len(audio.samples) // hop
    if n == 0:
        return (0.0, 0.0)
    frames = audio.samples[: n * hop].reshape(n, hop).astype(np.float64)
    db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    threshold = max(floor_db, float(db.max()) - below_peak_db)
    loud = np.flatnonzero(db > threshold)
    if len(loud) == 0:
        return (0.0, 0.0)
    return (loud[0] * hop / sr, (loud[-1] + 1) * hop / sr)
