"""`callgate report` and `callgate serve` (issue 5): look at a run, its failures and the gate.

Both only read the store. Bad input is a :class:`UsageError` (one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError


def report(
    run_id: Annotated[
        str | None,
        typer.Argument(help="Run id or prefix (default: the gate's run, else the latest)."),
    ] = None,
    gate: Annotated[
        Path | None,
        typer.Option("--gate", help="gate.json, or the folder `callgate gate --out` wrote."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write; STEM.md goes beside it.")
    ] = Path("report.html"),
    max_calls: Annotated[
        int, typer.Option(help="Failed calls that get a detail section (regressions first).")
    ] = 100,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write a self-contained HTML report of a run (and its gate decision) plus a Markdown summary.

    The page has the decision and its reasons, a per-cohort forest plot of the gate's checks,
    time-to-first-audio distributions, failures by cause, and a detail section per failed call
    (audio, timeline, what was said vs heard, tools expected vs made). The report of an imported
    run (callgate ingest) also charts its production signals per release and cohort. Audio is
    inlined while it fits in 5 MB, else copied into a STEM_audio folder beside it. See
    docs/report.md.

    Example: callgate report e631 --gate gate-out -o report.html
    """
    from callgate.cli.console import out
    from callgate.gate.model import load_gate
    from callgate.report.page import write_report
    from callgate.store.reader import StoreReader

    if max_calls < 0:
        raise UsageError("must be 0 or more", field="--max-calls")
    gate_view = load_gate(gate) if gate is not None else None
    st = StoreReader.open(store)
    if run_id is None and gate_view is not None and gate_view.run_ids:
        known = {r.run_id for r in st.runs()}
        run_id = next((r for r in gate_view.run_ids if r in known), None)
    row = st.run(run_id) if run_id else st.latest_run()
    result = write_report(st, row.run_id, output, gate_view, max_details=max_calls)
    audio = result.audio
    where = {
        "inline": "audio inlined",
        "linked": f"audio in {audio.folder} ({audio.bytes / 1e6:.1f} MB)",
        "none": "no audio",
    }[audio.mode]
    left = f", {result.details_left_out} left out" if result.details_left_out else ""
    out.print(
        f"wrote {result.html} ({result.html_bytes / 1e6:.1f} MB, {where}) and {result.markdown}: "
        f"{result.failures} failed calls ({result.regressed} regressed), "
        f"{result.details} with details{left}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # one line whatever the width: CI logs and scripts grep it
    )


def serve(
    port: Annotated[int, typer.Option(help="Port (0: pick a free one).")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind; the default keeps it on this machine.")
    ] = "127.0.0.1",
    gate: Annotated[
        list[Path],
        typer.Option(
            "--gate",
            help="gate.json files or folders holding them (repeatable; default: the store "
            "folder and the current folder, two levels deep).",
        ),
    ] = [],  # noqa: B006
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Browse runs and comparisons in a local, read-only web UI.

    Filter a run's calls by cohort tag, metric threshold and failure cause; open a call to play
    its caller and agent audio and click its timeline to seek. Prints the URL; Ctrl-C stops.

    Example: callgate serve --port 0
    """
    from callgate.cli.console import out
    from callgate.web.server import make_server, serve_forever

    if not 0 <= port <= 65535:
        raise UsageError("must be between 0 and 65535", field="--port")
    roots = list(gate) or [store, Path.cwd()]
    server = make_server(store, host=host, port=port, gate_roots=roots)
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.print(
            f"warning: listening on {host}: anyone who can reach it can read the store",
            highlight=False,
            markup=False,
        )

    def announce(line: str) -> None:
        out.print(line, highlight=False, markup=False, soft_wrap=True)

    serve_forever(server, announce)


def register(app: typer.Typer) -> None:
    """Add the inspection commands to the ``callgate`` app."""
    app.command()(report)
    app.command()(serve)
