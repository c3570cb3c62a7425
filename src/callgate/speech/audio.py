"""Mono audio buffers and the few conversions the pipeline needs.

Everything inside a simulated call runs at :data:`SAMPLE_RATE` (16 kHz, what the ASR models expect);
engines that synthesise at other rates resample on the way in.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError("Audio holds mono samples only")
        if self.samples.dtype != np.float32:
            object.__setattr__(self, "samples", self.samples.astype(np.float32))

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @classmethod
    def silence(cls, seconds: float, sample_rate: int = SAMPLE_RATE) -> Audio:
        return cls(np.zeros(round(seconds * sample_rate), dtype=np.float32), sample_rate)

    def resample(self, sample_rate: int) -> Audio:
        if sample_rate == self.sample_rate:
            return self
        out = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(np.asarray(out, dtype=np.float32), sample_rate)

    def slice(self, start_s: float, end_s: float) -> Audio:
        a = max(0, round(start_s * self.sample_rate))
        b = min(len(self.samples), round(end_s * self.sample_rate))
        return Audio(self.samples[a : max(a, b)].copy(), self.sample_rate)

    def pcm16(self) -> np.ndarray:
        """Samples quantised to 16-bit PCM, the form audio is stored and hashed in."""
        # Scale by 32768, as libsndfile does when it reads PCM back as float: then a stored clip
        # reads back bit-identical to ``quantised()`` and cache hits equal cache misses.
        return np.clip(np.round(self.samples * 32768.0), -32768, 32767).astype(np.int16)

    def quantised(self) -> Audio:
        """The audio exactly as it will read back from storage (16-bit)."""
        return Audio(self.pcm16().astype(np.float32) / 32768.0, self.sample_rate)

    def content_hash(self) -> str:
        h = hashlib.sha256()
        h.update(str(self.sample_rate).encode())
        h.update(self.pcm16().tobytes())
        return h.hexdigest()

    def rms_dbfs(self) -> float:
        if len(self.samples) == 0:
            return -120.0
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))
        return 20.0 * np.log10(max(rms, 1e-6))


def concat(parts: list[Audio], sample_rate: int = SAMPLE_RATE) -> Audio:
    if not parts:
        return Audio.silence(0.0, sample_rate)
    return Audio(
        np.concatenate([p.resample(sample_rate).samples for p in parts]).astype(np.float32),
        sample_rate,
    )


def to_flac_bytes(audio: Audio) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio.pcm16(), audio.sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def read_audio(path: str | Path) -> Audio:
    """Read any file libsndfile understands (wav, flac, ogg) as mono float32."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return Audio(data.mean(axis=1).astype(np.float32), int(sr))


def write_wav(path: str | Path, audio: Audio) -> None:
    sf.write(str(path), audio.pcm16(), audio.sample_rate, subtype="PCM_16")


def speech_extent(
    audio: Audio, floor_db: float = -45.0, below_peak_db: float = 35.0
) -> tuple[float, float]:
    """(start_s, end_s) of the audible part: 10 ms frames above an absolute and a relative floor."""
    spans = speech_spans(audio, floor_db, below_peak_db, gap_s=float("inf"))
    return spans[0] if spans else (0.0, 0.0)


def speech_spans(
    audio: Audio, floor_db: float = -45.0, below_peak_db: float = 35.0, gap_s: float = 0.3
) -> list[tuple[float, float]]:
    """The audible stretches, split where the audio stays below the floors for ``gap_s`` or more
    (a pause inside an utterance), in seconds from the start of ``audio``."""
    sr = audio.sample_rate
    hop = max(1, sr // 100)
    n = len(audio.samples) // hop
    if n == 0:
        return []
    frames = audio.samples[: n * hop].reshape(n, hop).astype(np.float64)
    db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    threshold = max(floor_db, float(db.max()) - below_peak_db)
    loud = np.flatnonzero(db > threshold)
    if len(loud) == 0:
        return []
    spans: list[tuple[float, float]] = []
    first = prev = int(loud[0])
    for i in loud[1:]:
        if (i - prev - 1) * hop / sr >= gap_s:
            spans.append((first * hop / sr, (prev + 1) * hop / sr))
            first = int(i)
        prev = int(i)
    spans.append((first * hop / sr, (prev + 1) * hop / sr))
    return spans
