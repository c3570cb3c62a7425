"""A proposal becomes a candidate variant file: the base agent block with the patch merged in.

The base is the agent block the run stored for the variant (every default filled in), so the
candidate differs from what made the tuning calls by the patch and nothing else. The file is
loaded back through the normal variant loader before anything else is written: a patch the
agent's configuration model refuses is a bug in the job, reported as one line.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.variants.load import load_variant


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` deep-merged in: mappings merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def leaf_paths(patch: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values a patch sets (``asr.hints.vocabulary``)."""
    paths: list[str] = []
    for key, value in patch.items():
        where = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(leaf_paths(value, where + "."))
        else:
            paths.append(where)
    return paths


def write_candidate(
    path: Path, name: str, description: str, base_agent: dict[str, Any], patch: dict[str, Any]
) -> None:
    """Write the candidate variant file and check that it loads."""
    document = {
        "schema_version": 2,
        "name": name,
        "description": description,
        "agent": merge(base_agent, patch),
    }
    text = (
        f"# Written by `callgate tune`: {description}\n"
        "# Changed from the base: "
        + ", ".join(leaf_paths(patch))
        + "\n"
        + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    )
    atomic_write(path, text)
    try:
        load_variant(str(path))
    except UsageError as exc:
        path.unlink(missing_ok=True)
        raise UsageError(f"the tuned candidate does not load: {exc.message}", source=path) from None
