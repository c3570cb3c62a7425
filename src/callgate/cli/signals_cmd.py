"""`callgate signals`: how imported production calls fare per release and cohort, with intervals.

The numbers come from :mod:`callgate.production.signals.compute`; this module reads the
options, writes the files asked for (--json, --csv, --html) and prints one table per release and
cohort. Bad input is a :class:`UsageError` (one line, exit 2).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from callgate.production.signals.model import SignalGroup, SignalsReport

BUCKETS = ("day", "week")
CSV_COLUMNS = (
    "release", "bucket", "cohort", "group_calls", "signal", "value", "low", "high", "n", "turns",
    "status", "note",
)  # fmt: skip


def signals(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN",
            help="Imported runs, by id or prefix (default: every imported run in the store).",
        ),
    ] = None,
    by: Annotated[
        list[str],
        typer.Option(
            "--by",
            help="Cohort tag to slice by, repeatable (--by accent --by channel, or "
            "--by accent,channel); tag+tag slices by each combination (--by accent+channel). "
            "Default: every tag of the calls, one at a time.",
        ),
    ] = [],  # noqa: B006
    since: Annotated[
        str | None,
        typer.Option(help="Only calls started at or after this date or time (UTC unless given)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Only calls started before this date or time (2026-11-08 excludes it)."),
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option(help="day or week: also a trend per time bucket, across releases."),
    ] = None,
    low_confidence: Annotated[
        float,
        typer.Option(help="A recognised turn whose ASR confidence is below this is low (0-1)."),
    ] = 0.6,
    min_calls: Annotated[
        int, typer.Option(help="A signal on fewer calls is shown with its n but flagged.")
    ] = 10,
    confidence: Annotated[float, typer.Option(help="Interval level, between 0 and 1.")] = 0.95,
    resamples: Annotated[
        int, typer.Option(help="Cluster-bootstrap resamples (cost per completed call).")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed: same seed, same intervals.")] = 0,
    json_path: Annotated[
        str | None,
        typer.Option("--json", help="Write every group as JSON to this file, or - for stdout."),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write one row per group and signal to this CSV file."),
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option("--html", help="Write a standalone HTML page with the signals charts."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Production signals of imported calls (`callgate ingest`), per release and cohort: eval-fail
    rate, time to first audio p50/p95/p99, transfer rate, repeated-correction rate,
    low-confidence-turn rate and cost per completed call, each with its interval and n.

    Releases are listed in order of their first call, so reading a table left to right is the
    trend. Rates over calls use a Wilson interval; whatever counts turns is resampled (or its
    variance estimated) call by call, since the turns of one call move together. A signal on
    fewer than --min-calls calls is flagged "few"; one with nothing to compute it from says
    "not scored". Definitions: docs/production.md, "callgate signals".

    Example: callgate signals --by accent --by channel --since 2026-11-01

    Example: callgate signals --by accent+channel --bucket week --html signals.html
    """
    from callgate.cli.console import out
    from callgate.production.signals.compute import compute_signals
    from callgate.production.signals.model import SignalsSettings
    from callgate.store.reader import StoreReader

    settings = SignalsSettings(
        runs=list(runs or []),
        by=[t.strip() for item in by for t in item.split(",") if t.strip()] or None,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        bucket=_bucket(bucket),
        low_confidence=_within(low_confidence, "--low-confidence", 0.0, 1.0, upper_open=False),
        min_calls=_at_least(min_calls, "--min-calls", 1),
        confidence=_within(confidence, "--confidence", 0.0, 1.0, upper_open=True),
        resamples=_at_least(resamples, "--resamples", 100),
        seed=seed,
    )
    if settings.since and settings.until and settings.since >= settings.until:
        raise UsageError("must be before --until", field="--since")
    with StoreReader.open(store) as st:
        report = compute_signals(st, settings)
    if report.calls == 0:
        raise UsageError(f"no imported call started {_window(report)} in the runs read")
    text = report.model_dump_json(indent=2) + "\n"
    written = []
    if json_path not in (None, "-"):
        _write(Path(json_path), text)
        written.append(json_path)
    if csv_path is not None:
        _write(csv_path, csv_text(report))
        written.append(str(csv_path))
    if html_path is not None:
        from callgate.report.signals import signals_page

        _write(html_path, signals_page(report))
        written.append(str(html_path))
    if json_path == "-":
        typer.echo(text, nl=False)  # stdout holds the JSON alone
        return
    print_signals(out, report)
    if written:
        out.print(f"wrote {', '.join(written)}", highlight=False, markup=False, soft_wrap=True)


