"""Seeded latency model: how long each stage takes on the virtual clock.

Virtual latencies make runs reproducible to the byte while still letting a slower model or a longer
end-of-turn wait show up in timing metrics. Measured compute times are recorded beside them.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field


class LatencySpec(BaseModel):
    """Seeded latency model of one stage, in virtual seconds.

    latency = base_s + per_audio_s * seconds of audio in + per_char_s * characters in
              + network_s, times a log-normal jitter factor with sigma ``jitter``.
    Each stage has its own defaults (a partial override keeps the other fields), calibrated from
    compute times measured on a 2-core machine (``benchmarks/simulation.py`` prints the fit).
    """

    base_s: float = Field(0.0, ge=0.0, le=30.0)
    per_audio_s: float = Field(0.0, ge=0.0, le=10.0)
    per_char_s: float = Field(0.0, ge=0.0, le=1.0)
    network_s: float = Field(0.0, ge=0.0, le=10.0)
    jitter: float = Field(0.1, ge=0.0, le=2.0)


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
