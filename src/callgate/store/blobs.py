"""Content-addressed audio blobs: ``blobs/ab/<sha256>.flac``.

Blobs are named by the hash of their 16-bit PCM, so writing the same audio twice is harmless and a
worker killed mid-write leaves at most a temporary file (writes go to a temp name, then rename).
"""

from __future__ import annotations

from pathlib import Path

from callgate.files import atomic_write
from callgate.speech.audio import Audio, read_audio, to_flac_bytes
from callgate.traces.model import AudioRef


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.flac"

    def put(self, audio: Audio) -> AudioRef:
        sha = audio.content_hash()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, to_flac_bytes(audio))
        return AudioRef(
            sha256=sha, sample_rate=audio.sample_rate, duration_s=round(audio.duration, 6)
        )

    def get(self, ref: AudioRef | str) -> Audio:
        sha = ref if isinstance(ref, str) else ref.sha256
        return read_audio(self.path(sha))

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()