def _when(text: str | None, field: str) -> datetime | None:
    from callgate.production.signals.compute import parse_time

    return None if text is None else parse_time(text, field)


def _bucket(value: str | None) -> str | None:
    if value is not None and value not in BUCKETS:
        raise UsageError(f"{value!r}: use day or week", field="--bucket")
    return value


def _within(value: float, field: str, lo: float, hi: float, *, upper_open: bool) -> float:
    if not (lo < value < hi or (not upper_open and value == hi)):
        limit = f"below {hi:g}" if upper_open else f"at most {hi:g}"
        raise UsageError(f"must be above {lo:g} and {limit}", field=field)
    return value


def _at_least(value: int, field: str, least: int) -> int:
    if value < least:
        raise UsageError(f"must be at least {least}", field=field)
    return value


def _write(path: Path, text: str) -> None:
    from callgate.files import atomic_write

    try:
        atomic_write(path, text)  # an interrupted write leaves the old file or none
    except OSError as exc:
        raise UsageError(f"cannot write ({exc.strerror})", source=path) from None


def _window(report: SignalsReport) -> str:
    s = report.settings
    since = f"at or after {s.since:%Y-%m-%d %H:%M}" if s.since else ""
    until = f"before {s.until:%Y-%m-%d %H:%M}" if s.until else ""
    if not (since or until):
        return "at any time"
    return " and ".join(p for p in (since, until) if p) + " UTC"


def csv_text(report: SignalsReport) -> str:
    """One row per group and signal: releases first (in order), then time buckets."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in [*report.groups, *report.buckets]:
        for name, v in g.signals.items():
            writer.writerow(
                [g.release or "", g.bucket or "", g.cohort, g.calls, name]
                + ["" if x is None else repr(x) for x in (v.value, v.low, v.high)]
                + [v.n, "" if v.turns is None else v.turns, v.status, v.note]
            )
    return buf.getvalue()


def _n(g_n: int, turns: int | None) -> str:
    return f"{turns} turns / {g_n} calls" if turns is not None else f"{g_n} calls"


def print_signals(console: Console, report: SignalsReport) -> None:
    """The window and releases, the trend of every signal, then a table per release and cohort."""
    from rich.table import Table

    s = report.settings
    console.print(
        f"{report.calls} imported calls in {', '.join(s.runs)}, started {_window(report)}; "
        f"{s.confidence:.0%} intervals; low confidence: below {s.low_confidence:g}; "
        f"flagged: fewer than {s.min_calls} calls",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    trend = Table(title="per release, all calls")
    trend.title_justify = "left"
    trend.add_column("signal")
    for r in report.releases:
        trend.add_column(f"{r.release}\n{r.calls} calls from {r.first_started_at:%Y-%m-%d}")
    for info in report.signals:
        cells = []
        for r in report.releases:
            g = report.group(r.release)
            v = g.signals[info.name] if g else None
            cells.append("-" if v is None else f"{info.show(v.value)} ({info.show_interval(v)})")
        trend.add_row(info.title, *cells)
    console.print(trend)
    for g in report.groups:
        console.print(_group_table(report, g, f"{g.release} · {g.cohort} · {g.calls} calls"))
    if report.buckets:
        _print_buckets(console, report)


def _group_table(report: SignalsReport, g: SignalGroup, title: str) -> object:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("signal", "value", f"{report.settings.confidence:.0%} interval", "n", "note"):
        table.add_column(col, justify="right" if col in ("value", "n") else "left")
    for info in report.signals:
        v = g.signals[info.name]
        note: str = "" if v.status == "ok" else v.status
        if v.note:
            note = f"{note}: {v.note}" if note else v.note
        style = "" if v.status == "ok" else "yellow" if v.status == "few" else "dim"
        table.add_row(
            info.title,
            info.show(v.value),
            info.show_interval(v),
            _n(v.n, v.turns),
            note,
            style=style or None,
        )
    return table


def _print_buckets(console: Console, report: SignalsReport) -> None:
    from rich.table import Table

    table = Table(
        title=f"per {report.settings.bucket}, all calls (every cohort is in --json, --csv, --html)",
        title_justify="left",
    )
    table.add_column(report.settings.bucket or "bucket")
    table.add_column("calls", justify="right")
    for info in report.signals:
        table.add_column(info.title, justify="right")
    for g in report.buckets:
        if g.cohort == "all":
            cells = [info.show(g.signals[info.name].value) for info in report.signals]
            table.add_row(g.bucket or "", str(g.calls), *cells)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `callgate signals` to the ``callgate`` app."""
    app.command("signals")(signals)
