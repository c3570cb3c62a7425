"""The DNSMOS engine: speechmos' windows and features, reproduced without librosa."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from callgate.errors import MissingModelError
from callgate.speech.audio import Audio
from callgate.speech.quality import (
    DNSMOS,
    WINDOW_S,
    get_quality,
    p808_features,
    windows,
)


def voiced(seconds: float, seed: int) -> np.ndarray:
    """A speech-like test signal: a harmonic voice with a gliding pitch, syllable-rate bursts and
    a little seeded noise (numpy only, so speechmos could be run on the very same samples)."""
    rng = np.random.default_rng(seed)
    sr = 16000
    t = np.arange(round(seconds * sr)) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    x = voice * envelope + 0.01 * rng.standard_normal(len(t))
    return np.asarray(0.3 * x / np.max(np.abs(x)), dtype=np.float32)


# speechmos 0.0.1.1 (`dnsmos.run(voiced(seconds, seed), 16000)`, with librosa 0.11.0, numpy 2.4,
# onnxruntime 1.32) on these signals: (seconds, seed) -> OVRL, SIG, BAK, P.808, windows.
SPEECHMOS = {
    (1.7, 1): (2.172607, 2.707915, 3.237728, 2.411069, 4),
    (4.0, 2): (2.200231, 2.718236, 3.147544, 2.360953, 7),
    (10.5, 3): (2.277142, 2.778382, 3.268035, 2.363879, 1),
}


@pytest.mark.parametrize(
    ("seconds", "hop_s", "expected"),
    [
        (1.0, 1.0, 7),  # doubled to 16 s: seven 9.01 s windows a second apart, as speechmos
        (2.0, 1.0, 7),
        (3.0, 1.0, 3),  # doubled to 12 s
        (5.0, 1.0, 1),  # doubled to 10 s
        (9.5, 1.0, 1),
        (12.0, 1.0, 3),
        (2.0, WINDOW_S, 1),  # one window per stretch of audio
        (12.0, WINDOW_S, 2),  # a window from the start and one ending at the clip's end
        (20.0, WINDOW_S, 3),
    ],
)
def test_windows_follow_speechmos(seconds: float, hop_s: float, expected: int) -> None:
    segs = windows(np.ones(round(seconds * 16000), dtype=np.float32), hop_s)
    assert segs.shape == (expected, 144160)


def test_the_end_of_a_long_clip_is_scored() -> None:
    x = np.arange(15 * 16000, dtype=np.float32)
    last = windows(x, WINDOW_S)[-1]
    assert last[-1] == x[-1]


def test_a_short_clip_is_repeated_not_padded() -> None:
    x = np.arange(1, 16001, dtype=np.float32) / 16000  # 1 s ramp
    seg = windows(x, WINDOW_S)[0]
    assert seg[16000] == x[0] and seg[32000 + 5] == x[5]  # the ramp again, no silence
    with pytest.raises(ValueError, match="no audio"):
        windows(np.zeros(0, dtype=np.float32))


def test_p808_features_have_the_models_shape_and_scale() -> None:
    feats = p808_features(windows(voiced(3.0, 4))[0])
    assert feats.shape == (900, 120) and feats.dtype == np.float32
    assert feats.max() == pytest.approx(1.0)  # the loudest bin is 0 dB: (0 + 40) / 40
    assert feats.min() >= -1.0 - 1e-6  # 80 dB below it at most


def test_a_missing_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "speechmos" else real(name, *a),
    )
    with pytest.raises(MissingModelError, match=r"pip install speechmos"):
        DNSMOS()


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="hop_s"):
        DNSMOS(hop_s=0.0)
    with pytest.raises(ValueError, match="threads"):
        DNSMOS(threads=0)


def test_one_model_per_process_and_parameters() -> None:
    assert get_quality("dnsmos") is get_quality("dnsmos")
    assert get_quality("dnsmos", hop_s=1.0) is not get_quality("dnsmos")
    assert "hop=1|" in get_quality("dnsmos", hop_s=1.0).identity() + "|"


@pytest.mark.slow
@pytest.mark.parametrize(("seconds", "seed"), sorted(SPEECHMOS))
def test_scores_equal_speechmos_on_the_same_audio(seconds: float, seed: int) -> None:
    ovrl, sig, bak, p808, n = SPEECHMOS[(seconds, seed)]
    got = get_quality("dnsmos", hop_s=1.0).score(Audio(voiced(seconds, seed)))
    assert got.windows == n
    # float32 features and ONNX outputs: agreement to 1e-5 MOS (measured: 5e-7 at most).
    assert (got.ovrl, got.sig, got.bak, got.p808) == pytest.approx((ovrl, sig, bak, p808), abs=1e-5)


@pytest.mark.slow
def test_one_window_per_stretch_stays_close_to_speechmos() -> None:
    """The default hop scores each stretch once; on these signals it stays within 0.1 MOS."""
    for (seconds, seed), (ovrl, sig, *_rest) in SPEECHMOS.items():
        got = get_quality("dnsmos").score(Audio(voiced(seconds, seed)))
        # One window, and a second ending at the clip's end when it is longer than a window.
        assert got.windows == (2 if seconds > WINDOW_S else 1)
        assert abs(got.ovrl - ovrl) < 0.1 and abs(got.sig - sig) < 0.1


@pytest.mark.slow
def test_one_model_scores_from_several_threads() -> None:
    """A worker may score calls on threads: the first use loads the sessions once, under a lock,
    and concurrent scores equal a lone one."""
    from concurrent.futures import ThreadPoolExecutor

    model = DNSMOS(hop_s=4.5)  # a fresh instance: its sessions load inside the threads
    clip = Audio(voiced(2.0, 7))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(model.score, [clip] * 4))
    sessions = model.load()
    assert all(r == results[0] for r in results)
    assert model.load() is sessions and results[0] == model.score(clip)
