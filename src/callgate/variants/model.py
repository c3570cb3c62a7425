"""The variant file format (schema version 2): one agent under test.

A baseline and a candidate are two variant files. A variant names an agent kind and carries that
kind's own configuration in its ``agent:`` block; the kind's configuration model (registered with
the kind, see :mod:`callgate.agents.voice`) validates it when the file is loaded. Version 1 files
(the pipeline's fields at the top level) are migrated on load. See ``docs/variants.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 2

# Version 1 kept the pipeline agent's configuration at the top level of the file.
_V1_PIPELINE_KEYS = ("asr", "tts", "vad", "turn", "policy", "tools", "routing", "prices")


class AgentSpec(BaseModel):
    """``agent: {kind: ..., <the kind's own fields>}``; the kind's model validates the rest."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str = Field("pipeline", min_length=1, description="a registered agent kind")

    def config(self) -> dict[str, Any]:
        """The whole block as the kind's configuration model reads it (``kind`` included)."""
        return {"kind": self.kind, **(self.model_extra or {})}


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[2] = 2
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    agent: AgentSpec = AgentSpec()

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("schema_version", 1) != 1:
            return data
        data = dict(data)
        old_agent = data.pop("agent", None) or {}
        agent: dict[str, Any] = {"kind": old_agent.get("kind", "pipeline")}
        agent.update(old_agent.get("params") or {})
        for key in _V1_PIPELINE_KEYS:
            if key in data:
                agent[key] = data.pop(key)
        data["agent"] = agent
        data["schema_version"] = SCHEMA_VERSION
        return data


def migrated_path(loc: tuple[int | str, ...], version: int) -> tuple[int | str, ...]:
    """Where an error inside the agent's configuration stands in a file of ``version``."""
    if version == 1 and loc and loc[0] in _V1_PIPELINE_KEYS:
        return loc
    return ("agent", *loc)
