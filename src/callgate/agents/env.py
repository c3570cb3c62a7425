"""What one worker process needs to simulate calls: caches, model folder, compute accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callgate.agents.stopwatch import Stopwatch
from callgate.store.blobs import BlobStore
from callgate.store.cache import SpeechCache


@dataclass
class CallEnv:
    blobs: BlobStore
    cache: SpeechCache
    models_dir: Path | None = None
    stopwatch: Stopwatch = field(default_factory=Stopwatch)

    @classmethod
    def at(cls, store_root: Path) -> CallEnv:
        blobs = BlobStore(store_root / "blobs")
        return cls(blobs, SpeechCache(store_root / "cache", blobs), store_root / "cache" / "models")
