"""Mel filterbanks shared by DNSMOS and smart-turn."""

from __future__ import annotations

import numpy as np
import pytest

from callgate.speech.mel import hz_to_mel, mel_filters, mel_to_hz


def test_mel_scale_and_filters_are_librosa_slaney() -> None:
    assert hz_to_mel(np.array(1000.0)) == pytest.approx(15.0)  # the linear part ends at 1 kHz
    assert hz_to_mel(np.array(6400.0)) == pytest.approx(42.0)  # 27 mels per log(6.4) above it
    hz = np.array([0.0, 300.0, 1000.0, 3400.0, 8000.0])
    assert mel_to_hz(hz_to_mel(hz)) == pytest.approx(hz)
    fb = mel_filters(16000, 321, 120)  # DNSMOS P.808's bands
    assert fb.shape == (120, 161)
    assert (fb >= 0).all() and (fb.sum(axis=1) > 0).all()  # every band covers some FFT bin
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # bands rise in frequency
