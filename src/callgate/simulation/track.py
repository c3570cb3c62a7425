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
