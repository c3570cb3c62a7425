"""The degraded line between the simulated caller and the agent.

:func:`degrade` puts the caller in a noisy room (see :mod:`callgate.simulation.noise`), then sends
the audio down the line: a telephony channel band-limits to 300-3400 Hz, drops to the channel's
sample rate (8 kHz), optionally goes through G.711 mu-law and loses packets; the agent always
receives 16 kHz audio, as a real 8 kHz call would arrive upsampled. All randomness comes from the
``numpy.random.Generator`` passed in, so a seeded call is reproducible sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.simulation.noise import add_noise, babble_bed, pink_noise, white_noise
from callgate.simulation.transforms import CHANNEL_TRANSFORMS
from callgate.speech.audio import SAMPLE_RATE, Audio

__all__ = [
    "ChannelResult",
    "add_noise",
    "apply_channel",
    "babble_bed",
    "band_limit",
    "degrade",
    "mulaw_decode",
    "mulaw_encode",
    "pink_noise",
    "send",
    "white_noise",
]

TELEPHONY_BAND_HZ = (300.0, 3400.0)
# Width of the raised-cosine skirts of the band filter: a brick wall would ring audibly
# (Gibbs), a skirt this narrow still keeps the band edges where G.712 puts them.
_SKIRT_HZ = 150.0

# G.711 mu-law works on the magnitude plus a bias of 132 (0x84), which makes every segment
# boundary a power of two, and clips the biased magnitude to 32635 so it fits segment 7.
_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635
_SEGMENT_TOPS = np.array([256, 512, 1024, 2048, 4096, 8192, 16384])


@dataclass(frozen=True)
class ChannelResult:
    """The audio as the agent receives it (16 kHz) and what the packet-loss model did."""

    audio: Audio
    packets_total: int
    packets_lost: int


def mulaw_encode(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to G.711 mu-law bytes (segmented, mu=255, bit-inverted)."""
    pcm = np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767)
    pcm = pcm.astype(np.int32)
    sign = np.where(pcm < 0, 0x80, 0)
    mag = np.minimum(np.abs(pcm), _MULAW_CLIP) + _MULAW_BIAS
    exponent = np.searchsorted(_SEGMENT_TOPS, mag, side="right")
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """G.711 mu-law bytes back to float32 samples in [-1, 1]."""
    c = ~np.asarray(codes, dtype=np.int32) & 0xFF
    exponent = (c >> 4) & 0x07
    mantissa = c & 0x0F
    # Reconstruct at the middle of the quantisation step (the 0x84 adds half a step back).
    mag = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    pcm = np.where(c & 0x80, -mag, mag)
    return (pcm / 32768.0).astype(np.float32)


