"""``callgate tune``: run tuning jobs on a stored run's dev calls and write their candidates.

Each job gets the dev calls of one variant, proposes one change, and leaves a folder
``OUT/<job>/`` with ``candidate.yaml`` (when it found a change worth making), ``tuning.json`` (the
:class:`TuningRecord`) and any data file the candidate uses. One change per candidate by default,
so an ASR change and a policy change are judged apart; ``combine`` adds a candidate that takes
every job's change at once and says which (when at least two jobs made one).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callgate.agents.env import CallEnv
from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.scenarios.evaluation import EvaluationRules
from callgate.scenarios.model import Reaction, Scenario, Suite
from callgate.store.db import Store
from callgate.tuning.candidate import leaf_paths, merge, write_candidate
from callgate.tuning.jobs import (
    TUNING_JOBS,
    Progress,
    Proposal,
    TuneCall,
    TuneContext,
    TuningJob,
)
from callgate.tuning.model import TuningRecord
from callgate.tuning.reading import dev_calls, record_reads

COMBINED = "combined"


@dataclass(frozen=True)
class TuneRequest:
    run_id: str
    variant: str
    jobs: list[str]
    params: dict[str, dict[str, Any]]  # job name -> its parameters
    out_dir: Path
    combine: bool = False
    seed: int = 0


def tune(
    store: Store, request: TuneRequest, progress: Progress | None = None
) -> list[TuningRecord]:
    """Run every job of the request; the records, one per job (and one for the combination)."""
    row = store.run(request.run_id)
    spec = row.spec
    variant_spec = spec.variant_specs.get(request.variant)
    if variant_spec is None:
        known = ", ".join(sorted(spec.variant_specs)) or "none"
        raise UsageError(
            f"run {row.run_id} has no variant {request.variant!r} (it has: {known})",
            field="--variant",
        )
    agent: dict[str, Any] = dict(variant_spec.get("agent") or {})
    jobs = _instantiate(request, agent)
    rules = EvaluationRules.model_validate((spec.suite_json or {}).get("evaluation") or {})
    calls = dev_calls(store, row.run_id, request.variant)
    scenarios, reactions = _dev_scenarios(spec.suite_json, calls)
    _writable(request.out_dir)
    env = CallEnv.at(store.root)
    records: list[TuningRecord] = []
    proposals: dict[str, Proposal] = {}
    for name, job in jobs:
        job_dir = request.out_dir / _slug(name)
        job_id = _job_id(name, row.run_id, request, spec.variants.get(request.variant, ""))
        record_reads(store, row.run_id, job_id, calls)
        _clear(job_dir)
        ctx = TuneContext(
            suite=spec.suite,
            rules=rules,
            variant=request.variant,
            agent=copy.deepcopy(agent),  # a job that edits its block in place cannot leak
            calls=calls,
            env=env,
            out_dir=job_dir,
            seed=request.seed,
            progress=progress or (lambda *_: None),
            scenarios=scenarios,
            reactions=reactions,
        )
        proposal = job.propose(ctx)
        proposals[name] = proposal
        record = TuningRecord(
            job=job_id,
            kind=name,
            created=time.time(),
            suite=spec.suite,
            run_id=row.run_id,
            base_variant=request.variant,
            calls_read=sorted(c.trace.call_id for c in calls),
            scenarios_read=sorted({c.trace.scenario_id for c in calls}),
            params=request.params.get(name, {}),
            rationale=proposal.rationale,
            figures=proposal.figures,
            files=[str(f) for f in proposal.files],
        )
        if proposal.patch:
            record = _with_candidate(record, job_dir, request.variant, name, agent, proposal)
        _write_record(job_dir, record)
        records.append(record)
    _clear(request.out_dir / COMBINED, own_files=False)
    if request.combine and sum(r.candidate is not None for r in records) >= 2:
        records.append(_combined(request, row.run_id, agent, records, proposals))
    return records


def _writable(out_dir: Path) -> None:
    """The output folder exists and takes files, before any job runs (or records a read)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write here: {exc.strerror or exc}", field="--out") from None


def _clear(job_dir: Path, own_files: bool = True) -> None:
    """Remove what an earlier run of this job left (its candidate, record and, when it wrote them,
    data files), so a job that now proposes nothing leaves no candidate to be gated by mistake.
    A combination lists its parts' files without owning them: ``own_files=False``."""
    record = job_dir / "tuning.json"
    if not record.is_file():
        return
    try:
        old = TuningRecord.model_validate_json(record.read_text(encoding="utf-8"))
        stale = [Path(f) for f in old.files if own_files and Path(f).parent == job_dir.resolve()]
        stale += [Path(old.candidate)] if old.candidate else []
    except ValueError:
        stale = []
    for path in [*stale, job_dir / "candidate.yaml", record]:
        path.unlink(missing_ok=True)


