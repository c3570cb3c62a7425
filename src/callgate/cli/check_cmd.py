"""`callgate check SUITE`: dataset hygiene of a suite, before any call is run.

The logic lives in :mod:`callgate.scenarios.hygiene`; this module reads the inputs (suite, policy,
store), prints the report and decides the exit code: 0 with warnings, 2 under ``--strict`` when
there is any finding (one ``callgate: error:`` line on stderr, like every usage error).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callgate.errors import UsageError
from callgate.scenarios.near_duplicates import DEFAULT_SIMILARITY

if TYPE_CHECKING:
    from rich.console import Console

    from callgate.scenarios.hygiene import HygieneReport

DEFAULT_STORE = Path("callgate-store")


def check(
    suite: Annotated[
        str | None,
        typer.Argument(
            help="Suite file, folder, or the name of an installed suite (default: the only one)."
        ),
    ] = None,
    grid: Annotated[
        str, typer.Option(help="Named cohort grid of the suite that expands scenarios into calls.")
    ] = "default",
    policy: Annotated[
        str,
        typer.Option(help="Gate policy whose cohorts (by, combinations, min_calls) are checked."),
    ] = "default",
    by: Annotated[
        list[str],
        typer.Option(help="Cohort tags to slice by instead of the policy's (--by accent,channel)."),
    ] = [],  # noqa: B006
    min_scenarios: Annotated[
        int, typer.Option(help="A slice with fewer scenarios is a small cohort.")
    ] = 10,
    min_calls: Annotated[
        int | None,
        typer.Option(help="A slice with fewer calls per variant is a small cohort (policy's)."),
    ] = None,
    repeats: Annotated[
        int, typer.Option(help="Calls per scenario and cohort the run will make (run --repeats).")
    ] = 1,
    similarity: Annotated[
        float,
        typer.Option(
            help="Dev and holdout scenarios with the same tool path whose caller turns are at "
            "least this similar (0-1) are near duplicates."
        ),
    ] = DEFAULT_SIMILARITY,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 2 when there is any finding.")
    ] = False,
    json_path: Annotated[
        str | None,
        typer.Option("--json", help="Write the report as JSON to this file, or - for stdout."),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            envvar="CALLGATE_STORE",
            help="Store whose tuning reads are checked (default: ./callgate-store if it exists).",
        ),
    ] = None,
) -> None:
    """Check a suite's dataset hygiene: unhappy paths per cohort, small cohorts, holdout
    scenarios that repeat dev ones, holdout scenarios a tuning job has read.

    The grid expands the scenarios into calls and the policy names the slices the gate will
    test. Each slice should hold every behaviour (interruption, silence, correction,
    angry_or_hurried, out_of_scope, human_request, repair, pause), read from the scenarios'
    structure, and enough scenarios and calls. A holdout scenario whose caller turns paraphrase a
    dev scenario with the same expected tools is a near duplicate, and so is the same caller
    text. Findings are warnings (exit 0); with --strict any finding exits 2. See
    docs/scenarios.md, "Dataset hygiene".

    Example: callgate check suite.yaml --grid full --strict

    Example: callgate check suite.yaml --json - | jq '.findings[].message'
    """
    from callgate.cli.console import out
    from callgate.cli.steps import default_suite
    from callgate.gate.policy import load_policy
    from callgate.scenarios.hygiene import CheckSettings, check_suite
    from callgate.scenarios.load import load_suite

    if not 0 < similarity <= 1:
        raise UsageError("must be above 0 and at most 1", field="--similarity")
    for name, value in (("--min-scenarios", min_scenarios), ("--min-calls", min_calls)):
        if value is not None and value < 0:
            raise UsageError("must be 0 or more", field=name)
    if repeats < 1:
        raise UsageError("must be at least 1", field="--repeats")
    loaded = load_suite(default_suite(suite))
    cohorts = load_policy(policy).cohorts
    tags = [t.strip() for item in by for t in item.split(",") if t.strip()]
    settings = CheckSettings(
        grid=grid,
        by=tags or cohorts.by,
        combinations=[] if tags else cohorts.combinations,
        repeats=repeats,
        min_scenarios=min_scenarios,
        min_calls=cohorts.min_calls if min_calls is None else min_calls,
        similarity=similarity,
    )
    reads = _tuning_reads(store, loaded.suite.name)
    report = check_suite(loaded.suite, settings, tuning_reads=reads)
    text = report.model_dump_json(indent=2) + "\n"
    if json_path == "-":
        typer.echo(text, nl=False)  # stdout holds the JSON alone
    else:
        if json_path is not None:
            _write(Path(json_path), text)  # first: a summary always has its file behind it
        print_report(out, report)
        if json_path is not None:
            out.print(f"wrote {json_path}", highlight=False, markup=False)
    if strict and report.findings:
        counts = ", ".join(f"{n} {k}" for k, n in report.counts().items() if n)
        raise UsageError(f"{len(report.findings)} findings ({counts})", field="--strict")


def _tuning_reads(store: Path | None, suite: str) -> dict[str, list[str]] | None:
    """Tuning reads by scenario; None when no store was named and the default one is absent."""
    from callgate.store.reader import StoreReader

    root = DEFAULT_STORE if store is None else store
    if store is None and not (root / "callgate.db").is_file():
        return None
    with StoreReader.open(root) as reader:
        return reader.suite_tuning_reads(suite)


def _write(path: Path, text: str) -> None:
    from callgate.files import atomic_write

    try:
        atomic_write(path, text)  # an interrupted write leaves the old file or none
    except OSError as exc:
        raise UsageError(f"cannot write ({exc.strerror})", source=path) from None


def print_report(console: Console, report: HygieneReport) -> None:
    """Counts per kind, one line per finding, then the coverage table."""
    from rich.table import Table

    s = report.settings
    everything = next(c for c in report.coverage if c.cohort == "all")
    console.print(
        f"suite {report.suite}, grid {s.grid}: {len(report.scenarios)} scenarios, "
        f"{everything.calls} calls per variant, {len(report.coverage)} cohort slices",
        highlight=False,
        markup=False,
    )
    counts = ", ".join(f"{k} {n}" for k, n in report.counts().items())
    console.print(f"{len(report.findings)} findings: {counts}", highlight=False, markup=False)
    for f in report.findings:
        console.print(f"{f.kind}: {f.message}", highlight=False, markup=False, soft_wrap=True)
    table = Table(title="scenarios with each behaviour, per cohort slice", title_justify="left")
    for col in ("cohort", "scenarios", "calls", *report.behaviours):
        table.add_column(col, justify="left" if col == "cohort" else "right")
    for row in report.coverage:
        cells = [str(n) if n else "[red]-[/]" for n in row.behaviours.values()]
        table.add_row(row.cohort, str(row.scenarios), str(row.calls), *cells)
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `callgate check` to the ``callgate`` app."""
    app.command()(check)
