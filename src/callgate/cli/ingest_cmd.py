"""`callgate ingest`: production call logs into the store as imported calls (docs/production.md).

Every problem in the logs is printed as its own line (``file:line: what is wrong``) on stderr; with
``--on-error fail`` (the default) nothing is imported when there is any, and the exit code is 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError

ON_ERROR = ("fail", "skip")


def ingest(
    logs: Annotated[
        list[Path],
        typer.Argument(
            metavar="LOG...",
            help="Call-log files: callgate JSONL, OTLP JSON traces, LiveKit session reports.",
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl, otel, livekit, another registered format or module:attr; auto sniffs "
            "each file.",
        ),
    ] = "auto",
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="fail: import nothing when any line is bad (exit 2); skip: import the rest. "
            "Every bad line is printed either way.",
        ),
    ] = "fail",
    suite: Annotated[
        str | None,
        typer.Option(
            help="Score with this suite's evaluation rules (personal data, forbidden claims, "
            "hand-off phrases); default: the built-in rules."
        ),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Import production calls: one run per import, every call scored on the way in.

    Each call becomes a trace with source "imported" whose variant is the release that answered
    it and whose cohort tags are the log's tags, so `callgate signals` shows them per release and
    cohort, `callgate gate RUN:RELEASE_A RUN:RELEASE_B` compares two releases (unpaired), and
    `callgate mine` turns the failed ones into scenarios. Audio a log names is copied into the
    store. Ingesting a file again, or another export that repeats some calls, stores each call
    once. Evaluators that need what the caller really said report "not scored" unless the log
    gives a reference transcript.

    Example: callgate ingest calls-2026-11.jsonl

    Example: callgate ingest traces.json --format otel --on-error skip
    """
    from callgate.cli.console import err, out
    from callgate.cli.progress import Bar
    from callgate.production.ingest.batch import ingest as run_ingest
    from callgate.store.db import Store

    if on_error not in ON_ERROR:
        raise UsageError(f"{on_error!r}: use fail or skip", field="--on-error")
    rules = None
    if suite is not None:
        from callgate.scenarios.load import load_suite

        rules = load_suite(suite).suite.evaluation
    target = Store.open(store)
    with Bar(err, "storing and scoring") as bar:
        outcome = run_ingest(
            target,
            list(logs),
            fmt=fmt,
            on_error="skip" if on_error == "skip" else "fail",
            rules=rules,
            on_file=lambda path, name: err.print(
                f"reading {path} ({name})", highlight=False, markup=False
            ),
            on_start=bar.start,
            on_call=bar.advance,
        )
    for problem in outcome.problems:
        err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    if outcome.problems and on_error == "fail":
        n = len(outcome.problems)
        raise UsageError(
            f"nothing imported: {n} bad {'entry' if n == 1 else 'entries'} (listed above); "
            "fix them, or import the rest with --on-error skip"
        )
    skipped = f", {len(outcome.problems)} bad entries skipped" if outcome.problems else ""
    known = f", {outcome.known} already in the store" if outcome.known else ""
    if outcome.run_id is None:
        out.print(f"read {outcome.read} calls: nothing new{known}{skipped}", highlight=False)
        return
    releases = ", ".join(f"{r} {n}" for r, n in sorted(outcome.releases.items()))
    out.print(
        f"run {outcome.run_id}: imported {outcome.added} of {outcome.read} calls "
        f"(releases: {releases}){known}{skipped}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `ingest` to the ``callgate`` app."""
    app.command("ingest")(ingest)
