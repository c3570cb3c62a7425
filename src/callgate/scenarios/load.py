"""Load suite files (with their scenario files) and fan scenarios out over cohort grids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.plugins import absolute_refs
from callgate.registry import Registry
from callgate.scenarios._yaml import Located, read_yaml, validation_error
from callgate.scenarios.model import Scenario, Suite

# Installed suites: a plugin registers a name for the path of its suite file.
SUITES: Registry[Path] = Registry("suite", "callgate.suites")


@dataclass(frozen=True)
class LoadedSuite:
    suite: Suite
    path: Path
    content_hash: str  # of what decides the calls (simulation_hash), so such an edit is a new run


def installed_suites() -> list[str]:
    """Names of the suites installed plugins register (``callgate.suites`` entry points)."""
    return SUITES.names()


def resolve_suite_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "suite.yaml"
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    if name_or_path in SUITES:
        return Path(SUITES.get(name_or_path))
    known = ", ".join(installed_suites()) or "none"
    raise UsageError(f"no suite file or installed suite {name_or_path!r} (installed: {known})")


def load_suite(name_or_path: str) -> LoadedSuite:
    path = resolve_suite_path(name_or_path)
    main = read_yaml(path)
    if not isinstance(main.data, dict):
        raise UsageError("a suite file must be a mapping", source=path)
    data: dict[str, Any] = dict(main.data)
    files = data.pop("scenario_files", []) or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise UsageError("must be a list of file paths", source=path, field="scenario_files")

    # Remember where each scenario came from so an error inside one names its own file and line.
    origins: list[tuple[Located, tuple[int | str, ...]]] = []
    scenarios = data.get("scenarios") or []
    if not isinstance(scenarios, list):
        raise UsageError("must be a list", source=path, field="scenarios")
    origins += [(main, ("scenarios", i)) for i in range(len(scenarios))]
    scenarios = list(scenarios)
    for rel in files:
        part = read_yaml(path.parent / rel)
        items = part.data.get("scenarios") if isinstance(part.data, dict) else None
        if not isinstance(items, list):
            raise UsageError("needs a top-level list 'scenarios'", source=part.path)
        extra = sorted(set(part.data) - {"scenarios"})
        if extra:
            raise UsageError(
                "only 'scenarios' is allowed at the top level", source=part.path, field=extra[0]
            )
        origins += [(part, ("scenarios", i)) for i in range(len(items))]
        scenarios += items
    data["scenarios"] = scenarios
    _absolute_part_names(data, path.parent)

    try:
        suite = Suite.model_validate(data, context={"suite_dir": str(path.parent)})
    except ValidationError as exc:
        raise _locate(exc, main, origins) from None
    return LoadedSuite(suite, path, simulation_hash(suite))


def simulation_hash(suite: Suite) -> str:
    """A hash of what decides the calls themselves. The evaluation rules (but for the callers'
    lexicon, which changes their audio) and the variant names are left out: editing a rule
    re-scores a run's calls, it does not simulate them again."""
    data = suite.model_dump(mode="json", exclude={"variants"})
    data["evaluation"] = {"lexicon": data["evaluation"]["lexicon"]}
    # A re-recorded caller turn is new audio under the same path: its content decides the calls.
    data["recordings"] = {p: _file_hash(p) for p in sorted(_recordings(data))}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _recordings(node: Any) -> set[str]:
    """Paths of every recorded caller turn (``audio`` of an utterance) under ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("say"), str) and isinstance(node.get("audio"), str):
            found.add(node["audio"])
        for value in node.values():
            found |= _recordings(value)
    elif isinstance(node, list):
        for value in node:
            found |= _recordings(value)
    return found


def _file_hash(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _absolute_part_names(data: dict[str, Any], base: Path) -> None:
    """Make ``file.py:attr`` names of evaluators and channel transforms absolute against the suite
    file's folder, so scoring later (from any folder, in any worker) finds the same code."""
    evaluation = data.get("evaluation")
    if isinstance(evaluation, dict) and isinstance(evaluation.get("evaluators"), list):
        for ref in evaluation["evaluators"]:
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                ref["name"] = absolute_refs(ref["name"], base)
    channels = data.get("channels")
    if isinstance(channels, dict):
        for channel in channels.values():
            transforms = channel.get("transforms") if isinstance(channel, dict) else None
            for ref in transforms if isinstance(transforms, list) else []:
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    ref["name"] = absolute_refs(ref["name"], base)


def _locate(
    exc: ValidationError, main: Located, origins: list[tuple[Located, tuple[int | str, ...]]]
) -> UsageError:
    loc = tuple(exc.errors()[0]["loc"])
    if (
        len(loc) >= 2
        and loc[0] == "scenarios"
        and isinstance(loc[1], int)
        and loc[1] < len(origins)
    ):
        located, prefix = origins[loc[1]]
        return validation_error(exc, located, node_loc=prefix + loc[2:])
    return validation_error(exc, main)


def load_scenario(data: dict[str, Any]) -> Scenario:
    """Validate one scenario mapping (for tools that build scenarios in code)."""
    return Scenario.model_validate(data)
