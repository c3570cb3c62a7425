"""Speech results cached by content hash.

The baseline and the candidate hear the same caller audio: it is synthesised once, and an ASR result
is reused whenever the same audio meets the same engine identity and hints. Cache entries are small
JSON files written atomically, so concurrent worker processes can share them without locks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from callgate.files import atomic_write
from callgate.speech.audio import Audio
from callgate.speech.protocols import ASREngine, ASRHints, ASRResult, TTSEngine, WordTiming
from callgate.store.blobs import BlobStore
from callgate.traces.model import AudioRef


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class SpeechCache:
    # False: never read an entry, compute everything again (benchmarks/simulation.py's naive run).
    reuse = True

    def __init__(self, root: Path, blobs: BlobStore) -> None:
        self.root = root
        self.blobs = blobs

    def _entry(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def _read(self, path: Path) -> dict | None:
        if not self.reuse:
            return None
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _write(self, path: Path, payload: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(payload, sort_keys=True).encode())

    def synthesize(
        self, engine: TTSEngine, text: str, voice: str, rate: float
    ) -> tuple[Audio, AudioRef, bool]:
        """Return (audio, blob ref, cache hit). Audio is quantised as stored, so hits and misses
        give the same samples."""
        key = _key("tts", engine.identity(), voice, f"{rate:.4f}", text)
        entry = self._entry("tts", key)
        hit = self._read(entry)
        if hit is not None and self.blobs.has(hit["sha256"]):
            ref = AudioRef(**hit)
            return self.blobs.get(ref), ref, True
        audio = engine.synthesize(text, voice, rate).quantised()
        ref = self.blobs.put(audio)
        self._write(entry, ref.model_dump())
        return audio, ref, False

    def transcribe(
        self, engine: ASREngine, audio: Audio, hints: ASRHints
    ) -> tuple[ASRResult, bool]:
        key = _key("asr", engine.identity(), hints.key(), audio.content_hash())
        entry = self._entry("asr", key)
        hit = self._read(entry)
        if hit is not None:
            words = tuple(WordTiming(**w) for w in hit.get("words", []))
            return ASRResult(hit["text"], hit["confidence"], words), True
        result = engine.transcribe(audio, hints)
        self._write(entry, asdict(result))
        return result, False

    def remember(
        self, kind: str, key: tuple[str, ...], compute: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """(``compute()``'s JSON result, cache hit), cached under ``kind`` and ``key``: the
        engine's identity and the content hash of its input, so a changed model never hits."""
        entry = self._entry(kind, _key(kind, *key))
        hit = self._read(entry)
        if hit is not None:
            return hit, True
        value = compute()
        self._write(entry, value)
        return value, False
