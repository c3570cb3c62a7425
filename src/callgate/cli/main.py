"""``callgate``: simulate calls, then (in later commands) score, compare, gate and report.

Every user error is one line on stderr and exit code 2 (a usage error shows the usage line); an
unexpected error is one line naming the file that holds its traceback, exit code 4 (never 1,
which means BLOCK); a run interrupted with Ctrl-C keeps every finished call and resumes when the
same command is run again.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from callgate.cli.console import err, out
from callgate.cli.options import DEFAULT_STORE, AddressOpt, ExecutorOpt, StoreOpt
from callgate.cli.steps import default_suite, demo_decision, do_evaluate, do_run
from callgate.errors import UsageError
from callgate.plugins import canonical_plugin, load_plugin_modules

app = typer.Typer(
    help=(
        "callgate tells whether a tuned voice agent (the candidate) is really better than the one "
        "in "
        "production (the baseline): it simulates calls with real speech over degraded phone lines, "
        "cohort by cohort, offline and reproducibly.\n\n"
        "Start with `callgate demo`, then `callgate calls` to read what happened."
    ),
    no_args_is_help=True,
    # Markdown mode reflows docstring paragraphs to the terminal width.
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _plugins(
    plugin: Annotated[
        list[str],
        typer.Option(
            "--plugin",
            help=(
                "Import a module (or a .py file) that registers parts: an agent, policy, tool set, "
                "engine, evaluator or executor. Repeatable, and accepted after any command too. "
                "Also read from CALLGATE_PLUGINS (comma-separated). Installed plugins need no "
                "flag: they register through entry points."
            ),
        ),
    ] = [],  # noqa: B006
) -> None:
    # Loaded by main() before dispatch, so that it works in any position on the command line.
    load_plugin_modules([canonical_plugin(p) for p in plugin])


@app.command()
def run(
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant",
            "-v",
            help=(
                "Variant file, or a name the suite gives (its `variants:`); repeat per variant: "
                "-v baseline -v candidate."
            ),
        ),
    ],
    suite: Annotated[
        str | None,
        typer.Option(
            help="Suite file, folder, or the name of an installed suite (default: the only one)."
        ),
    ] = None,
    grid: Annotated[
        str, typer.Option(help="Named cohort grid of the suite (e.g. default, full).")
    ] = "default",
    cohort: Annotated[
        list[str],
        typer.Option(
            "--cohort",
            "-c",
            help="Only cohorts with tag=value[,value] (repeatable, ANDed): -c accent=scottish.",
        ),
    ] = [],  # noqa: B006
    scenario: Annotated[
        list[str], typer.Option("--scenario", "-s", help="Only these scenario ids (repeatable).")
    ] = [],  # noqa: B006
    split: Annotated[str, typer.Option(help="dev, holdout or all.")] = "all",
    repeats: Annotated[
        int, typer.Option(help="Calls per scenario and cohort (different seeds).")
    ] = 1,
    seed: Annotated[
        int, typer.Option(help="Run seed: same seed and inputs give identical traces.")
    ] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Score the calls when done.")
    ] = True,
    until_decided: Annotated[
        bool,
        typer.Option(
            "--until-decided",
            help="Run baseline and candidate in batches of --repeats, gate after each batch and "
            "spend new calls only on the cohorts still open; stop at a decision.",
        ),
    ] = False,
    policy: Annotated[
        str, typer.Option(help="With --until-decided: the gate policy (file or bundled name).")
    ] = "default",
    looks: Annotated[
        int,
        typer.Option(help="With --until-decided: most batches; every test runs at alpha/looks."),
    ] = 4,
    max_calls: Annotated[
        int | None,
        typer.Option(help="With --until-decided: stop before a batch would pass this many calls."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="With --until-decided: write gate.json, gate.md, junit.xml."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Simulate every (scenario, cohort, variant, repeat) call of a suite and store the traces.

    The run id is derived from the inputs: running the same command again resumes the run and
    stores each missing call exactly once. Exit 0, or 1 when calls failed.

    With --until-decided the run is adaptive: batch after batch, each followed by the gate, new
    calls only where a check is still open, until PROMOTE or BLOCK, --looks batches or
    --max-calls. It exits like `callgate gate`: 0 PROMOTE, 1 BLOCK, 3 UNDECIDED (failed calls
    are warned about and retried on the next run of the same command). See docs/gate.md.

    Example: callgate run -v baseline -v candidate --grid default -c channel=phone
    Example: callgate run -v baseline -v candidate --until-decided --looks 4 --out gate-out
    Example: callgate run -v baseline -v candidate --executor ray --address 10.0.0.5:6379
    """
    from callgate.execution.executors import create_executor

    create_executor(executor, workers, address)  # a bad choice fails before anything is written
    if until_decided:
        from callgate.cli.until_decided import run_until_decided

        done = run_until_decided(
            store,
            default_suite(suite),
            variant,
            grid,
            cohort,
            scenario,
            split,
            repeats,
            seed,
            workers,
            executor,
            policy,
            looks,
            max_calls,
            out_dir,
            address=address,
        )
        raise SystemExit(done.code)
    adaptive_only = {
        "--policy": policy != "default",
        "--looks": looks != 4,
        "--max-calls": max_calls is not None,
        "--out": out_dir is not None,
    }
    for name, given in adaptive_only.items():
        if given:
            raise UsageError("only with --until-decided", field=name)
    raise typer.Exit(
        do_run(
            store,
            default_suite(suite),
            variant,
            grid,
            cohort,
            scenario,
            split,
            repeats,
            seed,
            workers,
            executor,
            evaluate,
            address=address,
        ).code
    )


