"""`callgate export-training`: fine-tuning data from stored calls (docs/training-data.md).

Reads the store, writes an export folder, then notes the exported calls as tuning reads so the
gate can warn when a candidate is judged on calls it was trained on. Bad input is a
:class:`UsageError` (one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError

if TYPE_CHECKING:
    from callgate.training.records import ExportSummary

SPLITS = ("dev", "holdout", "all")
JOB = "export-training"


def export_training(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder to write: new, empty, or holding an earlier export."
        ),
    ],
    runs: Annotated[
        list[str] | None,
        typer.Argument(metavar="RUN", help="Run ids or prefixes (default: the latest run)."),
    ] = None,
    variant: Annotated[str | None, typer.Option(help="Only this variant's calls.")] = None,
    split: Annotated[
        str,
        typer.Option(help="dev, holdout or all. Holdout calls are left out unless asked for."),
    ] = "dev",
    fmt: Annotated[str, typer.Option("--format", "-f", help="chat, asr, or both: chat,asr.")] = (
        "chat,asr"
    ),
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep personal data (the suite's personal_data rules and the built-in ones are "
            "applied by default) and utterances whose audio holds it.",
        ),
    ] = False,
    system: Annotated[
        str | None,
        typer.Option(help="System message of every chat example: text, or a file holding it."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write fine-tuning data from runs and imported calls: chat-completions JSONL with tool
    calls and per-message weights (a failed call keeps its wrong step with weight 0 and ends in
    its correction, weight 1), and a NeMo ASR manifest with WAV clips of what the agent heard.

    Personal data is redacted under the suite's evaluation rules plus built-in ones. Prints the
    examples per behaviour and per cohort, what was redacted or skipped, and the files written.

    Example: callgate export-training --out training-data --split dev --format chat,asr
    """
    from callgate.store.reader import StoreReader
    from callgate.training.chat import DEFAULT_SYSTEM
    from callgate.training.export import FORMATS, ExportRequest
    from callgate.training.export import export_training as run_export

    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} (dev, holdout or all)", field="--split")
    formats = [f.strip() for f in fmt.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format {fmt!r} (chat, asr or chat,asr)", field="--format")
    text = DEFAULT_SYSTEM if system is None else _system_text(system)
    with StoreReader.open(store) as st:
        run_ids = [st.run(r).run_id for r in runs] if runs else [st.latest_run().run_id]
        request = ExportRequest(
            out=out_dir,
            run_ids=list(dict.fromkeys(run_ids)),
            variant=variant,
            split=split,  # type: ignore[arg-type]  # checked above
            formats=tuple(dict.fromkeys(formats)),  # type: ignore[arg-type]
            redact=not no_redact,
            system=text,
        )
        result = run_export(st, request)
    recorded = _record_reads(store, out_dir, result.calls)
    print_export(result.summary, out_dir, recorded)


def print_export(summary: ExportSummary, out_dir: Path, recorded: str | None) -> None:
    """Counts per behaviour and per cohort, redaction, what was skipped, the files written."""
    from rich.table import Table

    from callgate.cli.console import err, out

    s = summary
    out.print(
        f"{s.examples} chat examples and {s.asr_lines} ASR clips from {s.calls_read} calls of "
        f"{', '.join(s.runs)} (split {s.split}) in {out_dir}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if s.by_behaviour:
        table = Table(title="chat examples by behaviour", title_justify="left")
        for col in ("behaviour", "examples", "turns"):
            table.add_column(col, justify="left" if col == "behaviour" else "right")
        for name, count in s.by_behaviour.items():
            table.add_row(name, str(count.examples), str(count.turns) if count.turns else "-")
        out.print(table)
    if s.by_cohort:
        table = Table(title="by cohort", title_justify="left")
        for col in ("cohort", "chat examples", "failed, corrected", "ASR clips"):
            table.add_column(col, justify="left" if col == "cohort" else "right")
        for cohort, c in s.by_cohort.items():
            table.add_row(
                cohort.replace("|", " "), str(c.examples), str(c.failed_corrected), str(c.asr_lines)
            )
        out.print(table)
    r = s.redaction
    if not r.enabled:
        line = "redaction: off (--no-redact)"
    elif r.spans:
        spans = ", ".join(f"{name} {n}" for name, n in r.spans.items())
        line = (
            f"redacted: {sum(r.spans.values())} spans in {r.fields} text fields of {r.calls} "
            f"calls ({spans})"
        )
    else:
        line = f"redacted: nothing matched the {len(r.rules)} rules"
    out.print(line, highlight=False, markup=False, soft_wrap=True)
    if s.skipped:
        table = Table(title="left out", title_justify="left")
        table.add_column("why")
        table.add_column("calls or turns", justify="right")
        for why, n in s.skipped.items():
            table.add_row(why, str(n))
        out.print(table)
    files = [f"{f.path} ({f.lines})" for f in s.files.values()] + ["export.json"]
    out.print("wrote " + ", ".join(files), highlight=False, markup=False, soft_wrap=True)
    if recorded:
        out.print(f"exported calls {recorded}", highlight=False, markup=False, soft_wrap=True)
    for warning in s.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)


def _system_text(value: str) -> str:
    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else value
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read it ({exc})", source=path, field="--system") from None
    if not text.strip():
        raise UsageError("is empty", field="--system")
    return text.strip()


def _record_reads(store: Path, out_dir: Path, calls: list[tuple[str, str, str]]) -> str | None:
    """Note every exported call as read by a tuning job; why not, when the store is read-only."""
    from callgate.store.db import Store

    if not calls:
        return None
    try:
        st = Store.open(store, create=False)
    except UsageError as exc:
        return f"not recorded as tuning reads ({exc.message})"
    job = f"{JOB}:{out_dir.name}"
    with st, st.transaction():
        for run_id, call_id, _ in calls:
            st.record_tuning_read(run_id, call_id, job)
    return f"recorded as tuning reads of job {job!r}: the gate warns when it judges on them"


def register(app: typer.Typer) -> None:
    """Add `export-training` to the ``callgate`` app."""
    app.command("export-training")(export_training)
