"""`callgate run --until-decided`: run a baseline and a candidate batch by batch, gating after
each batch and spending new calls only where the gate is still open.

Batch k runs repeats (k-1)*R .. k*R-1 (R = ``--repeats``) of every cell (scenario x cohort) that an
open slice of the last look still needs; batch 1 runs every cell. After each batch the new calls
are scored and the gate runs on every scored pair so far with each test at alpha / looks
(:mod:`callgate.gate.sequential`); a check settled at one look stays settled. The run stops at a
decision, after ``--looks`` batches, or before a batch that would exceed ``--max-calls``. Every look
is stored (the store's ``gate_looks``) and shown in the report; running the same command again
resumes from the last stored look.
"""

from __future__ import annotations

from pathlib import Path

from callgate.cli.console import err, out
from callgate.cli.steps import Prepared, RunDone, do_evaluate, execute_with_progress, prepare_run
from callgate.errors import UsageError
from callgate.execution.runner import RunPlan
from callgate.gate.decide import Decision
from callgate.gate.model import GateCheck, GateLook, GateReport
from callgate.gate.policy import Policy, load_policy
from callgate.gate.sequential import Design, open_slices, settle, wants_calls

RESAMPLES = 2000


def run_until_decided(
    store_dir: Path,
    suite: str,
    variants: list[str],
    grid: str,
    cohort: list[str],
    scenario: list[str],
    split: str,
    repeats: int,
    seed: int,
    workers: int | None,
    executor: str,
    policy_name: str,
    looks: int,
    max_calls: int | None,
    out_dir: Path | None,
    address: str | None = None,
) -> RunDone:
    if len(variants) != 2:
        raise UsageError("give the baseline and the candidate: -v A -v B", field="--variant")
    if looks < 1:
        raise UsageError("must be at least 1", field="--looks")
    if max_calls is not None and max_calls < 2:
        raise UsageError("must be at least 2", field="--max-calls")
    policy = load_policy(policy_name)

    def fits(plan: RunPlan) -> None:
        first = sum(1 for j in plan.jobs if j.repeat < repeats)
        if max_calls is not None and first > max_calls:
            raise UsageError(
                f"the first batch alone is {first} calls, over the budget of {max_calls}",
                field="--max-calls",
            )

    p = prepare_run(
        store_dir,
        suite,
        variants,
        grid,
        cohort,
        scenario,
        split,
        repeats * looks,
        seed,
        workers,
        fits,
    )
    design = Design(looks)
    base_name, cand_name = p.names
    err.print(
        f"run [bold]{p.plan.run_id}[/] until decided: at most {looks} batches of {repeats} "
        f"repeat(s) per open cell, each test at alpha/{looks} = {design.level(policy.alpha):g}"
        + (f", at most {max_calls} calls" if max_calls else ""),
        highlight=False,
    )
    settled: dict[tuple[str | None, str], GateCheck] = {}
    wanted: list[str] | None = None  # None: every cell
    last: GateLook | None = None
    records = [GateLook.model_validate_json(x) for x in p.store.looks(p.plan.run_id)]
    for look in range(1, looks + 1):
        recorded = records[look - 1] if look <= len(records) else None
        if recorded is not None and recorded.looks != looks:
            raise UsageError(
                f"run {p.plan.run_id} was started with --looks {recorded.looks}: give the same "
                "--looks and --repeats to resume it",
                field="--looks",
            )
        if recorded is not None and recorded.stopped != "budget":
            # Resume: this look was taken before; its settled checks and next cells carry over.
            last = recorded
            settled.update(_settled_in(recorded.report))
            wanted = recorded.open_slices
            _print_look(recorded)
            if recorded.stopped:
                break
            continue
        if recorded is not None:  # stopped at a budget before: a larger one may go on
            last, wanted = recorded, recorded.open_slices
            settled.update(_settled_in(recorded.report))
            continue
        block = range((look - 1) * repeats, look * repeats)
        only = {
            j.call_id
            for j in p.plan.jobs
            if j.repeat in block and (wanted is None or wants_calls(j.cell.tags, wanted))
        }
        have = p.store.stored_call_ids(p.plan.run_id)
        if max_calls is not None and len(have | only) > max_calls and last is not None:
            last = _stop(p, last, "budget")
            break
        outcome = execute_with_progress(p, workers, executor, only, address)
        if outcome.interrupted:
            err.print("interrupted: finished calls are stored; run the same command to resume")
            return RunDone(130, p.plan.run_id, p.names)
        if outcome.failed:
            err.print(
                f"[yellow]warning:[/] {len(outcome.failed)} calls failed (retried when the same "
                "command runs again); the gate uses the calls that were stored",
                highlight=False,
            )
        # Calls that could not be scored are reported by do_evaluate and drop out of the gate;
        # its exit code is not the run's (1 means BLOCK here).
        do_evaluate(
            p.store,
            p.plan.run_id,
            workers,
            executor,
            p.suite.suite.evaluation,
            summary=False,
            address=address,
        )
        decision, report = _gate(p, policy, base_name, cand_name, design, settled)
        wanted = open_slices(decision) if decision.label == "UNDECIDED" else []
        stopped = "decided" if decision.label != "UNDECIDED" else ("looks" if look == looks else "")
        if decision.label == "UNDECIDED" and not any(
            wants_calls(j.cell.tags, wanted) for j in p.plan.jobs
        ):
            stopped = "looks"  # nothing the suite can run would settle what is open
        last = GateLook(
            look=look,
            looks=looks,
            level=design.level(policy.alpha),
            pairs=max((c.n for c in report.checks if c.slice == "all"), default=0),
            calls=len(p.store.stored_call_ids(p.plan.run_id)),
            open_slices=wanted,
            stopped=stopped,
            report=report,
        )
        p.store.put_look(p.plan.run_id, look, last.model_dump_json())
        _print_look(last)
        if stopped:
            break
    assert last is not None
    return _finish(p, last, out_dir)


