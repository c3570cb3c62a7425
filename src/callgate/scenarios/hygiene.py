"""Dataset hygiene of a suite (``callgate check``): what its cohorts cover, and what leaks.

Four kinds of finding, each a warning about the suite rather than about an agent:

* ``missing_behaviour``: a cohort slice the gate tests (``tag=value``, or ``all``) has no scenario
  with some unhappy-path behaviour (:mod:`callgate.scenarios.behaviours`), so a candidate that
  breaks it there cannot be caught;
* ``small_cohort``: a slice with fewer scenarios or calls than asked for: too few to tell;
* ``near_duplicate``: a holdout scenario that repeats a dev scenario in other words
  (:mod:`callgate.scenarios.near_duplicates`);
* ``holdout_read``: a holdout scenario whose calls a tuning job has read (from the store).

Pure logic: the caller reads the suite and the store, this module only looks at them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callgate.scenarios.behaviours import BEHAVIOURS, Behaviour, behaviours_of
from callgate.scenarios.cohorts import Cell, expand
from callgate.scenarios.model import Suite
from callgate.scenarios.near_duplicates import DEFAULT_SIMILARITY, cross_split_pairs

HYGIENE_SCHEMA_VERSION: Literal[1] = 1
FindingKind = Literal["missing_behaviour", "small_cohort", "near_duplicate", "holdout_read"]
FINDING_KINDS: tuple[FindingKind, ...] = (
    "missing_behaviour",
    "small_cohort",
    "near_duplicate",
    "holdout_read",
)
GLOBAL = "all"  # the slice of every call, as the gate names it


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckSettings(_Record):
    """What the check was asked: the grid and slices, and the thresholds."""

    grid: str = "default"
    by: list[str] = Field(
        default_factory=lambda: ["accent", "noise", "channel", "call_type", "split"],
        description="cohort tags sliced one by one, as a gate policy's cohorts.by",
    )
    combinations: list[list[str]] = Field(default_factory=list)
    repeats: int = Field(1, ge=1, description="calls per scenario and cohort, as `run --repeats`")
    min_scenarios: int = Field(10, ge=0)
    min_calls: int = Field(30, ge=0, description="per variant, as the gate's min_calls")
    similarity: float = Field(DEFAULT_SIMILARITY, gt=0.0, le=1.0)


class Finding(_Record):
    kind: FindingKind
    message: str = Field(description="one line, naming what and where")
    cohort: str | None = Field(None, description="the slice: all, tag=value or tag=value&tag=value")
    tags: dict[str, str] = Field(default_factory=dict, description="the slice's conditions")
    behaviours: list[str] = Field(
        default_factory=list,
        description="missing in the slice; for a pair, those only one of the two scenarios has",
    )
    scenarios: list[str] = Field(default_factory=list, description="dev first for a pair")
    scenario_count: int | None = None
    call_count: int | None = None
    similarity: float | None = Field(None, description="of the caller's turns, 0..1")
    exact: bool | None = Field(None, description="the same caller text, word for word")
    same_tool_path: bool | None = None
    jobs: list[str] = Field(default_factory=list, description="tuning jobs that read the calls")


class CohortCoverage(_Record):
    cohort: str
    tags: dict[str, str] = Field(default_factory=dict)
    scenarios: int
    calls: int = Field(description="per variant")
    behaviours: dict[str, int] = Field(description="scenarios with each behaviour (0: none)")


class ScenarioBehaviours(_Record):
    id: str
    split: str
    behaviours: list[str]


class HygieneReport(_Record):
    """The result of ``callgate check``: written by ``--json``, read back by this model."""

    schema_version: Literal[1] = HYGIENE_SCHEMA_VERSION
    suite: str
    settings: CheckSettings
    behaviours: list[str] = Field(description="the behaviours looked for, in order")
    scenarios: list[ScenarioBehaviours] = Field(description="what each scenario was found to do")
    coverage: list[CohortCoverage]
    findings: list[Finding]
    notes: list[str] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Findings per kind, every kind listed."""
        return {k: sum(f.kind == k for f in self.findings) for k in FINDING_KINDS}


# --------------------------------------------------------------------------- slices


Conds = tuple[tuple[str, str], ...]


def label_of(conds: Conds) -> str:
    """``all``, ``tag=value`` or ``tag=value&tag=value`` (tags in alphabetical order)."""
    return "&".join(f"{t}={v}" for t, v in sorted(conds)) if conds else GLOBAL


def slices(
    cells: Sequence[Cell], by: Sequence[str], combinations: Sequence[Sequence[str]]
) -> dict[Conds, list[Cell]]:
    """The slices the gate would test, each with its cells: the global one, every value of every
    ``by`` tag, and every combination of values of each tag combination that has cells."""
    out: dict[Conds, list[Cell]] = {(): list(cells)}
    for tags in [[t] for t in by] + [list(c) for c in combinations]:
        for cell in cells:
            if all(t in cell.tags for t in tags):
                conds = tuple(sorted((t, cell.tags[t]) for t in tags))
                out.setdefault(conds, []).append(cell)
    return out