@app.command()
def demo(
    suite: Annotated[
        str | None,
        typer.Option(
            help="An installed suite with baseline and candidate variants (default: the only one)."
        ),
    ] = None,
    grid: Annotated[
        str, typer.Option(help="default (minutes on 2 cores) or full (every cohort).")
    ] = "default",
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Run a suite for its baseline and candidate variants, score every call, gate the candidate
    against the baseline (default policy) and write the HTML report.

    The quick start installs callgate's reference domain (plugins/) and runs its suite.

    The gate's decision is shown, not enforced: the demo exits 0 whether it says PROMOTE or BLOCK.
    """
    t0 = time.perf_counter()
    done = do_run(
        store,
        default_suite(suite),
        ["baseline", "candidate"],
        grid,
        [],
        [],
        "all",
        1,
        seed,
        workers,
        "local",
    )
    if done.code == 0:
        # The suite's variant files name the agents; the gate compares them as the run stored them.
        demo_decision(store, done.run_id, *done.variants)
    out.print(
        f"demo finished in {time.perf_counter() - t0:.1f} s. Next: callgate calls --store {store}; "
        f"callgate serve --store {store}",
        highlight=False,
    )
    raise SystemExit(done.code)


@app.command()
def runs(store: StoreOpt = DEFAULT_STORE) -> None:
    """List the runs in the store."""
    from rich.table import Table

    from callgate.store.reader import StoreReader

    st = StoreReader.open(store)
    table = Table()
    for col in ("run", "suite", "variants", "grid", "seed", "stored", "state", "wall s"):
        table.add_column(col)
    from callgate.gate.model import GateLook

    for r in st.runs():
        state = "complete" if r.finished else "partial"
        looks = st.looks(r.run_id)
        if looks and not r.finished:
            # An adaptive run stops short of its plan on purpose: say how it ended.
            last = GateLook.model_validate_json(looks[-1])
            state = f"adaptive: {last.report.decision} at look {last.look}"
        table.add_row(
            r.run_id,
            r.spec.suite,
            ",".join(r.spec.variants),
            r.spec.grid,
            str(r.spec.seed),
            f"{r.stored}/{r.planned}",
            state,
            f"{r.wall_s:.1f}",
        )
    out.print(table)


@app.command()
def calls(
    call_id: Annotated[
        str | None, typer.Argument(help="A call id (or prefix) to show in full.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Run id or prefix (default: latest).")
    ] = None,
    variant: Annotated[str | None, typer.Option(help="Only this variant.")] = None,
    scenario: Annotated[str | None, typer.Option(help="Only this scenario id.")] = None,
    timeline: Annotated[
        bool, typer.Option(help="With a call id: print every event on the virtual clock.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """List a run's calls, or show one call's trace: what the caller said, what the agent heard,
    decided, called and said, on the virtual clock."""
    from callgate.cli.show import calls_table, print_call, print_timeline
    from callgate.store.reader import StoreReader

    st = StoreReader.open(store)
    row = st.run(run_id) if run_id else st.latest_run()
    if call_id:
        trace = st.call(row.run_id, call_id)
        print_call(out, trace)
        if timeline:
            print_timeline(out, trace)
        return
    traces = [t for t in st.calls(row.run_id, variant) if scenario in (None, t.scenario_id)]
    out.print(calls_table(traces))
    out.print(f"{len(traces)} calls in run {row.run_id}", highlight=False)


@app.command()
def evaluate(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id or prefix (default: latest).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Score every call of a run with its suite's evaluators and rules (the suite's `evaluation:`
    block as the run stored it; also done at the end of `run`, with the suite file as it is now).

    Scores are stored with the evaluator names and parameters; re-running only fills in what is
    missing. Prints a per-variant summary; `callgate export` writes the full table.
    """
    from callgate.execution.executors import create_executor
    from callgate.store.db import Store

    create_executor(executor, workers, address)
    st = Store.open(store, create=False)
    row = st.run(run_id) if run_id else st.latest_run()
    raise typer.Exit(do_evaluate(st, row.run_id, workers, executor, address=address))


@app.command()
def export(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id or prefix (default: latest).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, parquet or jsonl (default: from -o, else csv)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: results-RUN.FORMAT)."),
    ] = None,
    turns: Annotated[bool, typer.Option(help="Export the per-turn table instead.")] = False,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write the results table of a scored run: one row per call (or per turn with --turns).

    Columns and dtypes are documented in docs/results.md.
    """
    from callgate.results.export import FORMATS, write_table
    from callgate.results.table import call_rows, turn_rows
    from callgate.store.reader import StoreReader

    suffix = output.suffix.lstrip(".").lower() if output is not None else ""
    if fmt is None and suffix and suffix not in FORMATS:
        raise UsageError(
            f"unknown file type .{suffix} (.csv, .parquet or .jsonl, or give --format)",
            field="--output",
        )
    if fmt is None:
        fmt = suffix or "csv"
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (csv, parquet or jsonl)", field="--format")
    if suffix in FORMATS and suffix != fmt:
        raise UsageError(f"--output ends in .{suffix} but --format is {fmt}", field="--output")
    st = StoreReader.open(store)
    row = st.run(run_id) if run_id else st.latest_run()
    if not st.scores(row.run_id):
        raise UsageError(f"run {row.run_id} is not scored yet (run `callgate evaluate`)")
    rows, columns = (turn_rows if turns else call_rows)(st, row.run_id)
    kind = "turns" if turns else "calls"
    path = output or Path(f"results-{row.run_id}{'-turns' if turns else ''}.{fmt}")
    write_table(rows, columns, path, fmt)
    out.print(f"wrote {len(rows)} {kind} x {len(columns)} columns to {path}", highlight=False)


def _register_more() -> None:
    from callgate.cli.compare_cmds import register

    register(app)
    from callgate.cli import (
        check_cmd,
        ingest_cmd,
        inspect_cmds,
        mine_cmd,
        signals_cmd,
        training_cmd,
        tune_cmd,
    )

    inspect_cmds.register(app)
    check_cmd.register(app)
    tune_cmd.register(app)
    training_cmd.register(app)
    ingest_cmd.register(app)
    signals_cmd.register(app)
    mine_cmd.register(app)


_register_more()


def _take_plugins(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``--plugin X`` / ``--plugin=X`` (anywhere on the line) from the other arguments."""
    plugins: list[str] = []
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--":
            rest.append(arg)
            rest.extend(it)
        elif arg == "--plugin":
            value = next(it, None)
            if value is None:
                raise UsageError("needs a module name or a .py file", field="--plugin")
            plugins.append(value)
        elif arg.startswith("--plugin="):
            plugins.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return plugins, rest


def _is_usage_error(exc: Exception) -> bool:
    """A command-line usage error, from click or from the click that typer may carry inside."""
    import click
    from typer.exceptions import TyperException

    vendored = isinstance(exc, TyperException) and hasattr(exc, "show")
    return isinstance(exc, click.ClickException) or vendored


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        plugins, args = _take_plugins(sys.argv[1:])
        env_plugins = [p for p in os.environ.get("CALLGATE_PLUGINS", "").split(",") if p.strip()]
        load_plugin_modules([canonical_plugin(p.strip()) for p in env_plugins + plugins])
        code = app(args=args, standalone_mode=False)
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        sys.exit(code if isinstance(code, int) else 0)
    except UsageError as exc:
        # Plain write, not rich: an error line must never be wrapped, whatever the terminal width.
        print(f"callgate: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _is_usage_error(exc):  # the usage line and the error, exit code 2
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        from callgate.cli.crash import report_crash

        sys.exit(report_crash(exc))


if __name__ == "__main__":
    main()