def band_limit(samples: np.ndarray, sample_rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    """Band-pass ``samples`` to [low_hz, high_hz] with a zero-phase FFT-domain filter.

    The signal is zero-padded before the FFT so the filter's ringing cannot wrap around from
    the end of the call to its start.
    """
    n = len(samples)
    if n == 0:
        return np.asarray(samples, dtype=np.float64)
    pad = sample_rate // 10
    n_fft = 1 << int(np.ceil(np.log2(n + pad)))
    spectrum = np.fft.rfft(samples, n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    high_hz = min(high_hz, sample_rate / 2.0 - _SKIRT_HZ)
    gain = _skirt(freqs - (low_hz - _SKIRT_HZ)) * _skirt((high_hz + _SKIRT_HZ) - freqs)
    return np.fft.irfft(spectrum * gain, n_fft)[:n]


def apply_channel(audio: Audio, channel: ChannelSpec, rng: np.random.Generator) -> ChannelResult:
    """Send ``audio`` through ``channel``; the result is 16 kHz and as long as the input.

    ``telephony``: band-limit to 300-3400 Hz at ``channel.sample_rate``, mu-law if the codec
    says so, packet loss, then upsample to 16 kHz. ``wideband``: stays at 16 kHz; only packet
    loss (and mu-law, if the spec asks for it explicitly) applies.
    """
    x = audio.resample(SAMPLE_RATE).samples
    n = len(x)
    if channel.type == "wideband":
        if channel.codec == "pcm" and channel.packet_loss == 0.0:
            return ChannelResult(
                audio.resample(SAMPLE_RATE), _packet_count(n, SAMPLE_RATE, channel), 0
            )
        y = x.astype(np.float64)
        if channel.codec == "mulaw":
            y = mulaw_decode(mulaw_encode(y)).astype(np.float64)
        y, total, lost = _drop_packets(y, SAMPLE_RATE, channel, rng)
        return ChannelResult(Audio(y.astype(np.float32), SAMPLE_RATE), total, lost)

    rate = channel.sample_rate
    y = _resample(x.astype(np.float64), SAMPLE_RATE, rate)
    y = band_limit(y, rate, *TELEPHONY_BAND_HZ)
    if channel.codec == "mulaw":
        y = mulaw_decode(mulaw_encode(y)).astype(np.float64)
    y, total, lost = _drop_packets(y, rate, channel, rng)
    out = _resample(y, rate, SAMPLE_RATE)
    # Resampler lengths round; the agent side expects the caller's timeline unchanged.
    out = np.pad(out[:n], (0, max(0, n - len(out))))
    # A real decoder saturates; the band filter and resampler may overshoot full scale slightly.
    out = np.clip(out, -1.0, 1.0)
    return ChannelResult(Audio(out.astype(np.float32), SAMPLE_RATE), total, lost)


def degrade(
    audio: Audio,
    noise: NoiseSpec,
    channel: ChannelSpec,
    rng: np.random.Generator,
    babble: Audio | None = None,
) -> ChannelResult:
    """Noise first (the room around the caller), then the line to the agent, then the channel's
    own transforms in order. One clip on its own; a call's line is
    :class:`callgate.simulation.line.Line`, which mixes the room over the whole call."""
    return send(add_noise(audio, noise, rng, babble), channel, rng)


def send(audio: Audio, channel: ChannelSpec, rng: np.random.Generator) -> ChannelResult:
    """``audio`` (the room already in it) down the line: the channel, then its transforms."""
    result = apply_channel(audio, channel, rng)
    if not channel.transforms:
        return result
    out = result.audio
    for ref in channel.transforms:
        out = CHANNEL_TRANSFORMS.create(ref.name, **ref.params).apply(out, rng)
    return ChannelResult(out, result.packets_total, result.packets_lost)


def _skirt(distance_hz: np.ndarray) -> np.ndarray:
    """0 below 0 Hz, raised-cosine rise over :data:`_SKIRT_HZ`, then 1."""
    t = np.clip(distance_hz / _SKIRT_HZ, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def _resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate or len(x) == 0:
        return x
    return np.asarray(soxr.resample(x, from_rate, to_rate, quality="HQ"), dtype=np.float64)


def _packet_count(n: int, rate: int, channel: ChannelSpec) -> int:
    size = _packet_size(rate, channel)
    return -(-n // size)


def _packet_size(rate: int, channel: ChannelSpec) -> int:
    return max(1, round(channel.packet_ms * rate / 1000))


def _drop_packets(
    y: np.ndarray, rate: int, channel: ChannelSpec, rng: np.random.Generator
) -> tuple[np.ndarray, int, int]:
    """Silence whole packets, each lost independently with ``channel.packet_loss``."""
    total = _packet_count(len(y), rate, channel)
    if channel.packet_loss == 0.0 or total == 0:
        return y, total, 0
    lost = rng.random(total) < channel.packet_loss
    mask = np.repeat(lost, _packet_size(rate, channel))[: len(y)]
    y = y.copy()
    y[mask] = 0.0
    return y, total, int(lost.sum())
