"""gate.json as versioned pydantic models: the one model of a gate check, reason and report.

:func:`callgate.gate.decide.decide` builds :class:`GateCheck` and :class:`GateReason` directly;
``gate.json``, ``gate.md``, ``junit.xml`` and the terminal view are written from
:class:`GateReport`, and the HTML report, the web UI and ``callgate report --gate`` read gate.json
back through :func:`load_gate` into the same models, so writer and readers cannot drift apart.

Versioning: ``schema_version`` changes only when a field changes meaning or disappears; fields
added later are ignored by older readers (``extra="ignore"``). A file from a newer schema is
refused with a one-line error, and an older one is migrated in :meth:`GateReport._migrate` before
validation. Schema 1 (two outcomes, no clustering) reads as schema 2: its checks gain no scenario
counts or non-inferiority tests (null), and its decision keeps its meaning.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from callgate.comparison.compare import MetricSpec
from callgate.errors import UsageError

GATE_SCHEMA_VERSION: Literal[2] = 2
# pass: shown within its margin (and improving where required); block: shown harmful; open: not
# settled either way yet (makes the gate UNDECIDED); warn: too small to test and, by the policy,
# not needed (``below_min_calls: skip``).
Status = Literal["pass", "block", "open", "warn"]
ReasonKind = Literal["harm", "required_cohort", "improvement", "undecided"]
Outcome = Literal["PROMOTE", "BLOCK", "UNDECIDED"]


def _finite(x: Any) -> Any:
    # NaN and infinities are not JSON: a number that could not be computed is written as null.
    return None if isinstance(x, float) and not math.isfinite(x) else x


Num = Annotated[float | None, BeforeValidator(_finite)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GateSide(_Model):
    label: str
    origin: str  # run or file
    variant: str
    calls: int
    run_ids: list[str]


class GateCheck(_Model):
    """One metric in one slice, as the gate judged it."""

    # decide() fills the tests' results in step by step: each assignment is validated, so a
    # p-value or MDE that could not be computed (NaN) is stored as null there too.
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    metric: str
    statistic: str
    direction: Literal["higher", "lower"]
    kind: str
    unit: str
    slice: str
    paired: bool
    n: int
    scenarios: int | None = None
    n_baseline: int
    n_candidate: int
    baseline: Num
    candidate: Num
    delta: Num
    ci_low: Num
    ci_high: Num
    method: str
    discordant_worse: int | None
    discordant_better: int | None
    margin: Num
    block_above: Num = None  # the harm a block must exceed: the margin, or 0 (block_when: worse)
    required_improvement: Num
    min_calls: int
    required: bool
    p_worse: Num
    p_adjusted: Num
    p_within: Num = None  # non-inferiority: p for "worse by less than the margin"
    harm_bound: Num = None  # upper one-sided (1 - alpha) confidence bound of the harm
    p_better: Num
    mde: Num
    extra_calls: int | None = None  # open checks: more scored calls estimated to settle it
    verdict: str
    status: Status
    note: str

    def spec(self) -> MetricSpec:
        return MetricSpec(self.metric, self.direction, self.kind, self.statistic, self.unit)

    @property
    def title(self) -> str:
        return self.metric if self.statistic == "mean" else f"{self.metric} ({self.statistic})"


class GateReason(_Model):
    """Why the gate blocks, or what keeps it undecided. ``metric`` is None for a missing cohort
    (no check of its own)."""

    kind: ReasonKind
    slice: str
    message: str
    metric: str | None = None
    delta: Num = None
    ci_low: Num = None
    ci_high: Num = None
    margin: Num = None
    extra_calls: int | None = None


class GateReport(_Model):
    schema_version: Literal[2] = GATE_SCHEMA_VERSION
    decision: Outcome
    policy: str
    policy_sha256: str
    alpha: float
    multiplicity: Literal["holm", "bh"]
    confidence: float
    seed: int
    resamples: int
    baseline: GateSide
    candidate: GateSide
    paired: bool
    pairing: str
    family_size: int
    reasons: list[GateReason]  # why it blocks
    undecided: list[GateReason] = []  # what keeps it open (empty unless UNDECIDED or BLOCK)
    warnings: list[str]
    notes: list[str]
    checks: list[GateCheck]

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        version = data.get("schema_version")
        newer = isinstance(version, int) and version > GATE_SCHEMA_VERSION
        if newer and not isinstance(version, bool):
            raise ValueError(
                f"schema_version {version} is newer than this callgate reads "
                f"({GATE_SCHEMA_VERSION}): upgrade callgate"
            )
        if version == 1:
            # Schema 1 had two outcomes and no open checks; every field it lacks has a default.
            data = {**data, "schema_version": 2}
        return data

    @property
    def promote(self) -> bool:
        return self.decision == "PROMOTE"

    @property
    def exit_code(self) -> int:
        """The CLI's contract with CI: 0 promote, 1 block, 3 undecided."""
        return EXIT_CODES[self.decision]

    @property
    def run_ids(self) -> list[str]:
        """The stored runs the two sides came from (none for results files)."""
        return list(dict.fromkeys([*self.baseline.run_ids, *self.candidate.run_ids]))


class GateLook(_Model):
    """An adaptive run's gate after one batch of calls (``callgate run --until-decided``)."""

    schema_version: Literal[1] = 1
    look: int
    looks: int  # the design's most looks; every test ran at alpha / looks
    level: float  # that alpha / looks
    pairs: int  # scored pairs the gate saw at this look
    calls: int  # calls of the run stored by then (both variants)
    open_slices: list[str]  # where the next batch goes (empty once decided)
    stopped: str  # "" (another look follows), "decided", "budget" or "looks"
    report: GateReport


EXIT_CODES: dict[str, int] = {"PROMOTE": 0, "BLOCK": 1, "UNDECIDED": 3}


def gate_path(path: Path) -> Path:
    """A gate.json, or a folder that holds one (``callgate gate --out DIR``)."""
    return path / "gate.json" if path.is_dir() else path


def load_gate(path: Path) -> GateReport:
    """Read a gate.json (or the folder holding one); any problem is one UsageError line."""
    target = gate_path(path)
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = "no gate.json here (run `callgate gate ... --out DIR`)"
        raise UsageError(msg, source=target) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read ({exc})", source=target) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON (line {exc.lineno}: {exc.msg})", source=target) from None
    if not isinstance(doc, dict):
        raise UsageError("not a gate report (expected a JSON object)", source=target)
    try:
        return GateReport.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        raise UsageError(f"not a gate report: {msg}", source=target, field=where or None) from None