def _dev_scenarios(
    suite_json: dict[str, Any] | None, calls: list[TuneCall]
) -> tuple[dict[str, Scenario], list[Reaction]]:
    """The scenarios of the dev calls, from the suite the run stored (none for imported runs)."""
    if not suite_json:
        return {}, []
    suite = Suite.model_validate(suite_json)
    wanted = {c.trace.scenario_id for c in calls}
    scenarios = {s.id: s for s in suite.scenarios if s.id in wanted and s.split == "dev"}
    return scenarios, list(suite.reactions)


def _instantiate(request: TuneRequest, agent: dict[str, Any]) -> list[tuple[str, TuningJob]]:
    if not request.jobs:
        raise UsageError("name at least one tuning job", field="--job")
    if len(set(request.jobs)) != len(request.jobs):
        raise UsageError("a job is named twice", field="--job")
    if request.combine and len(request.jobs) < 2:
        raise UsageError("needs at least two jobs to combine", field="--combine")
    for name in request.params:
        if name not in request.jobs:
            raise UsageError(f"parameters for job {name!r}, which is not run", field="--param")
    jobs: list[tuple[str, TuningJob]] = []
    for name in request.jobs:
        TUNING_JOBS.require(name, "--job")
        try:
            job = TUNING_JOBS.create(name, **request.params.get(name, {}))
        except TypeError as exc:  # a constructor refused a parameter
            raise UsageError(f"{name}: {exc}", field="--param") from None
        job.check(agent)
        jobs.append((name, job))
    return jobs


def _job_id(name: str, run_id: str, request: TuneRequest, variant_hash: str) -> str:
    digest = hashlib.sha256(
        json.dumps(
            [variant_hash, request.params.get(name, {}), request.seed], sort_keys=True
        ).encode()
    ).hexdigest()[:8]
    return f"{name}@{run_id}-{digest}"


def _with_candidate(
    record: TuningRecord,
    job_dir: Path,
    variant: str,
    name: str,
    agent: dict[str, Any],
    proposal: Proposal,
) -> TuningRecord:
    candidate_name = f"{variant}-{_slug(name)}"
    path = job_dir / "candidate.yaml"
    why = proposal.rationale[0] if proposal.rationale else name
    write_candidate(path, candidate_name, f"{variant} + {name}: {why}", agent, proposal.patch)
    return record.model_copy(
        update={
            "candidate": str(path),
            "candidate_name": candidate_name,
            "changes": leaf_paths(proposal.patch),
        }
    )


def _combined(
    request: TuneRequest,
    run_id: str,
    agent: dict[str, Any],
    records: list[TuningRecord],
    proposals: dict[str, Proposal],
) -> TuningRecord:
    made = [r for r in records if r.candidate is not None]
    kinds = [r.kind for r in made]
    out = request.out_dir / COMBINED
    record = TuningRecord(
        job=f"{COMBINED}@{run_id}",
        kind=COMBINED,
        created=time.time(),
        suite=made[0].suite,
        run_id=run_id,
        base_variant=request.variant,
        calls_read=sorted({c for r in made for c in r.calls_read}),
        scenarios_read=sorted({s for r in made for s in r.scenarios_read}),
        combines=kinds,
        files=[f for r in made for f in r.files],
    )
    patch: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for r in made:
        for change in r.changes:
            clash = next((p for p in owner if _overlaps(p, change)), None)
            if clash is not None:
                # Which change should win is a decision, not a merge: leave it to the user.
                why = f"not combined: {owner[clash]} and {r.kind} both change {change}"
                record = record.model_copy(update={"rationale": [why]})
                _write_record(out, record)
                return record
            owner[change] = r.kind
        patch = merge(patch, proposals[r.kind].patch)
    name = f"{request.variant}-{COMBINED}"
    path = out / "candidate.yaml"
    write_candidate(path, name, f"{request.variant} + {' + '.join(kinds)}", agent, patch)
    record = record.model_copy(
        update={
            "candidate": str(path),
            "candidate_name": name,
            "changes": leaf_paths(patch),
            "rationale": [
                f"every change of {', '.join(kinds)} at once (each is also a candidate alone)",
                *_shadowed(made, proposals),
            ],
        }
    )
    _write_record(out, record)
    return record


def _shadowed(made: list[TuningRecord], proposals: dict[str, Proposal]) -> list[str]:
    """A route's ``asr`` block replaces the variant's whole ``asr`` for the calls it takes, so
    another job's ASR change does not reach them: say so, it is easy to miss."""
    routed = [
        (r.kind, route["when"])
        for r in made
        for route in proposals[r.kind].patch.get("routes", [])
        if isinstance(route, dict) and route.get("asr") is not None
    ]
    asr_jobs = [r.kind for r in made if any(c.startswith("asr.") for c in r.changes)]
    return [
        f"{', '.join(asr_jobs)}'s ASR change does not reach calls matching {when}: {kind}'s route "
        "replaces their whole asr block"
        for kind, when in routed
        if asr_jobs
    ]


def _slug(name: str) -> str:
    """A job name as a folder and variant name: a ``module:attr`` reference keeps its words."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "job"


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _write_record(job_dir: Path, record: TuningRecord) -> None:
    atomic_write(job_dir / "tuning.json", record.model_dump_json(indent=2) + "\n")
