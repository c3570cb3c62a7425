"""`callgate compare`, `callgate gate` and `callgate calibrate` (issue 4).

Sides are ``SPEC[:VARIANT]``: a run id (prefix) in the store or a results file (csv, parquet,
jsonl). Bad input is a :class:`UsageError` (one line, exit 2); the gate exits 0 on PROMOTE, 1 on
BLOCK and 3 on UNDECIDED, so CI can use it as a step as is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from callgate.cli.options import DEFAULT_STORE, StoreOpt
from callgate.errors import UsageError
from callgate.evaluators.base import MIN_EVENTS

if TYPE_CHECKING:
    from callgate.gate.calibration_data import CohortShape
    from callgate.gate.policy import Policy

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
    min_events: Annotated[
        int,
        typer.Option(
            help="A rate backed by fewer pooled events (talk-overs, replies...) is not shown."
        ),
    ] = MIN_EVENTS,
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
    from callgate.gate.engine import tuning_warnings
    from callgate.gate.policy import load_policy

    _check_common(seed, resamples)
    if not 0 < alpha < 0.5:
        raise UsageError("must be between 0 and 0.5", field="--alpha")
    if min_calls is not None and min_calls < 1:
        raise UsageError("must be at least 1", field="--min-calls")
    if min_events < 1:
        raise UsageError("must be at least 1", field="--min-events")
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
    warnings = tuning_warnings(_store_dir(store), base, cand)
    print_comparisons(out, result.comparisons, alpha, floor, min_events)
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
            "min_events": min_events,
            "seed": seed,
            "resamples": resamples,
            "notes": result.notes,
            "warnings": warnings,
            "comparisons": [
                comparison_json(c, alpha, floor, min_events) for c in result.comparisons
            ],
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
    """Decide PROMOTE, BLOCK or UNDECIDED under a policy, with every reason.

    PROMOTE only when every check (a metric in a cohort) is shown to lose less than its margin;
    BLOCK when a check is shown to be worse than the policy allows (after Holm or
    Benjamini-Hochberg over every harm test); otherwise UNDECIDED, listing each open check with
    the extra scored calls estimated to settle it. Calls of one scenario count as one cluster.

    Exit code 0 PROMOTE, 1 BLOCK, 3 UNDECIDED, 2 bad input. See docs/gate.md.

    Example: callgate gate e631:baseline e631:candidate --policy default --out gate-out
    """
    from callgate.cli.console import out
    from callgate.comparison.sides import load_side
    from callgate.gate.engine import run_gate, tuning_warnings
    from callgate.gate.outputs import write_outputs
    from callgate.gate.policy import load_policy
    from callgate.gate.render import print_gate
    from callgate.gate.report import build_report

    _check_common(seed, resamples)
    pol = load_policy(policy)
    base = load_side(baseline, store)
    cand = load_side(candidate, store)
    warnings = tuning_warnings(_store_dir(store), base, cand)
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
    if report.exit_code:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, where click
        # returns an Exit's code instead of raising it, and that code would be lost.
        raise SystemExit(report.exit_code)


def calibrate(
    policy: PolicyOpt = "default",
    runs: Annotated[int, typer.Option(help="Synthetic runs per row of the table.")] = 400,
    calls: Annotated[
        str, typer.Option(help="Scored calls per cohort, comma-separated.")
    ] = "30,60,120,250,500",
    cohorts: Annotated[int, typer.Option(help="Cohorts (values of --tag), synthetic data.")] = 8,
    discordance: Annotated[
        str,
        typer.Option(
            help="Share of pairs whose outcome differs, LOW,HIGH: the cohorts spread over it."
        ),
    ] = "0.25,0.35",
    calls_per_scenario: Annotated[
        float, typer.Option(help="Calls of one scenario per cohort (repeats): the clusters.")
    ] = 3.0,
    drop: Annotated[
        float, typer.Option(help="Loss in one cohort whose power is measured (share of calls).")
    ] = 0.20,
    tag: Annotated[
        str | None,
        typer.Option(
            help="The tag that tells cohorts apart (synthetic: call_type; --from-run: the "
            "policy's first tag with two values in the run)."
        ),
    ] = None,
    metric: Annotated[str, typer.Option(help="The pass/fail outcome that regresses.")] = (
        "task_completion"
    ),
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from-run",
            help="Take each cohort's discordance, success rate, scenarios and spread from this "
            "stored run (id or prefix) and report every cohort on its own.",
        ),
    ] = None,
    variants: Annotated[
        str, typer.Option(help="With --from-run: the baseline and candidate variants.")
    ] = "baseline,candidate",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and the bootstrap.")] = 0,
    resamples: ResamplesOpt = 2000,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this file.")
    ] = None,
    save_example: Annotated[
        Path | None,
        typer.Option(help="Write one run's synthetic results files (csv) into this folder."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Measure a policy's error rates on synthetic runs shaped like real ones, per cohort size.

    Each run has scenario clusters (CALLS_PER_SCENARIO calls of each scenario), pairs that
    disagree at the cohort's DISCORDANCE, and scenarios that differ in success and flakiness. It
    is gated three times: with no true change (a BLOCK is a false block), with one cohort losing
    exactly its margin (a PROMOTE is a false promote), and with one cohort losing DROP (power:
    blocked naming that cohort). UNDECIDED is counted too. With --from-run the shape of every
    cohort is measured on a stored run, and each cohort gets rows of its own.

    Example: callgate calibrate --policy default --runs 400
    Example: callgate calibrate --from-run e631 --runs 200
    """
    from callgate.cli.console import err, out
    from callgate.cli.progress import Bar
    from callgate.gate import calibration_output as view
    from callgate.gate.calibrate import CalibrationSpec, calibrate_size, check_spec, targets
    from callgate.gate.calibration_data import CohortShape, default_shapes
    from callgate.gate.policy import load_policy

    _check_common(seed, resamples)
    sizes = _numbers(calls, "--calls", int)
    if runs < 1:
        raise UsageError("must be at least 1", field="--runs")
    pol = load_policy(policy)
    if from_run is None:
        span = _numbers(discordance, "--discordance", float)
        if len(span) not in (1, 2) or not all(0 < d < 1 for d in span):
            raise UsageError("give one share or LOW,HIGH, each in (0, 1)", field="--discordance")
        if cohorts < 1 or calls_per_scenario < 1:
            raise UsageError("cohorts and calls per scenario must be at least 1")
        shapes = [
            CohortShape(s.name, s.discordance, calls_per_scenario=calls_per_scenario)
            for s in default_shapes(cohorts, (span[0], span[-1]))
        ]
        tag, source = tag or "call_type", "synthetic"
    else:
        shapes, tag, source = _shapes_from_run(pol, from_run, variants, metric, tag, store)
    spec = CalibrationSpec(
        sizes,
        runs,
        shapes,
        drop,
        tag,
        metric,
        seed,
        resamples,
        per_cohort=from_run is not None,
        source=source,
    )
    check_spec(pol, spec)
    if save_example is not None:
        paths = view.save_example(pol, spec, max(sizes), save_example)
        out.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    t0 = time.perf_counter()
    results = []
    rows = [(n, t) for n in sizes for t in targets(spec)]
    with Bar(err, "calibration runs") as bar:
        bar.start(runs * len(rows))
        for n, t in rows:
            results.append(calibrate_size(pol, spec, n, t, bar.advance))
    out.print(view.table(spec, results))
    for line in view.summary_lines(spec, results):
        out.print(line, highlight=False)
    out.print(
        f"{runs} runs per row, {len(spec.shapes)} cohorts of {spec.tag} from {spec.source}, "
        f"seed {seed}, {resamples} resamples, policy {pol.source}; took "
        f"{time.perf_counter() - t0:.0f} s",
        highlight=False,
    )
    if json_path is not None:
        _write_text(json_path, json.dumps(view.to_json(spec, results, pol), indent=2) + "\n")
        out.print(f"wrote {json_path}", highlight=False)


