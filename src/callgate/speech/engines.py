"""Loading the offline speech engines, and a per-process cache of them.

Importing an engine module registers its name and nothing more: models load on an engine's first
use (or its ``load()``), so a CLI that only lists engines stays fast. Constructing an engine checks
that its packages are installed and raises :class:`MissingModelError` naming the pip package.

Worker processes call :func:`get_tts` / :func:`get_asr` / :func:`get_vad` so each model loads once
per process however many calls need it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
from typing import Any

from callgate.errors import MissingModelError
from callgate.speech.protocols import ASR_ENGINES, TTS_ENGINES, VAD, VADS, ASREngine, TTSEngine


def load_engines() -> None:
    """Load every engine plugin (built-in or not); cheap, since no model is loaded yet."""
    for registry in (TTS_ENGINES, ASR_ENGINES, VADS):
        registry.load_all()


def has_voice(tts: TTSEngine, voice: str) -> bool:
    # Engines that accept more voices than they list (espeak's "+variant" forms) say so.
    has = getattr(tts, "has_voice", None)
    return bool(has(voice)) if callable(has) else voice in tts.voices()


def require(kind: str, engine: str, module: str, package: str) -> None:
    """Fail with a one-line fix if ``module`` (from pip ``package``) is not installed.

    Uses ``find_spec`` rather than an import so that checking stays cheap for heavy packages.
    """
    if not installed(module):
        raise MissingModelError(
            f"{kind} {engine!r} needs the package {package!r} (pip install {package})"
        )


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class EngineCache:
    """Engines built once per process, keyed by kind, name and parameters.

    The cache remembers the process id: a child created by ``fork`` must not reuse engines whose
    native thread pools (onnxruntime, CTranslate2) belong to the parent, so it starts empty.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._engines: dict[tuple[str, str, str], Any] = {}

    def _get(self, kind: str, name: str, params: dict[str, Any]) -> Any:
        key = (kind, name, repr(sorted(params.items())))
        with self._lock:
            if self._pid != os.getpid():
                self._engines.clear()
                self._pid = os.getpid()
            engine = self._engines.get(key)
            if engine is None:
                registry: Any = {"tts": TTS_ENGINES, "asr": ASR_ENGINES, "vad": VADS}[kind]
                engine = registry.create(name, **params)
                self._engines[key] = engine
            return engine

    def get_tts(self, name: str, **params: Any) -> TTSEngine:
        engine: TTSEngine = self._get("tts", name, params)
        return engine

    def get_asr(self, name: str, **params: Any) -> ASREngine:
        engine: ASREngine = self._get("asr", name, params)
        return engine

    def get_vad(self, name: str, **params: Any) -> VAD:
        engine: VAD = self._get("vad", name, params)
        return engine

    def clear(self) -> None:
        with self._lock:
            self._engines.clear()


engine_cache = EngineCache()
get_tts = engine_cache.get_tts
get_asr = engine_cache.get_asr
get_vad = engine_cache.get_vad
