"""A suite's ``evaluation:`` block: which evaluators run, and the domain rules they apply.

The core evaluators know no domain. Which tools need a spoken confirmation, which tool hands the
caller to a human, what a confirmation question sounds like, which personal data must never be
spoken, which words must be echoed exactly: all of it is the suite's to say. The rules become the
evaluators' parameters, so they are recorded in the evaluation spec and a changed rule re-scores.
See ``docs/scenarios.md#evaluation``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluatorRef(_Strict):
    """One evaluator to run: a registered name (or ``module:attr``) and explicit parameters."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class ClaimRule(_Strict):
    """A sentence by which the agent says a tool's action happened ("I've cancelled it"), and the
    values it reports that the tool's result must hold (an amount it reads out)."""

    pattern: str = Field(
        min_length=1, description="regular expression (any case) of a reply claiming the tool ran"
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        description="named group of the pattern -> dotted path into the tool's result that must "
        "hold the same value",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_pattern(cls, data: Any) -> Any:
        return {"pattern": data} if isinstance(data, str) else data

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _groups_exist(self) -> ClaimRule:
        missing = sorted(set(self.values) - set(re.compile(self.pattern).groupindex))
        if missing:
            raise ValueError(f"values: {missing[0]!r} is not a named group of the pattern")
        return self


class EvaluationRules(_Strict):
    evaluators: list[EvaluatorRef] | None = Field(
        None, description="evaluators to run, in order; default: every built-in evaluator"
    )
    sensitive_tools: list[str] = Field(
        default_factory=list, description="tools that need a confirmed 'yes' before each call"
    )
    handoff_tools: list[str] = Field(
        default_factory=list, description="tools that hand the caller to a human"
    )
    confirmation_phrases: list[str] = Field(
        default_factory=list, description="phrases of an agent reply that asks for confirmation"
    )
    handoff_phrases: list[str] = Field(
        default_factory=list, description="phrases of an agent reply that announces a hand-off"
    )
    personal_data: dict[str, str] = Field(
        default_factory=dict,
        description="regular expressions, by name, of data the agent must never speak or log",
    )
    personal_data_tools: list[str] = Field(
        default_factory=list,
        description="tools that may receive personal data (an identity check takes a birth date)",
    )
    forbidden_claims: list[str] = Field(
        default_factory=list, description="promises the agent must never make"
    )
    claims: dict[str, list[ClaimRule]] = Field(
        default_factory=dict,
        description="tool -> sentences that claim it ran: said without a successful call of the "
        "tool before or in that turn is a say-do violation",
    )
    refusal_phrases: list[str] = Field(
        default_factory=list,
        description="phrases of a caller utterance that refuse, besides a leading 'no'",
    )
    entities: list[str] = Field(
        default_factory=list,
        description="domain words a response must echo exactly (text-mode task completion)",
    )
    intents: dict[str, list[str]] = Field(
        default_factory=dict,
        description="intent -> words that express it (text-mode task completion)",
    )
    spellings: dict[str, str] = Field(
        default_factory=dict,
        description="text normalisation: word or phrase -> the form both sides are compared in "
        "(ASR and TTS accuracy), applied after callgate's own normalisation",
    )
    lexicon: dict[str, str] = Field(
        default_factory=dict,
        description="respellings the caller's TTS voices need to say domain terms right",
    )

    @field_validator("personal_data")
    @classmethod
    def _patterns_compile(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{name}: not a regular expression: {exc}") from None
        return patterns

    def rule_values(self) -> dict[str, Any]:
        """Every rule by name (the evaluators' parameter names), without the evaluator list."""
        return self.model_dump(exclude={"evaluators", "lexicon"})
