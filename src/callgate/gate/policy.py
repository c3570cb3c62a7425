"""The gate policy: a validated YAML file (schema_version 2), documented in docs/gate.md.

Schema 1 files read as schema 2 (the fields are the same); what changed is what a margin means:
it now bounds what may promote (the loss must be shown smaller than it), so it must be above 0.

Structure is checked on load (pydantic, errors as ``file:line: field: message``); the metrics must
be known to callgate or declare their ``direction``. Whether the policy's metrics and tags exist in
the compared results is checked against them later (:meth:`Policy.bind`), with the same errors.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from callgate.comparison.compare import MetricSpec
from callgate.comparison.sides import Side
from callgate.comparison.slices import GLOBAL, Conds, check_tag, label_of, parse_slice
from callgate.errors import UsageError
from callgate.scenarios._yaml import Located, line_of, read_yaml, validation_error
from callgate.scenarios.model import RESERVED_TAGS

BUNDLED = Path(__file__).parent / "policies"
_TAG = re.compile(r"^[A-Za-z0-9_]+$")


def _slice_spec(value: str) -> str:
    # Stored in canonical spelling so that overrides and required cohorts match built slices.
    return label_of(parse_slice(value))


_ZERO_MARGIN = (
    "must be above 0: a candidate promotes only when its loss is shown to be smaller than the "
    "margin, and no loss at all can never be shown; write the largest loss you accept (e.g. "
    "0.05 for five points of task completion), and block_when: worse to block any significant loss"
)


def _positive_margin(v: float | None) -> float | None:
    if v is not None and v <= 0:
        raise ValueError(_ZERO_MARGIN)
    return v


class MetricOverride(BaseModel):
    """Per-cohort replacement of a metric's thresholds."""

    model_config = ConfigDict(extra="forbid")
    non_inferiority_margin: float | None = None
    required_improvement: float | None = Field(None, ge=0)

    _margin = field_validator("non_inferiority_margin")(_positive_margin)


class CohortRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_calls: int | None = Field(None, ge=1)
    metrics: dict[str, MetricOverride] = Field(default_factory=dict)


class Cohorts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: list[str] = Field(default_factory=list)
    combinations: list[list[str]] = Field(default_factory=list)
    min_calls: int = Field(30, ge=1)
    # A slice below min_calls: "undecided" keeps the gate open until it has the calls; "skip"
    # leaves it untested with a warning (for rare tag values the release does not hinge on).
    below_min_calls: Literal["undecided", "skip"] = "undecided"
    required: list[str] = Field(default_factory=list)
    overrides: dict[str, CohortRule] = Field(default_factory=dict)

    @field_validator("by")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not _TAG.match(tag):
                raise ValueError(f"{tag!r} is not a tag name (letters, digits and _)")
        if len(set(v)) < len(v):
            raise ValueError("a tag is listed twice")
        return v

    @field_validator("combinations")
    @classmethod
    def _combos(cls, v: list[list[str]]) -> list[list[str]]:
        for combo in v:
            if len(combo) < 2 or len(set(combo)) < len(combo):
                raise ValueError("a combination lists two or more different tags")
            cls._tags(combo)
        return v

    @field_validator("required")
    @classmethod
    def _required(cls, v: list[str]) -> list[str]:
        return [_slice_spec(s) for s in v]

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, v: dict[str, CohortRule]) -> dict[str, CohortRule]:
        return {_slice_spec(k): rule for k, rule in v.items()}


class MetricRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    non_inferiority_margin: float | None = None
    # worse_than_margin: block when the loss is shown to exceed the margin; worse: block any
    # loss shown (for guard rails such as safety, where the margin only bounds promotion).
    block_when: Literal["worse_than_margin", "worse"] = "worse_than_margin"
    required_improvement: float | None = Field(None, ge=0)
    improvement_in: list[str] = Field(default_factory=lambda: [GLOBAL])
    statistic: Literal["mean", "p50", "p95", "p99"] = "mean"
    scope: Literal["cohorts", "global"] = "cohorts"
    direction: Literal["higher", "lower"] | None = None
    kind: Literal["binary", "rate", "continuous"] | None = None

    _margin = field_validator("non_inferiority_margin")(_positive_margin)

    @field_validator("improvement_in")
    @classmethod
    def _slices(cls, v: list[str]) -> list[str]:
        return [_slice_spec(s) for s in v]

    @model_validator(mode="after")
    def _something_to_check(self) -> MetricRule:
        if self.non_inferiority_margin is None and self.required_improvement is None:
            raise ValueError("set non_inferiority_margin and/or required_improvement")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1, 2]
    description: str = ""
    alpha: float = Field(0.05, gt=0, lt=0.5)
    multiplicity: Literal["holm", "bh"] = "holm"
    confidence: float = Field(0.95, gt=0.5, lt=1)
    cohorts: Cohorts = Field(default_factory=Cohorts)
    metrics: dict[str, MetricRule] = Field(min_length=1)

    _located: Located | None = PrivateAttr(default=None)
    _specs: dict[str, MetricSpec] = PrivateAttr(default_factory=dict)
    _sha256: str = PrivateAttr(default="")

    # -- errors with file and line -------------------------------------------------------------

    @property
    def source(self) -> str:
        return str(self._located.path) if self._located else "<policy>"

    @property
    def sha256(self) -> str:
        return self._sha256

    def error(self, loc: tuple[str | int, ...], message: str, *, key: bool = False) -> UsageError:
        """An error at ``loc``; ``key``: point at the mapping key's line, not its value's."""
        node = self._located.node if self._located else None
        line = _key_line(node, loc) if key else line_of(node, loc)
        where = f"{self.source}:{line}" if line else self.source
        return UsageError(message, source=where, field=".".join(str(p) for p in loc) or None)

    # -- resolved values -------------------------------------------------------------------------

    @property
    def specs(self) -> dict[str, MetricSpec]:
        return self._specs

    def resolve_metrics(self) -> None:
        """Directions and kinds from callgate's metric table, or declared for your own metrics."""
        from callgate.evaluators.base import metric_index
        from callgate.evaluators.suite import load_evaluators

        load_evaluators()
        known = metric_index()
        for name, rule in self.metrics.items():
            meta = known.get(name)
            if meta is None and rule.direction is None:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.error(
                    ("metrics", name),
                    f"unknown metric {name!r} ({hint}a metric of your own needs "
                    "direction: higher or lower)",
                    key=True,
                )
            if meta is not None and rule.direction not in (None, meta.direction):
                raise self.error(
                    ("metrics", name, "direction"),
                    f"{name} is {meta.direction}-is-better in callgate, not {rule.direction}",
                )
            direction = rule.direction or (meta.direction if meta else "higher")
            kind = rule.kind or (meta.kind if meta else "continuous")
            if kind == "binary" and rule.statistic != "mean":
                raise self.error(
                    ("metrics", name, "statistic"),
                    f"{rule.statistic} of a pass/fail metric means nothing: use mean",
                )
            unit = meta.unit if meta else ""
            self._specs[name] = MetricSpec(name, direction, kind, rule.statistic, unit)
        for key, cohort_rule in self.cohorts.overrides.items():
            for name in cohort_rule.metrics:
                if name not in self.metrics:
                    raise self.error(
                        ("cohorts", "overrides", key, "metrics", name),
                        f"the policy does not check metric {name!r} (add it under metrics)",
                        key=True,
                    )

    def margin(self, metric: str, slice_label: str) -> float | None:
        override = self.cohorts.overrides.get(slice_label)
        if override and metric in override.metrics:
            value = override.metrics[metric].non_inferiority_margin
            if value is not None:
                return value
        return self.metrics[metric].non_inferiority_margin

    def required_improvement(self, metric: str, slice_label: str) -> float | None:
        override = self.cohorts.overrides.get(slice_label)
        if override and metric in override.metrics:
            value = override.metrics[metric].required_improvement
            if value is not None:
                return value
        return self.metrics[metric].required_improvement

    def min_calls(self, slice_label: str) -> int:
        override = self.cohorts.overrides.get(slice_label)
        if override and override.min_calls is not None:
            return override.min_calls
        return self.cohorts.min_calls

    def extra_slices(self) -> list[Conds]:
        """Slices the policy names outside ``by``: required, overridden, improvement slices."""
        named = [*self.cohorts.required, *self.cohorts.overrides]
        named += [s for r in self.metrics.values() for s in r.improvement_in]
        return [parse_slice(s) for s in dict.fromkeys(named)]

    def bind(self, base: Side, cand: Side) -> None:
        """Check the policy against the compared results: metrics present, tags known."""
        for name in self.metrics:
            for side, role in ((base, "baseline"), (cand, "candidate")):
                if name not in side.metrics:
                    raise self.error(
                        ("metrics", name), f"metric {name!r} is not in the {role} results", key=True
                    )
        places: list[tuple[tuple[str | int, ...], str]] = []
        places += [(("cohorts", "by", i), t) for i, t in enumerate(self.cohorts.by)]
        for i, combo in enumerate(self.cohorts.combinations):
            places += [(("cohorts", "combinations", i, j), t) for j, t in enumerate(combo)]
        for i, spec in enumerate(self.cohorts.required):
            places += [(("cohorts", "required", i), t) for t, _ in parse_slice(spec)]
        for key in self.cohorts.overrides:
            places += [(("cohorts", "overrides", key), t) for t, _ in parse_slice(key)]
        for name, rule in self.metrics.items():
            for i, spec in enumerate(rule.improvement_in):
                where: tuple[str | int, ...] = ("metrics", name, "improvement_in", i)
                places += [(where, t) for t, _ in parse_slice(spec)]
        for loc, tag in places:
            try:
                check_tag(tag, base, cand, RESERVED_TAGS)
            except ValueError as exc:
                raise self.error(loc, str(exc)) from None


def _key_line(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    parent = line_of(node, loc[:-1])
    for part in loc[:-1]:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if getattr(k, "value", None) == loc[-1]:
                return int(k.start_mark.line) + 1
    return parent


def policy_path(name: str) -> Path:
    """A policy file, or the name of a bundled policy (``default``)."""
    path = Path(name)
    if path.is_file():
        return path
    bundled = BUNDLED / f"{name}.yaml"
    if "/" not in name and bundled.is_file():
        return bundled
    names = ", ".join(sorted(p.stem for p in BUNDLED.glob("*.yaml")))
    raise UsageError(f"no policy file {name!r} and no bundled policy of that name ({names})")


def load_policy(name: str) -> Policy:
    path = policy_path(name)
    located = read_yaml(path)
    if not isinstance(located.data, dict):
        raise UsageError("a policy is a YAML mapping (schema_version, metrics, ...)", source=path)
    try:
        policy = Policy.model_validate(located.data)
    except ValidationError as exc:
        raise validation_error(exc, located) from None
    policy._located = located
    policy._sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    policy.resolve_metrics()
    return policy
