"""Plan a run (suite x grid x variants x repeats), then execute it resumably into the store."""

from __future__ import annotations

import copy
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callgate.errors import UsageError
from callgate.execution.executors import create_executor
from callgate.plugins import loaded_plugin_modules
from callgate.registry import resolved_parts
from callgate.scenarios.cohorts import expand, parse_filters, select
from callgate.scenarios.load import LoadedSuite
from callgate.simulation.call import CallJob, call_id, call_seed
from callgate.store.db import Store
from callgate.store.run_spec import PluginsUsed, RunSpec
from callgate.variants.load import LoadedVariant


@dataclass(frozen=True)
class RunRequest:
    suite: LoadedSuite
    variants: list[LoadedVariant]
    grid: str = "default"
    cohort: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    split: str = "all"
    repeats: int = 1
    seed: int = 0


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    spec: RunSpec
    jobs: list[CallJob]


def plan(req: RunRequest) -> RunPlan:
    if req.repeats < 1:
        raise UsageError("must be at least 1", field="--repeats")
    if not req.variants:
        raise UsageError("give at least one variant", field="--variant")
    suite = req.suite.suite
    cells = select(
        expand(suite, req.grid),
        cohort=parse_filters(req.cohort),
        scenarios=req.scenarios,
        split=req.split,
    )
    if not cells:
        raise UsageError("no scenario matches the filters", field="--cohort")
    spec = RunSpec(
        suite=suite.name,
        suite_path=str(req.suite.path),
        suite_hash=req.suite.content_hash,
        variants={lv.variant.name: lv.content_hash for lv in req.variants},
        variant_specs={lv.variant.name: lv.variant.model_dump(mode="json") for lv in req.variants},
        grid=req.grid,
        cohort=_canonical_filters(req.cohort),
        scenarios=sorted(req.scenarios),
        split=req.split,
        repeats=req.repeats,
        seed=req.seed,
        # The whole suite travels with the run, so replays (attribution) need no source files.
        suite_json=suite.model_dump(mode="json"),
        # Every worker imports these again; installed plugins come from entry points by name.
        plugins=PluginsUsed(modules=loaded_plugin_modules()),
    )
    run_id = spec.run_id()
    jobs: list[CallJob] = []
    for cell in cells:
        state = _merge(copy.deepcopy(suite.fixtures[cell.scenario.fixture]), cell.scenario.state)
        for repeat in range(req.repeats):
            seed = call_seed(req.seed, cell.scenario.id, cell.cohort_id, repeat)
            for lv in req.variants:
                v = lv.variant
                jobs.append(
                    CallJob(
                        run_id=run_id,
                        call_id=call_id(run_id, cell.scenario.id, cell.cohort_id, v.name, repeat),
                        suite=suite.name,
                        cell=cell,
                        variant=v,
                        repeat=repeat,
                        seed=seed,
                        initial_state=state,
                        suite_reactions=list(suite.reactions),
                        lexicon=dict(suite.evaluation.lexicon),
                    )
                )
    return RunPlan(run_id, spec, jobs)


def with_parts(run_plan: RunPlan) -> RunPlan:
    """The plan with every part the preflight resolved recorded in its spec (agent kinds, engines,
    policies, tool sets, ...: where each came from). Not part of the run id; a resumed run keeps
    the record of the session that created it."""
    plugins = run_plan.spec.plugins.model_copy(update={"parts": resolved_parts()})
    spec = run_plan.spec.model_copy(update={"plugins": plugins})
    return RunPlan(run_plan.run_id, spec, run_plan.jobs)


def _canonical_filters(items: list[str]) -> list[str]:
    """``accent=us,rp`` and ``accent=rp,us`` select the same calls, so they name the same run."""
    return [f"{k}={','.join(sorted(v))}" for k, v in sorted(parse_filters(items).items())]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


# -- execution -----------------------------------------------------------------------------------

_worker_env: Any = None


