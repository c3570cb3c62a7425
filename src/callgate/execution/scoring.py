"""Score every call of a run with an evaluator set, resumably and in parallel.

Scores are stored per call next to the traces, tagged with the hash of the evaluator spec (names and
parameters): re-scoring with the same spec only fills in what is missing; a different spec starts
over, so a results table never mixes scores from two configurations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callgate.execution.executors import create_executor
from callgate.plugins import load_plugin_modules, loaded_plugin_modules
from callgate.store.db import Store
from callgate.store.records import Attribution, CallScores
from callgate.store.run_spec import RunSpec

_state: dict[str, Any] = {}


def _init(
    store_root: str, spec: list[dict[str, Any]], run_spec: RunSpec, plugin_modules: list[str]
) -> None:
    from callgate.agents.env import CallEnv
    from callgate.evaluators.base import EvalContext
    from callgate.evaluators.suite import build_all

    # A spawned worker sees the entry points by itself; --plugin modules it must import again.
    load_plugin_modules(plugin_modules)
    env = CallEnv.at(Path(store_root))
    _state["store"] = Store(Path(store_root))
    _state["evaluators"] = build_all(spec)
    # models_dir: where an evaluator's engine may assemble a model once per store (TTSAccuracy).
    options = {"speech_cache": env.cache, "models_dir": env.models_dir}
    _state["ctx"] = EvalContext(load_audio=env.blobs.get, options=options)
    try:
        _state["replay"] = _replay_inputs(run_spec)
    except ValueError:  # a run stored by an older callgate: score it, but do not replay it
        _state["replay"] = None
    _state["models_dir"] = env.models_dir


def _replay_inputs(run_spec: RunSpec) -> tuple[Any, dict[str, Any]] | None:
    """(suite, variants by name) for oracle replays, from the run spec, or None if unavailable."""
    from callgate.scenarios.model import Suite
    from callgate.variants.model import Variant

    if run_spec.suite_json is None:  # an imported or hand-made run: nothing to replay
        return None
    variants = {k: Variant.model_validate(v) for k, v in run_spec.variant_specs.items()}
    return Suite.model_validate(run_spec.suite_json), variants


def _score(job: tuple[str, str]) -> tuple[str, CallScores | None, str | None]:
    from callgate.evaluators.suite import score_call

    run_id, call_id = job
    try:
        trace = _state["store"].call(run_id, call_id)
        scores = score_call(trace, _state["evaluators"], _state["ctx"])
        scores.attribution = _attribute(trace, scores)
        return call_id, scores, None
    except Exception as exc:
        return call_id, None, f"{type(exc).__name__}: {exc}"


def _attribute(trace: Any, scores: CallScores) -> Attribution:
    from callgate.inspection.attribution import attribute

    inputs = _state.get("replay")
    scenario = variant = None
    reactions: list[Any] = []
    if inputs is not None:
        suite, variants = inputs
        scenario = next((s for s in suite.scenarios if s.id == trace.scenario_id), None)
        variant = variants.get(trace.variant)
        reactions = list(suite.reactions)
    return attribute(trace, scores, scenario, variant, reactions, _state.get("models_dir"))


@dataclass
class ScoringOutcome:
    scored: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def score_run(
    store: Store,
    run_id: str,
    spec: list[dict[str, Any]],
    *,
    executor: str = "local",
    workers: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_call: Callable[[], None] | None = None,
    address: str | None = None,
) -> ScoringOutcome:
    from callgate.evaluators.suite import build_all, resolved_spec

    run_spec = store.run(run_id).spec
    # The run's own plugin modules, and any given now (an evaluator plugin added to score with).
    load_plugin_modules(run_spec.plugins.modules)
    ex = create_executor(executor, workers, address)  # before anything is written
    modules = list(dict.fromkeys([*run_spec.plugins.modules, *loaded_plugin_modules()]))
    resolved = resolved_spec(spec, build_all(spec))  # fills in default parameters before hashing
    spec_hash = store.set_evaluation(run_id, resolved)
    have = store.scored_call_ids(run_id, spec_hash)
    todo = sorted(store.stored_call_ids(run_id) - have)
    out = ScoringOutcome(already=len(have))
    if on_start:
        on_start(len(todo) + len(have), len(have))
    jobs = [(run_id, cid) for cid in todo]
    init_args = (str(store.root.resolve()), resolved, run_spec, modules)
    scored: set[str] = set()
    for call_id, scores, err in ex.map_unordered(_score, jobs, _init, init_args):
        if call_id in scored or (scores is None and call_id in out.failed):
            continue  # scored twice (a retried worker): counted once
        if scores is not None:
            store.put_scores(run_id, spec_hash, call_id, scores)
            scored.add(call_id)
            out.failed.pop(call_id, None)
            out.scored += 1
        else:
            out.failed[call_id] = err or "unknown error"
        if on_call:
            on_call()
    return out
