"""Channel transforms: degradations applied after the line, in the order a suite lists them.

A suite's channel can add any registered transform (``channels: {name: {..., transforms:
[{name: clipping, params: {level: 0.3}}]}}``). Transforms register in the entry-point group
``callgate.channels``; a factory takes the ``params`` and returns an object whose
``apply(audio, rng)`` returns the degraded 16 kHz audio, of the same length, using only ``rng``
for randomness so a seeded call stays reproducible. callgate's own two are below.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from callgate.registry import Registry
from callgate.speech.audio import Audio


@runtime_checkable
class ChannelTransform(Protocol):
    def apply(self, audio: Audio, rng: np.random.Generator) -> Audio: ...


CHANNEL_TRANSFORMS: Registry[ChannelTransform] = Registry("channel transform", "callgate.channels")


class Clipping:
    """A line or handset driven too hot: samples beyond ``level`` are cut flat."""

    def __init__(self, level: float = 0.5) -> None:
        if not 0.0 < level <= 1.0:
            raise ValueError(f"clipping level must be in (0, 1], not {level}")
        self.level = float(level)

    def apply(self, audio: Audio, rng: np.random.Generator) -> Audio:
        clipped = np.clip(audio.samples, -self.level, self.level)
        return Audio(clipped.astype(np.float32), audio.sample_rate)


class Gain:
    """A quiet or loud line: the level changes by ``db`` decibels (saturating at full scale)."""

    def __init__(self, db: float = -6.0) -> None:
        if not -60.0 <= db <= 30.0:
            raise ValueError(f"gain must be within -60 and 30 dB, not {db}")
        self.db = float(db)

    def apply(self, audio: Audio, rng: np.random.Generator) -> Audio:
        scaled = np.clip(audio.samples * 10 ** (self.db / 20.0), -1.0, 1.0)
        return Audio(scaled.astype(np.float32), audio.sample_rate)
