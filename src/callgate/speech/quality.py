"""Non-intrusive speech quality (MOS-style): DNSMOS P.835 and P.808, offline.

The models are the ONNX files inside the ``speechmos`` wheel (MIT, Microsoft's DNS Challenge
models); they are run here directly with onnxruntime, and the one feature they need (the P.808
model's log-mel spectrogram) is computed with numpy. ``speechmos``' own ``dnsmos`` module imports
librosa (about 370 MB, undeclared) and requests for that; this module gives the same numbers
without them (``tests/speech/test_quality.py`` compares with figures speechmos 0.0.1.1 and librosa
0.11 produced on the same audio).

Scoring follows ``speechmos.dnsmos`` step by step, because a DNSMOS number is only comparable with
published ones if it is computed the published way: a clip shorter than the 9.01 s input window is
repeated (doubled until long enough), the models run on 9.01 s windows, and the window scores are
averaged. speechmos steps its windows by 1 s; ``hop_s=1`` reproduces it exactly. Each window costs
the same (about 0.2 s on one core) however short the clip, and a 2 s reply doubled to 16 s has
seven windows, six of them the same speech shifted in time; so the default hop is a whole window
(each stretch of audio scored once): 4.4x fewer windows on demo calls, with per-call values within
0.03 MOS (agent) and 0.08 (caller) of speechmos' (docs/results.md, "Speech quality").
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from callgate.registry import Registry
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require
from callgate.speech.mel import mel_filters

WINDOW_S = 9.01  # speechmos' INPUT_LENGTH: the models' fixed input of 144160 samples
_WINDOW = int(WINDOW_S * SAMPLE_RATE)
# The P.808 model's features: librosa.feature.melspectrogram(n_fft=321, hop_length=160,
# n_mels=120) of the window less its last 160 samples, power_to_db(ref=max), then (x + 40) / 40.
_N_FFT = 321
_MEL_HOP = 160
_N_MELS = 120
_AMIN = 1e-10
_TOP_DB = 80.0
# speechmos' third-order fits from the raw P.835 outputs to MOS (non-personalised model).
_FIT_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_FIT_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])
_FIT_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])


@dataclass(frozen=True)
class QualityScores:
    """DNSMOS on a 1-5 scale: overall (OVRL), speech signal (SIG), background (BAK), P.808."""

    ovrl: float
    sig: float
    bak: float
    p808: float
    windows: int  # 9.01 s model windows averaged

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@runtime_checkable
class QualityModel(Protocol):
    name: str

    def identity(self) -> str:
        """Changes whenever the scores could change (model files, versions, settings)."""
        ...

    def score(self, audio: Audio) -> QualityScores: ...


QUALITY_MODELS: Registry[QualityModel] = Registry("quality model", "callgate.quality")


_MEL = mel_filters(SAMPLE_RATE, _N_FFT, _N_MELS)
# scipy's periodic Hann window ("fftbins=True"), librosa's STFT window.
_HANN = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)


def p808_features(window: np.ndarray) -> np.ndarray:
    """The P.808 model's input for one 9.01 s window: (900, 120) scaled log-mel frames."""
    x = np.asarray(window[:-_MEL_HOP], dtype=np.float32)
    # librosa centres frames with zero padding of n_fft // 2 (pad_mode="constant" since 0.10).
    x = np.pad(x, _N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[::_MEL_HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2
    mel = power.astype(np.float32) @ _MEL.T
    db = 10.0 * np.log10(np.maximum(_AMIN, mel))
    db -= 10.0 * np.log10(max(_AMIN, float(mel.max())))
    db = np.maximum(db, db.max() - _TOP_DB)
    return ((db + 40.0) / 40.0).astype(np.float32)


def windows(samples: np.ndarray, hop_s: float = 1.0) -> np.ndarray:
    """The 9.01 s windows scored for a clip: (n, 144160) float32. ``hop_s=1`` gives exactly
    speechmos' windows."""
    x = np.asarray(samples, dtype=np.float32)
    if len(x) == 0:
        raise ValueError("no audio to score")
    while len(x) < _WINDOW:  # speechmos doubles a short clip until it fills a window
        x = np.append(x, x)
    if hop_s == 1.0:  # speechmos' own count, whose rounding differs slightly from the general one
        n = int(np.floor(len(x) / SAMPLE_RATE) - WINDOW_S) + 1
    else:
        n = int((len(x) - _WINDOW) // round(hop_s * SAMPLE_RATE)) + 1
    hop = round(hop_s * SAMPLE_RATE)
    starts = [i * hop for i in range(n)]
    if starts[-1] + _WINDOW < len(x) and len(samples) > _WINDOW and hop_s != 1.0:
        starts.append(len(x) - _WINDOW)  # a long clip's end is scored too, not dropped
    return np.stack([x[i : i + _WINDOW] for i in starts])


class DNSMOS:
    """DNSMOS P.835 (SIG, BAK, OVRL) and P.808 from the ONNX models in the ``speechmos`` wheel.

    Loaded on first use, once per process (see :func:`get_quality`); ``score`` may be called
    from several threads (onnxruntime sessions are thread-safe).
    """

    name = "dnsmos"

    def __init__(self, threads: int = 1, hop_s: float = WINDOW_S) -> None:
        require("quality model", "dnsmos", "speechmos", "speechmos")
        require("quality model", "dnsmos", "onnxruntime", "onnxruntime")
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if not 0.1 <= hop_s <= WINDOW_S:
            raise ValueError(f"hop_s must be between 0.1 and {WINDOW_S} seconds")
        self.threads = threads
        self.hop_s = float(hop_s)
        self._lock = threading.Lock()
        self._sessions: tuple[Any, Any] | None = None

    def identity(self) -> str:
        return (
            f"dnsmos|speechmos {package_version('speechmos')}|"
            f"onnxruntime {package_version('onnxruntime')}|hop={self.hop_s:g}"
        )

    def load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._sessions is None:
                import onnxruntime as ort

                models = importlib.resources.files("speechmos") / "dnsmos_models"
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                providers = ["CPUExecutionProvider"]
                p835 = ort.InferenceSession(
                    str(models / "sig_bak_ovr.onnx"), opts, providers=providers
                )
                p808 = ort.InferenceSession(
                    str(models / "model_v8.onnx"), opts, providers=providers
                )
                self._sessions = (p835, p808)
            return self._sessions

    def score(self, audio: Audio) -> QualityScores:
        p835, p808 = self.load()
        x = audio.resample(SAMPLE_RATE).samples
        if len(x) and float(np.max(np.abs(x))) > 1.0:  # speechmos refuses such input too
            raise ValueError("samples must lie in [-1, 1]")
        segs = windows(x, self.hop_s)
        raw = p835.run(None, {"input_1": segs})[0].astype(np.float64)
        mels = np.stack([p808_features(s) for s in segs])
        p808_mos = p808.run(None, {"input_1": mels})[0][:, 0].astype(np.float64)
        return QualityScores(
            ovrl=float(np.mean(_FIT_OVR(raw[:, 2]))),
            sig=float(np.mean(_FIT_SIG(raw[:, 0]))),
            bak=float(np.mean(_FIT_BAK(raw[:, 1]))),
            p808=float(np.mean(p808_mos)),
            windows=len(segs),
        )


# One model per process and parameters. A child made by fork must not use the parent's
# onnxruntime thread pools, so the cache starts empty in a new process.
_lock = threading.Lock()
_models: dict[tuple[int, str, str], QualityModel] = {}


def get_quality(name: str = "dnsmos", **params: Any) -> QualityModel:
    key = (os.getpid(), name, repr(sorted(params.items())))
    with _lock:
        model = _models.get(key)
        if model is None:
            if any(k[0] != key[0] for k in _models):
                _models.clear()
            model = QUALITY_MODELS.create(name, **params)
            _models[key] = model
        return model
