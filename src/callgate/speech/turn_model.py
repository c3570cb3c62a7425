"""A model-based end-of-turn detector: Pipecat's smart-turn v3 ONNX model, run standalone.

Silence alone cannot tell "I'd like to freeze my..." (a pause mid-thought) from "...my debit card."
(done). smart-turn reads the last 8 seconds of a caller's audio and returns the probability that
the turn is complete. The model file ships inside the ``pipecat-ai`` wheel (BSD-2-Clause); only
onnxruntime and numpy run it here, Pipecat itself is never imported.

The features are Whisper's: 80 log-mel bands of a 25 ms / 10 ms STFT over exactly 8 s of 16 kHz
audio, left-padded with zeros, waveform normalised to zero mean and unit variance first.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callgate.errors import MissingModelError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require
from callgate.speech.mel import mel_filters

if TYPE_CHECKING:
    import onnxruntime

WINDOW_S = 8
_N_FFT = 400
_HOP = 160
_N_MELS = 80
_MODEL = "smart-turn-v3.2-cpu.onnx"


@cache
def _filterbank() -> np.ndarray:
    return mel_filters(SAMPLE_RATE, _N_FFT, _N_MELS).astype(np.float64)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Whisper-style features of the last :data:`WINDOW_S` seconds of 16 kHz ``samples``:
    shape (80, 800), roughly in [-1, 1]."""
    n = WINDOW_S * SAMPLE_RATE
    x = np.asarray(samples, dtype=np.float64)[-n:]
    x = np.concatenate([np.zeros(n - len(x)), x])  # the model was trained left-padded
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    half = _N_FFT // 2
    padded = np.pad(x, (half, half), mode="reflect")
    window = np.hanning(_N_FFT + 1)[:-1]  # periodic Hann, as Whisper's STFT uses
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = np.log10(np.maximum(power @ _filterbank().T, 1e-10)).T[:, :-1]
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


def model_path() -> Path:
    """The smart-turn model inside the installed ``pipecat-ai`` wheel."""
    require("end-of-turn model", "smart-turn", "pipecat", "pipecat-ai")
    spec = importlib.util.find_spec("pipecat")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "audio" / "turn" / "smart_turn" / "data" / _MODEL
    if not path.is_file():  # a Pipecat release that moved or renamed the model
        raise MissingModelError(
            f"the smart-turn model is not in pipecat-ai {package_version('pipecat-ai')} "
            f"(looked for {path}); pip install 'pipecat-ai>=1.14' with the model"
        )
    return path


class SmartTurn:
    """P(turn complete) for the audio heard so far. One ONNX session per process, shared."""

    name = "smart-turn"

    def __init__(self) -> None:
        require("end-of-turn model", "smart-turn", "onnxruntime", "onnxruntime")
        self.path = model_path()
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None

    def identity(self) -> str:
        return f"smart-turn-v3.2|pipecat-ai {package_version('pipecat-ai')}"

    def probability(self, audio: Audio) -> float:
        features = log_mel(audio.resample(SAMPLE_RATE).samples)[None, :, :]
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # workers run in parallel: one thread each
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    str(self.path), options, providers=["CPUExecutionProvider"]
                )
            out = self._session.run(None, {"input_features": features})
        return float(np.asarray(out[0]).reshape(-1)[0])


_shared: list[SmartTurn] = []


def smart_turn() -> SmartTurn:
    """The process's smart-turn detector (the model loads on first use)."""
    if not _shared:
        _shared.append(SmartTurn())
    return _shared[0]