def _settled_in(report: GateReport) -> dict[tuple[str | None, str], GateCheck]:
    return {(c.metric, c.slice): c for c in report.checks if c.status in ("pass", "block")}


def _gate(
    p: Prepared,
    policy: Policy,
    base_name: str,
    cand_name: str,
    design: Design,
    settled: dict[tuple[str | None, str], GateCheck],
) -> tuple[Decision, GateReport]:
    from callgate.comparison.sides import load_side
    from callgate.gate.decide import decide
    from callgate.gate.engine import plan_gate, run_checks
    from callgate.gate.report import build_report

    base = load_side(f"{p.plan.run_id}:{base_name}", p.store.root)
    cand = load_side(f"{p.plan.run_id}:{cand_name}", p.store.root)
    plan = plan_gate(policy, base, cand)
    comps = run_checks(plan, base, cand, seed=0, resamples=RESAMPLES)
    decision = settle(decide(policy, plan.slices, comps, alpha=design.level(policy.alpha)), settled)
    report = build_report(plan, decision, base, cand, seed=0, resamples=RESAMPLES)
    return decision, report


def _stop(p: Prepared, last: GateLook, why: str) -> GateLook:
    stopped = last.model_copy(update={"stopped": why})
    p.store.put_look(p.plan.run_id, last.look, stopped.model_dump_json())
    err.print(f"stopped: the next batch would exceed the budget ({why})", highlight=False)
    return stopped


def _print_look(look: GateLook) -> None:
    from callgate.gate.outputs import headline

    r = look.report
    nxt = f"; next batch for {', '.join(look.open_slices)}" if look.open_slices else ""
    out.print(
        f"look {look.look}/{look.looks}: {look.pairs} pairs, {look.calls} calls: "
        f"{r.decision} ({headline(r)}){nxt if not look.stopped else ''}",
        highlight=False,
        markup=False,
    )


def _finish(p: Prepared, last: GateLook, out_dir: Path | None) -> RunDone:
    from callgate.gate.outputs import write_outputs
    from callgate.gate.render import print_gate

    paths = write_outputs(last.report, out_dir) if out_dir is not None else []
    print_gate(out, last.report)
    if paths:
        out.print(f"wrote {', '.join(str(x) for x in paths)}", highlight=False)
    why = {"decided": "decided", "looks": "after the last look", "budget": "at the budget"}
    out.print(
        f"adaptive run {p.plan.run_id}: {last.report.decision} {why.get(last.stopped, '')} "
        f"after {last.look} looks and {last.calls} calls",
        highlight=False,
    )
    return RunDone(last.report.exit_code, p.plan.run_id, p.names)
