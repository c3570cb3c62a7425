"""`callgate compare`, `callgate gate` and `callgate calibrate` (issue 4).

Sides are ``SPEC[:VARIANT]``: a run id (prefix) in the store or a results file (csv, parquet,
jsonl). Bad input is a :class:`UsageError` (one line, exit 2); the gate exits 0 on PROMOTE and 1 on
BLOCK, so CI can use it as a step as is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from callgate.errors import UsageError

# Same option as the other commands (callgate.cli.main), declared here so that importing this
# module never needs main's app half-built.
StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store", envvar="CALLGATE_STORE", help="Store folder (SQLite + audio).", show_default=True
    ),
]
DEFAULT_STORE = Path("callgate-store")
SideArg = Annotated[
    str,
    typer.Argument(
        help="Run id (prefix) or results file; add :VARIANT when it holds several (e631:baseline)."
    ),
]
SeedOpt = Annotated[int, typer.Option(help="Bootstrap seed: same seed, same intervals.")]
ResamplesOpt = Annotated[int, typer.Option(help="Bootstrap resamples per slice.")]
UnpairedOpt = Annotated[
    bool, typer.Option("--unpaired", help="Compare unpaired even when calls could be paired.")
]
PolicyOpt = Annotated[str, typer.Option(help="Policy file, or a bundled policy name (default).")]


def _split_list(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _check_common(seed: int, resamples: int) -> None:
    if resamples < 50:
        raise UsageError("must be at least 50", field="--resamples")
    if seed < 0:
        raise UsageError("must be 0 or more", field="--seed")


def _store_dir(store: Path) -> Path | None:
    return store if (store / "callgate.db").is_file() else None


def compare(
    baseline: SideArg,
    candidate: SideArg,
    metric: Annotated[
        list[str],
        typer.Option(
            "--metric", "-m", help="Only these metrics (repeatable); NAME:higher|lower for yours."
        ),
    ] = [],  # noqa: B006
    by: Annotated[
        list[str],
        typer.Option(
            help="Cohort tags to slice by (default: accent,noise,channel,call_type,split)."
        ),
    ] = [],  # noqa: B006
    combination: Annotated[
        list[str], typer.Option(help="Tags to cross into slices, e.g. accent,channel (repeatable).")
    ] = [],  # noqa: B006
    policy: Annotated[
        str | None, typer.Option(help="Take metrics, slices and min_calls from this policy.")
    ] = None,
    min_calls: Annotated[
        int | None, typer.Option(help="Below this many calls: too few to tell (default 30).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided level of verdicts and intervals.")] = 0.05,
    seed: SeedOpt = 0,
    resamples: ResamplesOpt = 2000,
    unpaired: UnpairedOpt = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write every comparison to this file.")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Compare a candidate with a baseline, metric by metric and cohort by cohort.

    Calls are paired by scenario, cohort and repeat when both sides have them (simulated runs),
    else compared unpaired (production A/B). Each row: n, both values, delta, confidence interval
    and a verdict (better, no detectable change, worse, too few calls to tell with the minimum
    detectable effect). Verdicts here are per row, not corrected for multiplicity: `callgate gate`
    decides.

    Example: callgate compare e631:baseline e631:candidate -m task_completion
    """
    from callgate.cli.console import out
    from callgate.comparison.render import comparison_json, print_comparisons
    from callgate.comparison.session import DEFAULT_BY, run_compare, select_metrics
    from callgate.comparison.sides import load_side
    from callgate.gate.engine import holdout_tuning_warnings
    from callgate.gate.policy import load_policy

    _check_common(seed, resamples)
    if not 0 < alpha < 0.5:
        raise UsageError("must be between 0 and 0.5", field="--alpha")
    if min_calls is not None and min_calls < 1:
        raise UsageError("must be at least 1", field="--min-calls")
    pol = load_policy(policy) if policy else None
    base = load_side(baseline, store)
    cand = load_side(candidate, store)
    if pol is not None:
        pol.bind(base, cand)
        specs = [pol.specs[m] for m in pol.metrics]
        tags = pol.cohorts.by
        combos = pol.cohorts.combinations
        floor = min_calls or pol.cohorts.min_calls
    else:
        specs, notes = select_metrics(base, cand, metric)
        tags = _split_list(by) or [t for t in DEFAULT_BY if t in base.tags or t in cand.tags]
        combos = [_split_list([c]) for c in combination]
        floor = min_calls or 30
    t0 = time.perf_counter()
    result = run_compare(
        base,
        cand,
        specs,
        by=tags,
        combinations=combos,
        seed=seed,
        resamples=resamples,
        confidence=1 - alpha,
        force_unpaired=unpaired,
    )
    elapsed = time.perf_counter() - t0
    warnings = holdout_tuning_warnings(_store_dir(store), base, cand)
    print_comparisons(out, result.comparisons, alpha, floor)
    for line in (notes if pol is None else []) + result.notes:
        out.print(f"note: {line}", highlight=False, markup=False)
    for w in warnings:
        out.print(f"[yellow]warning:[/] {w}", highlight=False)
    out.print(
        f"{len(result.comparisons)} comparisons in {elapsed:.1f} s ({resamples} resamples, "
        f"seed {seed}); verdicts are per row, `callgate gate` corrects for multiplicity",
        highlight=False,
    )
    if json_path is not None:
        doc = {
            "schema_version": 1,
            "baseline": base.label,
            "candidate": cand.label,
            "paired": result.pairing.paired,
            "pairing": result.pairing.note,
            "alpha": alpha,
            "min_calls": floor,
            "seed": seed,
            "resamples": resamples,
            "notes": result.notes,
            "warnings": warnings,
            "comparisons": [comparison_json(c, alpha, floor) for c in result.comparisons],
        }
        _write_text(json_path, json.dumps(doc, indent=2) + "\n")
        out.print(f"wrote {json_path}", highlight=False)


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write ({exc.strerror})", source=path) from None


