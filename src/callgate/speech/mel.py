"""Mel filterbanks (Slaney's scale and area normalisation, as librosa and Whisper make them),
shared by the models that read log-mel features: DNSMOS and smart-turn."""

from __future__ import annotations

import numpy as np


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear to 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    sp = 200.0 / 3
    log_step = np.log(6.4) / 27.0
    return np.where(
        f >= 1000.0, 1000.0 / sp + np.log(np.maximum(f, 1e-9) / 1000.0) / log_step, f / sp
    )


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    sp = 200.0 / 3
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 1000.0 / sp, 1000.0 * np.exp(log_step * (m - 1000.0 / sp)), sp * m)


def mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular, Slaney-normalised mel filters (n_mels, n_fft // 2 + 1), as librosa makes them."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)