def _init(store_root: str, plugin_modules: list[str]) -> None:
    global _worker_env
    from callgate.agents.env import CallEnv
    from callgate.plugins import load_plugin_modules

    # A spawned worker sees the entry points by itself; --plugin modules it must import again.
    load_plugin_modules(plugin_modules)
    _worker_env = CallEnv.at(Path(store_root))


def _run_one(job: CallJob) -> tuple[str, str | None, str | None]:
    """Returns (call_id, trace JSON, error). Errors travel back as text so one bad call does not
    take the run down; the call stays unstored and a re-run retries it."""
    from callgate.agents.voice import AgentUnavailable
    from callgate.simulation.call import simulate

    try:
        trace = simulate(job, _worker_env)
        return job.call_id, trace.model_dump_json(), None
    except AgentUnavailable as exc:
        # Not a bug and not the agent's quality: one line, no traceback.
        return job.call_id, None, f"agent unreachable: {exc}; start it and run again to retry"
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return job.call_id, None, f"{detail}\n{traceback.format_exc(limit=6)}"


def pair_groups(jobs: list[CallJob]) -> list[list[CallJob]]:
    """The jobs grouped by call seed (one scenario, cohort and repeat: the variants of one paired
    call), in plan order. A group runs in one worker, one call after the other, so the variants
    share what they hear alike (the caller's audio, the line, Whisper's encoder output:
    :mod:`callgate.speech.whisper_encoder`) while it is still in memory."""
    groups: dict[int, list[CallJob]] = {}
    for job in jobs:
        groups.setdefault(job.seed, []).append(job)
    return list(groups.values())


def _run_group(jobs: list[CallJob]) -> list[tuple[str, str | None, str | None]]:
    return [_run_one(job) for job in jobs]


@dataclass
class RunOutcome:
    run_id: str
    planned: int
    already: int
    done: int
    failed: dict[str, str]
    wall_s: float
    interrupted: bool = False


def execute(
    store: Store,
    run_plan: RunPlan,
    *,
    executor: str = "local",
    workers: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_call: Callable[[str, str | None], None] | None = None,
    only: set[str] | None = None,
    address: str | None = None,
) -> RunOutcome:
    """Store every planned call not stored yet; ``only``: just these call ids (an adaptive run's
    batch); ``address``: the cluster a distributed executor joins. The run is marked finished once
    every planned call is stored."""
    from callgate.traces.model import CallTrace

    ex = create_executor(executor, workers, address)  # a bad choice leaves no run behind
    store.ensure_run(run_plan.run_id, run_plan.spec, len(run_plan.jobs))
    have = store.stored_call_ids(run_plan.run_id)
    wanted = [j for j in run_plan.jobs if only is None or j.call_id in only]
    todo = [j for j in wanted if j.call_id not in have]
    if on_start:
        on_start(len(wanted), len(wanted) - len(todo))
    outcome = RunOutcome(run_plan.run_id, len(wanted), len(wanted) - len(todo), 0, {}, 0.0)
    t0 = time.perf_counter()
    stored: set[str] = set()
    # Absolute: a worker on a cluster node may not share this process's working directory.
    init_args = (str(store.root.resolve()), run_plan.spec.plugins.modules)
    try:
        results = ex.map_unordered(_run_group, pair_groups(todo), _init, init_args)
        for cid, blob, err in (r for group in results for r in group):
            if cid in stored or (blob is None and cid in outcome.failed):
                continue  # finished twice (a retried worker): stored and counted once
            if blob is not None:
                store.put_call(CallTrace.model_validate_json(blob))
                stored.add(cid)
                outcome.failed.pop(cid, None)
                outcome.done += 1
            else:
                outcome.failed[cid] = err or "unknown error"
            if on_call:
                on_call(cid, err)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        outcome.wall_s = time.perf_counter() - t0
        store.add_wall(run_plan.run_id, outcome.wall_s)
    if not outcome.interrupted and len(store.stored_call_ids(run_plan.run_id)) == len(
        run_plan.jobs
    ):
        store.mark_finished(run_plan.run_id)
    return outcome