def gate(
    baseline: SideArg,
    candidate: SideArg,
    policy: PolicyOpt = "default",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write gate.json, gate.md and junit.xml into this folder."),
    ] = None,
    seed: SeedOpt = 0,
    resamples: ResamplesOpt = 2000,
    unpaired: UnpairedOpt = False,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Decide PROMOTE or BLOCK under a policy, with every reason.

    Exit code 0 on PROMOTE, 1 on BLOCK, 2 on bad input. Blocks when a metric is significantly
    worse than its margin in any cohort (after Holm or Benjamini-Hochberg over every test), when a
    required cohort is missing or too small, or when a required improvement is not shown. See
    docs/gate.md.

    Example: callgate gate e631:baseline e631:candidate --policy default --out gate-out
    """
    from callgate.cli.console import out
    from callgate.comparison.sides import load_side
    from callgate.gate.engine import holdout_tuning_warnings, run_gate
    from callgate.gate.outputs import write_outputs
    from callgate.gate.policy import load_policy
    from callgate.gate.render import print_gate
    from callgate.gate.report import build_report

    _check_common(seed, resamples)
    pol = load_policy(policy)
    base = load_side(baseline, store)
    cand = load_side(candidate, store)
    warnings = holdout_tuning_warnings(_store_dir(store), base, cand)
    plan, decision = run_gate(
        pol,
        base,
        cand,
        seed=seed,
        resamples=resamples,
        force_unpaired=unpaired,
        warnings=warnings,
    )
    report = build_report(plan, decision, base, cand, seed=seed, resamples=resamples)
    # Files first: a decision on the terminal always has its files behind it.
    paths = write_outputs(report, out_dir) if out_dir is not None else []
    print_gate(out, report)
    if paths:
        out.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    if not decision.promote:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, where click
        # returns an Exit's code instead of raising it, and that code would be lost.
        raise SystemExit(1)


def calibrate(
    policy: PolicyOpt = "default",
    runs: Annotated[int, typer.Option(help="Synthetic runs per size.")] = 200,
    calls: Annotated[
        str, typer.Option(help="Calls per cohort, comma-separated.")
    ] = "30,60,120,240",
    cohorts: Annotated[int, typer.Option(help="Cohorts (values of --tag).")] = 8,
    drop: Annotated[
        float, typer.Option(help="Share of one cohort's calls turned from success to failure.")
    ] = 0.10,
    flip: Annotated[float, typer.Option(help="A/A: share of calls flipped each way.")] = 0.05,
    base_rate: Annotated[float, typer.Option(help="Success rate of both variants.")] = 0.8,
    holdout_share: Annotated[
        float, typer.Option(help="Share of calls tagged split=holdout.")
    ] = 0.25,
    tag: Annotated[str, typer.Option(help="The tag that tells the cohorts apart.")] = "call_type",
    metric: Annotated[str, typer.Option(help="The pass/fail outcome that regresses.")] = (
        "task_completion"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and the bootstrap.")] = 0,
    resamples: ResamplesOpt = 2000,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this file.")
    ] = None,
    save_example: Annotated[
        Path | None,
        typer.Option(help="Write one run's synthetic results files (csv) into this folder."),
    ] = None,
) -> None:
    """Measure a policy on synthetic paired calls: its false-block rate on identical variants (A/A)
    and the smallest drop in one cohort it catches 80% of the time, per cohort size.

    The data: COHORTS cohorts of paired calls whose outcome differs between the variants in FLIP
    of calls each way; then DROP of one cohort's calls turn from success to failure. Definition
    and measured figures of the default policy: docs/gate.md.

    Example: callgate calibrate --policy default --runs 200
    """
    from callgate.cli.console import err, out
    from callgate.cli.progress import Bar
    from callgate.gate import calibration_output as view
    from callgate.gate.calibrate import CalibrationSpec, calibrate_size, check_spec
    from callgate.gate.policy import load_policy

    _check_common(seed, resamples)
    try:
        sizes = [int(c) for c in _split_list([calls])]
    except ValueError:
        raise UsageError(f"{calls!r} is not a list of numbers", field="--calls") from None
    pol = load_policy(policy)
    spec = CalibrationSpec(
        sizes,
        runs,
        cohorts,
        flip,
        base_rate,
        drop,
        holdout_share,
        tag,
        metric,
        0.8,
        seed,
        resamples,
    )
    check_spec(pol, spec)
    if save_example is not None:
        paths = view.save_example(pol, spec, max(sizes), save_example)
        out.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    t0 = time.perf_counter()
    results = []
    with Bar(err, "calibration runs") as bar:
        bar.start(runs * len(sizes))
        for n in sizes:
            results.append(calibrate_size(pol, spec, n, bar.advance))
    out.print(view.table(spec, results))
    for line in view.summary_lines(spec, results):
        out.print(line, highlight=False)
    out.print(
        f"{runs} runs per size, {cohorts} cohorts, seed {seed}, {resamples} resamples, "
        f"policy {pol.source}; took {time.perf_counter() - t0:.0f} s",
        highlight=False,
    )
    if json_path is not None:
        _write_text(json_path, json.dumps(view.to_json(spec, results, pol), indent=2) + "\n")
        out.print(f"wrote {json_path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the comparison commands to the ``callgate`` app."""
    app.command()(compare)
    app.command()(gate)
    app.command()(calibrate)
