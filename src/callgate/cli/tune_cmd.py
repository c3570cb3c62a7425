"""``callgate tune``: make candidates from a stored run's dev calls (docs/tuning.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError


def tune(
    run_id: Annotated[
        str | None,
        typer.Argument(help="Run id or prefix whose dev calls to read (default: latest)."),
    ] = None,
    variant: Annotated[
        str, typer.Option("--variant", "-v", help="The variant in that run to tune (the base).")
    ] = "baseline",
    job: Annotated[
        list[str],
        typer.Option(
            "--job",
            "-j",
            help="Tuning job (repeatable): asr-hints, end-of-turn, routing, prompt (an llm "
            "policy's system prompt), a plugin's own job "
            "(intent-retrain of the reference domain) or module:attr. One candidate per job.",
        ),
    ] = [],  # noqa: B006
    out_dir: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for OUT/<job>/candidate.yaml and tuning.json."),
    ] = Path("tuned"),
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            "-p",
            help="A job parameter, JOB.NAME=VALUE (YAML value), repeatable: "
            "-p asr-hints.max_terms=8 -p end-of-turn.waits_ms=[400,600,800].",
        ),
    ] = [],  # noqa: B006
    combine: Annotated[
        bool,
        typer.Option(
            "--combine", help="Also write a candidate with every job's change at once (explicit)."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of any sampling a job does.")] = 0,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Make candidate variants from what failed on the dev split of a stored run.

    Each job reads the dev calls of --variant (never a holdout call: the store filters them
    out), proposes one change to its agent block and writes OUT/<job>/candidate.yaml with
    OUT/<job>/tuning.json: which calls it read, what it measured, why. The reads are stored, so
    `callgate gate` warns if it is later asked to judge a candidate on them. Gate every candidate
    on the holdout split. Exit 0, also when a job finds no change worth making (it says why).

    Example: callgate tune RUN -v baseline -j asr-hints -j end-of-turn -j intent-retrain --out tuned

    Then: callgate run -v baseline -v tuned/asr-hints/candidate.yaml --split holdout
    """
    from callgate.cli.console import err, out
    from callgate.store.db import Store
    from callgate.tuning.tune import TuneRequest
    from callgate.tuning.tune import tune as run_tune

    params = _params(param)
    st = Store.open(store, create=False)
    row = st.run(run_id) if run_id else st.latest_run()
    request = TuneRequest(row.run_id, variant, list(job), params, out_dir, combine, seed)
    t0 = time.perf_counter()
    records = run_tune(st, request, _Progress(err))
    for record in records:
        out.print(
            f"\n[bold]{record.kind}[/] ({record.job}): read {len(record.calls_read)} dev "
            f"calls of {len(record.scenarios_read)} scenarios",
            highlight=False,
        )
        if record.candidate:
            out.print(f"  candidate {record.candidate_name}: {record.candidate}", highlight=False)
            out.print(f"  changes {', '.join(record.changes)}", highlight=False, markup=False)
        else:
            out.print("  no candidate", highlight=False)
        for line in record.rationale:
            out.print(f"  - {line}", highlight=False, markup=False)
        _print_front(out, record.figures)
    made = sum(r.candidate is not None for r in records)
    if combine and made < 2:
        out.print(f"\nnothing to combine: {made} job(s) proposed a change", highlight=False)
    out.print(
        f"\n{made} candidate(s) from {len(records)} record(s) in {time.perf_counter() - t0:.0f} s;"
        f" records in {out_dir}/<job>/tuning.json. Gate each candidate on the holdout split.",
        highlight=False,
    )


def _params(items: list[str]) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        job, dot, name = key.rpartition(".")  # a job may be a dotted module:attr reference
        if not eq or not dot or not job or not name.isidentifier():
            raise UsageError(f"expected JOB.NAME=VALUE, got {item!r}", field="--param")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"{key}: not a YAML value: {raw!r}", field="--param") from None
        params.setdefault(job, {})[name] = value
    return params


def _print_front(out: Any, figures: dict[str, Any]) -> None:
    """The end-of-turn Pareto front over all calls, one line per point."""
    front = figures.get("pareto", {}).get("all")
    if not front:
        return
    out.print(
        "  Pareto front (all dev calls): wait, VAD -> median time to first audio, cut-offs",
        highlight=False,
    )
    for p in front:
        out.print(
            f"    {p['wait_ms']:>5} ms  {p['vad']:<26} {p['ttfa_median']:.2f} s  "
            f"{p['cut_rate']:.1%}",
            highlight=False,
            markup=False,
        )


class _Progress:
    """Plain progress lines for each stage of a job: a line per tenth of the work."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.label = ""
        self.next_share = 0.0

    def __call__(self, what: str, done: int, total: int) -> None:
        if what != self.label:
            self.label, self.next_share = what, 0.0
        share = done / total if total else 1.0
        if share + 1e-9 >= self.next_share or done == total:
            self.console.print(f"{what}: {done}/{total}", highlight=False, markup=False)
            self.next_share = share + 0.1


def register(app: typer.Typer) -> None:
    app.command()(tune)
