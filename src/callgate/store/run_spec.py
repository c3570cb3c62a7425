"""The run spec: what a run was asked to do, stored with it and read back through one model.

The run id is a hash of the spec's identity (suite and variant content hashes, grid, filters,
repeats, seed, plugin modules), so the same command resumes the same run. The suite and the
variants travel inside the spec, so replays (attribution) need no source files; they are kept as
plain JSON here because the store sits below the packages that model them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# 1: a plain dict without ``schema_version`` or ``plugins`` (callgate before this model).
# 2: no ``imported`` block. 3: this model.
RUN_SPEC_SCHEMA_VERSION: Literal[3] = 3


class PluginsUsed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: list[str] = Field(
        default_factory=list, description="--plugin modules every worker imports again"
    )
    parts: dict[str, str] = Field(
        default_factory=dict,
        description="'kind:name' -> where it came from (distribution and version, or reference)",
    )


class LogFile(BaseModel):
    """One call-log file of an import batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="as given to `callgate ingest`, made absolute")
    sha256: str = Field(description="of the file's bytes: the same file is the same batch")
    format: str
    calls: int = Field(description="calls read from it")
    problems: int = Field(0, description="lines or spans reported and skipped")


class ImportBatch(BaseModel):
    """What an import run (`callgate ingest`) read: its run id derives from the files' content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    files: list[LogFile]
    on_error: Literal["skip", "fail"] = "fail"
    rules: dict[str, Any] | None = Field(
        None, description="the evaluation rules it was scored with (`--suite`); None: built-in"
    )
    calls_sha256: str = Field(
        "", description="of the sorted ids of the calls new to the store at import (empty: unknown)"
    )


class RunSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[3] = RUN_SPEC_SCHEMA_VERSION
    suite: str = ""
    suite_path: str = ""
    suite_hash: str = ""
    variants: dict[str, str] = Field(
        default_factory=dict, description="variant name -> content hash"
    )
    variant_specs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    grid: str = ""
    cohort: list[str] = Field(default_factory=list)
    scenarios: list[str] = Field(default_factory=list)
    split: str = "all"
    repeats: int = 1
    seed: int = 0
    suite_json: dict[str, Any] | None = Field(
        None, description="the whole validated suite; None for imported or hand-made runs"
    )
    plugins: PluginsUsed = PluginsUsed()
    imported: ImportBatch | None = Field(None, description="set on runs of imported calls")

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema_version" not in data:
            data = dict(data)
            # Version 1 listed the variants by name only in some hand-made runs.
            if isinstance(data.get("variants"), list):
                data["variants"] = {name: "" for name in data["variants"]}
            data["schema_version"] = RUN_SPEC_SCHEMA_VERSION
        elif isinstance(data, dict) and data.get("schema_version") == 2:
            data = {**data, "schema_version": RUN_SPEC_SCHEMA_VERSION}  # 2 -> 3: nothing to move
        return data

    def run_id(self) -> str:
        """Derived from what selects the calls, not from what is already covered by a hash."""
        # The record's schema version is left out too: a newer callgate resumes an older run.
        derived = {"schema_version", "suite_path", "variant_specs", "suite_json", "plugins"}
        identity = self.model_dump(mode="json", exclude=derived | {"imported"})
        identity["plugin_modules"] = list(self.plugins.modules)
        if self.imported is not None:  # absent from simulated runs, so their ids do not change
            identity["imported"] = sorted(f.sha256 for f in self.imported.files)
            if self.imported.calls_sha256:
                # The same files imported again after calls were left out (a missing audio file,
                # since added) store those calls in a run of their own, not into the first run,
                # whose scores a different --suite would otherwise replace.
                identity["imported"].append(self.imported.calls_sha256)
        blob = json.dumps(identity, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]
