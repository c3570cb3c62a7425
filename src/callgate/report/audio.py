"""How the report carries call audio: inside the HTML while small, else in a folder beside it.

The rule (docs/report.md): when the audio of every detailed call, base64-encoded, fits in the
inline budget (5 MB), it is inlined as ``data:`` URIs and the report is one file. Otherwise every
track is copied into ``<report-stem>_audio/`` next to the HTML and linked relatively (keep the
folder with the file), until the linked budget (15 MB) is spent; later calls keep their detail
section without players, so the whole artifact stays under 20 MB. All or nothing inline: a report
is either self-contained or needs its folder, never half of each.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from callgate.store.blobs import BlobStore
from callgate.traces.model import AudioRef

INLINE_BUDGET = 5_000_000
LINKED_BUDGET = 15_000_000


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


@dataclass
class AudioPlan:
    mode: Literal["inline", "linked", "none"]
    blobs: BlobStore
    folder: Path | None = None  # linked mode: where the files go
    href_prefix: str = ""  # linked mode: the folder relative to the HTML, URL-quoted
    allowed: set[str] = field(default_factory=set)  # shas that get a player
    bytes: int = 0  # inline: base64 characters in the HTML; linked: bytes copied
    left_out: int = 0  # tracks without a player (missing blob or over the linked budget)
    _cache: dict[str, str] = field(default_factory=dict)

    def src(self, ref: AudioRef) -> str | None:
        if ref.sha256 not in self.allowed:
            return None
        if self.mode == "inline":
            if ref.sha256 not in self._cache:
                data = self.blobs.path(ref.sha256).read_bytes()
                self._cache[ref.sha256] = "data:audio/flac;base64," + base64.b64encode(data).decode(
                    "ascii"
                )
            return self._cache[ref.sha256]
        if self.mode == "linked":
            return f"{self.href_prefix}/{ref.sha256}.flac"
        return None

    def copy_files(self) -> None:
        """Linked mode: put the allowed tracks in the folder (skipping ones already there)."""
        if self.mode != "linked" or self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for sha in sorted(self.allowed):
            src, dst = self.blobs.path(sha), self.folder / f"{sha}.flac"
            if not dst.exists() or dst.stat().st_size != src.stat().st_size:
                shutil.copyfile(src, dst)


def plan_audio(
    blobs: BlobStore,
    calls: Iterable[list[AudioRef | None]],
    html_path: Path,
    *,
    inline_budget: int = INLINE_BUDGET,
    linked_budget: int = LINKED_BUDGET,
) -> AudioPlan:
    """Choose inline or linked for the tracks of the detailed calls (in the order shown)."""
    per_call: list[list[tuple[str, int]]] = []
    missing = 0
    for refs in calls:
        tracks = []
        for ref in refs:
            if ref is None:
                continue
            path = blobs.path(ref.sha256)
            if not path.is_file():
                missing += 1
                continue
            tracks.append((ref.sha256, path.stat().st_size))
        per_call.append(tracks)
    # Inline size counts every use: a track shown in two sections is in the HTML twice.
    inline = sum(_b64_len(size) for tracks in per_call for _, size in tracks)
    if not any(per_call):
        return AudioPlan("none", blobs, left_out=missing)
    if inline <= inline_budget:
        allowed = {sha for tracks in per_call for sha, _ in tracks}
        return AudioPlan("inline", blobs, allowed=allowed, bytes=inline, left_out=missing)
    folder = html_path.parent / f"{html_path.stem}_audio"
    plan = AudioPlan(
        "linked", blobs, folder=folder, href_prefix=quote(folder.name), left_out=missing
    )
    sizes: dict[str, int] = {}
    for tracks in per_call:
        new = {sha: size for sha, size in tracks if sha not in sizes}
        if sum(sizes.values()) + sum(new.values()) > linked_budget:
            plan.left_out += len(tracks)  # no new files for a call over the budget
            continue
        sizes.update(new)
    plan.allowed = set(sizes)
    plan.bytes = sum(sizes.values())
    return plan
