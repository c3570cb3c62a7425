"""The acoustic environment at the caller: background noise mixed in at a target SNR.

SNR here is measured over the *active speech* part of the signal (frames louder than
:data:`ACTIVE_FLOOR_DBFS`), the way people quote it: pauses between words must not make a
"10 dB" call noisier than a fluent one. All randomness comes from the ``numpy.random.Generator``
passed in, so a seeded call degrades identically every time.
"""

from __future__ import annotations

import numpy as np

from callgate.scenarios.model import NoiseSpec
from callgate.speech.audio import SAMPLE_RATE, Audio

ACTIVE_FLOOR_DBFS = -45.0
FRAME_MS = 20
# A silent input has no speech level to reference; noise then sits where normal speech
# (ITU-T P.56 nominal active level) would, so a caller who says nothing still sounds like a
# caller in a noisy room rather than a dead line.
NOMINAL_SPEECH_DBFS = -26.0
PEAK_LIMIT = 0.99


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of Gaussian white noise with unit RMS (float64)."""
    x = rng.standard_normal(n)
    return _unit_rms(x)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of 1/f (pink) noise with unit RMS (float64).

    Shapes white noise in the frequency domain: amplitude falls as 1/sqrt(f), so power per
    octave is constant. DC is removed so the bed has no offset.
    """
    if n < 2:
        return white_noise(n, rng)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    shape = np.zeros_like(freqs)
    shape[1:] = 1.0 / np.sqrt(freqs[1:])
    return _unit_rms(np.fft.irfft(spectrum * shape, n))


def babble_bed(talkers: list[Audio], seconds: float, rng: np.random.Generator) -> Audio:
    """Multi-talker babble of ``seconds`` length from several recordings of other voices.

    Each talker is brought to unit RMS first so the random gains (not the TTS engine's loudness)
    decide who dominates, then looped from a random offset so talkers never line up. The sum
    is normalised to unit RMS; :func:`add_noise` sets the final level from the SNR.
    """
    n = round(seconds * SAMPLE_RATE)
    tracks = [t.resample(SAMPLE_RATE).samples.astype(np.float64) for t in talkers]
    tracks = [t for t in tracks if len(t) and np.any(t)]
    if not tracks:
        raise ValueError("babble_bed needs at least one non-silent talker recording")
    bed = np.zeros(n)
    gains = 10.0 ** (rng.uniform(-6.0, 0.0, size=len(tracks)) / 20.0)
    for track, gain in zip(tracks, gains, strict=True):
        bed += gain * _loop_excerpt(_unit_rms(track), n, rng)
    return Audio(_unit_rms(bed).astype(np.float32), SAMPLE_RATE)


def active_mask(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Boolean per-sample mask of the frames above :data:`ACTIVE_FLOOR_DBFS`.

    Falls back to the whole signal when no frame qualifies (a very quiet recording still has a
    level to reference).
    """
    n = len(samples)
    frame = max(1, sample_rate * FRAME_MS // 1000)
    starts = np.arange(0, n, frame)
    if n == 0:
        return np.zeros(0, dtype=bool)
    energy = np.add.reduceat(np.square(samples, dtype=np.float64), starts)
    lengths = np.diff(np.append(starts, n))
    mean_sq = energy / lengths
    active = mean_sq > 10.0 ** (ACTIVE_FLOOR_DBFS / 10.0)
    if not active.any():
        return np.ones(n, dtype=bool)
    return np.repeat(active, lengths)


def add_noise(
    audio: Audio,
    noise: NoiseSpec,
    rng: np.random.Generator,
    babble: Audio | None = None,
) -> Audio:
    """Mix ``noise`` into ``audio`` at exactly ``noise.snr_db`` over the active speech.

    The noise is scaled so that its power over the active-speech samples is the speech power
    there divided by the SNR. If the mix then peaks above 0.99 the whole mix (speech and noise
    alike) is scaled down, which keeps the SNR unchanged while preventing clipping.

    For ``babble`` a random excerpt of the given bed is used (looped if the bed is shorter than
    the audio); without a bed a ``ValueError`` is raised. Type ``none`` returns ``audio`` as is.
    """
    if noise.type == "none":
        return audio
    if noise.snr_db is None:
        raise ValueError(f"noise type {noise.type!r} needs snr_db")
    n = len(audio.samples)
    if noise.type == "white":
        bed = white_noise(n, rng)
    elif noise.type == "pink":
        bed = pink_noise(n, rng)
    elif noise.type == "babble":
        if babble is None:
            raise ValueError("noise type 'babble' needs a babble bed (see babble_bed)")
        source = babble.resample(audio.sample_rate).samples.astype(np.float64)
        if not np.any(source):
            raise ValueError("the babble bed is silent")
        bed = _loop_excerpt(source, n, rng)
    else:  # pragma: no cover - NoiseSpec validates the type
        raise ValueError(f"unknown noise type {noise.type!r}")
    if n == 0:
        return audio

    speech = audio.samples.astype(np.float64)
    mask = active_mask(speech, audio.sample_rate)
    speech_power = float(np.mean(np.square(speech[mask])))
    if speech_power == 0.0:
        speech_power = 10.0 ** (NOMINAL_SPEECH_DBFS / 10.0)
    bed_power = float(np.mean(np.square(bed[mask])))
    if bed_power == 0.0:
        # A babble excerpt can be silent exactly where the speech is; measure it whole instead.
        bed_power = float(np.mean(np.square(bed)))
    target = speech_power / 10.0 ** (noise.snr_db / 10.0)
    mix = speech + bed * np.sqrt(target / bed_power)

    peak = float(np.max(np.abs(mix)))
    if peak > PEAK_LIMIT:
        mix *= PEAK_LIMIT / peak
    return Audio(mix.astype(np.float32), audio.sample_rate)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0
    return x / rms if rms > 0.0 else x


def _loop_excerpt(source: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``source`` from a random offset, wrapping around only if too short.

    A long enough source is cut without wrapping so the excerpt has no splice click.
    """
    if len(source) >= n:
        offset = int(rng.integers(0, len(source) - n + 1))
        return source[offset : offset + n]
    offset = int(rng.integers(0, len(source)))
    return source[(offset + np.arange(n)) % len(source)]
