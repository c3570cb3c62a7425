"""The tuning record (schema version 1): what one job read, changed and why.

``callgate tune`` writes one per job as ``tuning.json`` beside the candidate it made. The reads are
also stored in the run store (table ``tuning_reads``), which is what the gate's warning reads.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1


class TuningRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    job: str = Field(description="the job's id in the store: <job name>@<run id>-<hash>")
    kind: str = Field(description="the registered tuning job (asr-hints, end-of-turn, ...)")
    created: float
    suite: str
    run_id: str = Field(description="the run whose calls the job read")
    base_variant: str
    split: Literal["dev"] = "dev"
    calls_read: list[str] = Field(description="every call id the job read, all of split dev")
    scenarios_read: list[str]
    params: dict[str, Any] = Field(default_factory=dict)
    candidate: str | None = Field(None, description="the candidate variant file, if one was made")
    candidate_name: str | None = None
    changes: list[str] = Field(
        default_factory=list, description="dotted paths of the agent block the candidate changes"
    )
    combines: list[str] = Field(
        default_factory=list, description="the jobs a combined candidate takes its changes from"
    )
    rationale: list[str] = Field(default_factory=list, description="why, in a few lines")
    figures: dict[str, Any] = Field(default_factory=dict, description="what the job measured")
    files: list[str] = Field(default_factory=list, description="data files the candidate uses")
