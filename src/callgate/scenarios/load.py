"""Load suite files (with their scenario files) and fan scenarios out over cohort grids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.registry import Registry
from callgate.scenarios._yaml import Located, read_yaml, validation_error
from callgate.scenarios.model import Scenario, Suite

# Installed suites: a plugin registers a name for the path of its suite file.
SUITES: Registry[Path] = Registry("suite", "callgate.suites")


@dataclass(frozen=True)
class LoadedSuite:
    suite: Suite
    path: Path
    content_hash: str  # of the validated suite, so any edit gives a new run id


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

    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise _locate(exc, main, origins) from None
    blob = json.dumps(suite.model_dump(mode="json"), sort_keys=True).encode()
    return LoadedSuite(suite, path, hashlib.sha256(blob).hexdigest())


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