def _numbers(text: str, field: str, kind: type[int] | type[float]) -> list[Any]:
    try:
        return [kind(c) for c in _split_list([text])]
    except ValueError:
        raise UsageError(f"{text!r} is not a list of numbers", field=field) from None


def _shapes_from_run(
    pol: Policy, run: str, variants: str, metric: str, tag: str | None, store: Path
) -> tuple[list[CohortShape], str, str]:
    """Each cohort's shape as RUN shows it, the tag that tells the cohorts apart, and a name
    for where the shapes came from."""
    from callgate.comparison.sides import load_side
    from callgate.gate.calibration_data import shapes_from_side
    from callgate.results.table import TAG_PREFIX

    names = _split_list([variants])
    if len(names) != 2:
        raise UsageError("name the baseline and the candidate: A,B", field="--variants")
    base = load_side(f"{run}:{names[0]}", store)
    cand = load_side(f"{run}:{names[1]}", store)
    if metric not in base.metrics or metric not in cand.metrics:
        raise UsageError(f"the run has no metric {metric!r}", field="--metric")
    if tag is None:
        values = {t: {v for v in base.text.get(TAG_PREFIX + t, []) if v} for t in pol.cohorts.by}
        tag = next((t for t, found in values.items() if len(found) >= 2), None)
        if tag is None:
            raise UsageError("no tag of the policy has two values in the run", field="--tag")
    try:
        shapes = shapes_from_side(base, cand, metric, tag)
    except ValueError as exc:
        raise UsageError(str(exc), field="--from-run") from None
    source = f"run {base.run_ids[0]}" if base.run_ids else str(run)
    return shapes, tag, source


def register(app: typer.Typer) -> None:
    """Add the comparison commands to the ``callgate`` app."""
    app.command()(compare)
    app.command()(gate)
    app.command()(calibrate)
