"""The export folder: JSONL files renamed into place together, and what an earlier export left.

An export writes into a new or empty folder, or over an earlier export (a folder holding
``export.json``). JSONL files are written beside their targets and renamed into place only when
every call is done; a failed or interrupted export of a new folder removes the clips it wrote, and
a finished one over an earlier export removes that export's files it did not write again.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import IO

from callgate.errors import UsageError

CHAT_FILE = "chat.jsonl"
META_FILE = "chat-meta.jsonl"
ASR_FILE = "asr_manifest.jsonl"
SUMMARY_FILE = "export.json"
AUDIO_DIR = "audio"


class Staged:
    """JSONL files written beside their targets, renamed into place together by :meth:`commit`."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.lines: Counter[str] = Counter()
        self._files: dict[str, tuple[Path, IO[str]]] = {}
        for name in names:
            try:
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            except OSError as exc:
                self.abort()
                raise UsageError(f"cannot write here ({exc.strerror})", source=folder) from None
            self._files[name] = (Path(tmp), os.fdopen(fd, "w", encoding="utf-8"))

    def write(self, name: str, line: str) -> None:
        self._files[name][1].write(line + "\n")
        self.lines[name] += 1

    def commit(self) -> None:
        mask = os.umask(0)
        os.umask(mask)
        for name, (tmp, fh) in self._files.items():
            fh.close()
            os.chmod(tmp, 0o666 & ~mask)
            os.replace(tmp, self.folder / name)
        self._files = {}

    def abort(self) -> None:
        for tmp, fh in self._files.values():
            fh.close()
            tmp.unlink(missing_ok=True)
        self._files = {}


def prepare(folder: Path) -> bool:
    """Make sure ``folder`` can take the export; True when it holds an earlier one."""
    if folder.exists() and not folder.is_dir():
        raise UsageError("not a folder", source=folder, field="--out")
    previous = (folder / SUMMARY_FILE).is_file()
    if folder.is_dir() and not previous and any(folder.iterdir()):
        raise UsageError(
            "not empty and holds no earlier export (export.json): give a new or empty folder",
            source=folder,
            field="--out",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write here ({exc.strerror})", source=folder) from None
    return previous


def remove_clips(folder: Path, clips: set[str], created: bool) -> None:
    """Undo a failed first export: its clips, and the folders it made if they are empty."""
    for name in clips:
        (folder / AUDIO_DIR / name).unlink(missing_ok=True)
    for empty in (folder / AUDIO_DIR, folder) if created else (folder / AUDIO_DIR,):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()


def remove_stale(folder: Path, written: set[str], clips: set[str]) -> None:
    """Files of the earlier export in this folder that this one did not write again."""
    for name in (CHAT_FILE, META_FILE, ASR_FILE):
        if name not in written:
            (folder / name).unlink(missing_ok=True)
    audio = folder / AUDIO_DIR
    if audio.is_dir():
        for wav in audio.glob("*.wav"):
            if wav.name not in clips:
                wav.unlink()
