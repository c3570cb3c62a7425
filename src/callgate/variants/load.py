"""Load variant files: a path, or a name the suite gives (``variants:`` in suite.yaml).

The ``agent:`` block is validated by the configuration model of its kind, so a typo in a pipeline
setting or in a Pipecat agent's factory is one line naming the file, line and field. A
``file.py:attr`` reference inside the block is made absolute against the variant file, so a worker
in another directory loads the same code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.plugins import absolute_refs
from callgate.scenarios._yaml import Located, first_error, read_yaml, validation_error
from callgate.scenarios.load import LoadedSuite
from callgate.variants.model import AgentSpec, Variant, migrated_path


@dataclass(frozen=True)
class LoadedVariant:
    variant: Variant
    path: Path
    content_hash: str
    agent_field: str = "agent."  # where the agent block's fields stand in the file ("" in v1)


def suite_variants(suite: LoadedSuite | None) -> dict[str, Path]:
    if suite is None:
        return {}
    return {name: suite.path.parent / rel for name, rel in suite.suite.variants.items()}


def resolve_variant_path(name_or_path: str, suite: LoadedSuite | None = None) -> Path:
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    named = suite_variants(suite)
    if name_or_path in named:
        return named[name_or_path]
    where = (
        f" (suite {suite.suite.name} names: {', '.join(sorted(named)) or 'none'})" if suite else ""
    )
    raise UsageError(f"no variant file {name_or_path!r}{where}")


def load_variant(name_or_path: str, suite: LoadedSuite | None = None) -> LoadedVariant:
    path = resolve_variant_path(name_or_path, suite)
    located = read_yaml(path)
    if not isinstance(located.data, dict):
        raise UsageError("a variant file must be a mapping", source=path)
    version = located.data.get("schema_version", 1)
    try:
        variant = Variant.model_validate(located.data)
    except ValidationError as exc:
        raise validation_error(exc, located) from None
    variant = _configure(variant, located, version)
    blob = json.dumps(variant.model_dump(mode="json"), sort_keys=True).encode()
    prefix = "" if version == 1 else "agent."
    return LoadedVariant(variant, path, hashlib.sha256(blob).hexdigest(), prefix)


def _configure(variant: Variant, located: Located, version: Any) -> Variant:
    """Validate the agent block with its kind's model; store it with every default filled in."""
    block = absolute_refs(variant.agent.config(), located.path.parent)
    kind_name = block["kind"]  # a file.py:attr kind is relative to this file too
    try:
        kind = AGENTS.get(kind_name)
    except UsageError as exc:
        raise UsageError(exc.message, source=located.path, field="agent.kind") from None
    try:
        config = kind.configure(block)
    except ValidationError as exc:
        loc = first_error(exc)[0]
        node = migrated_path(loc, version if isinstance(version, int) else 2)
        prefix = node[: len(node) - len(loc)]
        error = validation_error(exc, located, loc_prefix=prefix, node_loc=node)
        if version == 1 and loc in (("policy",), ("tools",)):
            # Version 1 filled these in with callgate's then-bundled domain, which is a plugin now.
            error = UsageError(
                f"{error.message}: version 1 files defaulted to the reference domain's policy "
                "and tool set, which now come from plugins; name them (policy: {name: ...}, "
                "tools: {toolset: ...})",
                source=error.source,
                field=error.field,
            )
        raise error from None
    # The kind as the file names it (a registered name or a reference), the rest as validated.
    dumped = {**config.model_dump(mode="json"), "kind": kind_name}
    return variant.model_copy(update={"agent": AgentSpec.model_validate(dumped)})


def load_variants(items: list[str], suite: LoadedSuite | None = None) -> list[LoadedVariant]:
    loaded = [load_variant(item, suite) for item in items]
    names = [lv.variant.name for lv in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(
            f"two variants share the name {dupes[0]!r}; names must differ", field="name"
        )
    return loaded