# --------------------------------------------------------------------------- the check


def check_suite(
    suite: Suite,
    settings: CheckSettings,
    *,
    tuning_reads: Mapping[str, Sequence[str]] | None = None,
    behaviours: tuple[Behaviour, ...] = BEHAVIOURS,
) -> HygieneReport:
    """Check a suite. ``tuning_reads`` maps a scenario id to the tuning jobs that read its calls
    (any run, any split); None when no store was looked at."""
    found = {sc.id: behaviours_of(sc, suite, behaviours) for sc in suite.scenarios}
    names = [b.name for b in behaviours]
    cells = expand(suite, settings.grid)
    coverage = [
        _coverage(conds, group, found, names, settings.repeats)
        for conds, group in slices(cells, settings.by, settings.combinations).items()
    ]
    findings = [
        *_missing(coverage),
        *_small(coverage, settings),
        *_duplicates(suite, settings.similarity, found),
        *_holdout_reads(suite, tuning_reads or {}),
    ]
    notes = [] if tuning_reads is not None else ["no store: holdout reads by tuning not checked"]
    asked = set(settings.by) | {t for combo in settings.combinations for t in combo}
    for tag in sorted(asked - {t for c in cells for t in c.tags}):
        notes.append(f"no call has the tag {tag!r}: its slices are not checked")
    unused = sorted({sc.id for sc in suite.scenarios} - {c.scenario.id for c in cells})
    if unused:
        notes.append(f"grid {settings.grid!r} runs no call of: {', '.join(unused)}")
    return HygieneReport(
        suite=suite.name,
        settings=settings,
        behaviours=names,
        scenarios=[
            ScenarioBehaviours(id=s.id, split=s.split, behaviours=found[s.id])
            for s in suite.scenarios
        ],
        coverage=coverage,
        findings=findings,
        notes=notes,
    )


def _coverage(
    conds: Conds, cells: list[Cell], found: dict[str, list[str]], names: list[str], repeats: int
) -> CohortCoverage:
    ids = sorted({c.scenario.id for c in cells})
    return CohortCoverage(
        cohort=label_of(conds),
        tags=dict(conds),
        scenarios=len(ids),
        calls=len(cells) * repeats,
        behaviours={b: sum(b in found[i] for i in ids) for b in names},
    )


def _missing(coverage: list[CohortCoverage]) -> list[Finding]:
    out: list[Finding] = []
    for row in coverage:
        missing = [b for b, n in row.behaviours.items() if n == 0]
        if missing:
            out.append(
                Finding(
                    kind="missing_behaviour",
                    message=f"{row.cohort}: no scenario with {', '.join(missing)}",
                    cohort=row.cohort,
                    tags=row.tags,
                    behaviours=missing,
                )
            )
    return out


def _small(coverage: list[CohortCoverage], settings: CheckSettings) -> list[Finding]:
    out: list[Finding] = []
    for row in coverage:
        short = []
        if row.scenarios < settings.min_scenarios:
            short.append(f"{row.scenarios} scenarios (fewer than {settings.min_scenarios})")
        if row.calls < settings.min_calls:
            short.append(f"{row.calls} calls per variant (fewer than {settings.min_calls})")
        if short:
            out.append(
                Finding(
                    kind="small_cohort",
                    message=f"{row.cohort}: {' and '.join(short)}",
                    cohort=row.cohort,
                    tags=row.tags,
                    scenario_count=row.scenarios,
                    call_count=row.calls,
                )
            )
    return out


def _duplicates(
    suite: Suite, threshold: float, found: Mapping[str, Sequence[str]]
) -> list[Finding]:
    out: list[Finding] = []
    for pair in cross_split_pairs(list(suite.scenarios), threshold):
        if pair.exact:
            how = "the same caller text" + (" and tool path" if pair.same_tool_path else "")
        else:
            how = f"caller turns {pair.similarity:.2f} similar, same expected tool path"
        # What tells the two apart, if anything: the reviewer's first question.
        differ = sorted(set(found[pair.dev]) ^ set(found[pair.holdout]))
        how += f"; behaviours differ: {', '.join(differ)}" if differ else "; same behaviours"
        out.append(
            Finding(
                kind="near_duplicate",
                message=f"holdout {pair.holdout} repeats dev {pair.dev}: {how}",
                scenarios=[pair.dev, pair.holdout],
                behaviours=differ,
                similarity=pair.similarity,
                exact=pair.exact,
                same_tool_path=pair.same_tool_path,
            )
        )
    return out


def _holdout_reads(suite: Suite, reads: Mapping[str, Sequence[str]]) -> list[Finding]:
    out: list[Finding] = []
    for sc in suite.scenarios:
        jobs = sorted(set(reads.get(sc.id, ())))
        if sc.split == "holdout" and jobs:
            out.append(
                Finding(
                    kind="holdout_read",
                    message=f"holdout {sc.id} was read by tuning job {', '.join(jobs)}",
                    scenarios=[sc.id],
                    jobs=jobs,
                )
            )
    return out
