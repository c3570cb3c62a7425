"""Seeded latency model: how long each stage takes on the virtual clock.

Virtual latencies make runs reproducible to the byte while still letting a slower model or a longer
end-of-turn wait show up in timing metrics. Measured compute times are recorded beside them.
"""

from __future__ import annotations

import math

import numpy as np

from callgate.variants.model import LatencySpec


class LatencySampler:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def sample(self, spec: LatencySpec, *, audio_s: float = 0.0, chars: int = 0) -> float:
        mean = spec.base_s + spec.per_audio_s * audio_s + spec.per_char_s * chars + spec.network_s
        if spec.jitter <= 0:
            return mean
        # Mean-preserving log-normal: latencies are positive with a long right tail, like real ones.
        factor = math.exp(self.rng.normal(0.0, spec.jitter) - spec.jitter**2 / 2)
        return mean * factor
