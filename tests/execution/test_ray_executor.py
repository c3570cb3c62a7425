"""The Ray executor: a private local Ray, a resumed run, and a two-node cluster that loses a worker
process mid-run yet stores every call once, exactly as a local run does.

Every body runs in a fresh network namespace with only loopback up (support.netns): Ray binds to
the machine's interfaces. The functions the actors run are module-level here, so Ray's workers
import them by name (the driver's sys.path reaches them).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from support.netns import netns_prefix, run_in_netns

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'callgate[ray]'")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        netns_prefix() is None,
        reason="cannot make a network namespace (unshare --net refused): Ray tests stay on "
        "loopback",
    ),
]

HERE = "execution.test_ray_executor"
SCENARIOS = ["freeze-debit-simple", "balance-checking-simple", "pin-reset-debit"]


def _check(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-6000:]}"


# -- a private Ray, a trivial job --------------------------------------------------------------

_worker: dict[str, Any] = {}


def _remember(tag: str) -> None:
    _worker["tag"] = tag
    _worker["inits"] = _worker.get("inits", 0) + 1


def _square(n: int) -> tuple[int, str, int, int]:
    time.sleep(0.02)
    return n * n, _worker["tag"], os.getpid(), _worker["inits"]


def test_a_private_ray_runs_every_job_and_stops(tmp_path: Path) -> None:
    _check(run_in_netns(f"{HERE}:_private_ray_body", str(tmp_path)))


def _private_ray_body(tmp: str) -> None:
    import ray

    from callgate.execution.executors import create_executor

    # Where the executor makes Ray's folder (short: Ray's socket paths), to see it removed.
    tempfile.tempdir = short = tempfile.mkdtemp(prefix="cg-")
    ex = create_executor("ray", workers=2)
    assert list(ex.map_unordered(_square, [], _remember, ("x",))) == []
    assert not ray.is_initialized(), "no jobs: Ray is not started"
    results = list(ex.map_unordered(_square, range(20), _remember, ("ready",)))
    assert sorted(r[0] for r in results) == [n * n for n in range(20)]
    assert {r[1] for r in results} == {"ready"}
    assert len({r[2] for r in results}) == 2, "two actors, two worker processes"
    assert {r[3] for r in results} == {1}, "the initializer ran once per actor"
    assert not ray.is_initialized(), "the executor stops the Ray it started"
    assert not os.listdir(short), "and removes its folder"
    os.rmdir(short)


# -- resume -------------------------------------------------------------------------------------


def test_an_interrupted_ray_run_resumes_with_only_the_missing_calls(tmp_path: Path) -> None:
    _check(run_in_netns(f"{HERE}:_resume_body", str(tmp_path)))


def _resume_body(tmp: str) -> None:
    from callgate.execution import runner
    from callgate.plugins import load_plugin_modules
    from callgate.scenarios import load_suite
    from callgate.store.db import Store
    from callgate.traces.model import CallTrace
    from callgate.variants import load_variants

    # Instant calls, in this process and (as a plugin of the run) in every actor.
    load_plugin_modules(["support.fake_calls_plugin"])
    from support.fake_calls import GOAL, fake_run_one

    suite = load_suite("banking")
    variants = load_variants(["baseline", "candidate"], suite)
    scenarios = [s.id for s in suite.suite.scenarios[:4]]
    request = runner.RunRequest(suite, variants, "default", scenarios=scenarios)
    p = runner.plan(request)
    planned = len(p.jobs)
    store = Store.open(Path(tmp) / "store")
    store.ensure_run(p.run_id, p.spec, planned)
    for job in p.jobs[:3]:  # stored before: a resumed run must leave them alone
        trace = CallTrace.model_validate_json(fake_run_one(job)[1])
        store.put_call(trace.model_copy(update={"goal": "before"}))

    seen: list[str] = []

    def interrupt_after_five(cid: str, _err: str | None) -> None:
        seen.append(cid)
        if len(seen) == 5:
            raise KeyboardInterrupt  # as Ctrl-C in the driver: keep what is finished

    first = runner.execute(store, p, executor="ray", workers=2, on_call=interrupt_after_five)
    assert first.interrupted and first.already == 3 and first.done == 5
    assert len(store.stored_call_ids(p.run_id)) == 8
    again = runner.execute(store, p, executor="ray", workers=2)
    assert not again.interrupted and not again.failed
    assert (again.already, again.done) == (8, planned - 8)
    traces = list(store.calls(p.run_id))
    assert sorted(t.call_id for t in traces) == sorted(j.call_id for j in p.jobs)
    assert sorted(t.goal for t in traces) == sorted(["before"] * 3 + [GOAL] * (planned - 3))
    assert store.run(p.run_id).finished


# -- the acceptance test: two nodes, a worker process killed mid-run --------------------------


def test_a_two_node_cluster_survives_a_killed_worker_and_matches_a_local_run(
    tmp_path: Path,
) -> None:
    _check(run_in_netns(f"{HERE}:_two_nodes_body", str(tmp_path), timeout=240))


def _run_cmd(store: Path, *executor: str) -> list[str]:
    args = [sys.executable, "-m", "callgate.cli.main", "run", "--suite", "banking"]
    args += ["-v", "baseline", "-v", "candidate", "-c", "noise=clean", "--no-evaluate"]
    for scenario in SCENARIOS:
        args += ["-s", scenario]
    return [*args, *executor, "--store", str(store)]


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _named_actors() -> list[dict[str, str]]:
    import ray

    return list(ray.util.list_named_actors(all_namespaces=True))


def _run_killing_a_worker(address: str, store: Path) -> tuple[str, int]:
    """`callgate run` on the cluster; a worker process killed by its id once a call is stored.
    Returns the run's output and how many calls were stored when the worker was killed."""
    import ray

    run = subprocess.Popen(
        _run_cmd(store, "--executor", "ray", "--address", address),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # A second driver, to find a worker process through its actor. Disconnected before the
    # cluster stops, whatever happens (a driver whose cluster is gone hangs at exit).
    ray.init(address=address, log_to_driver=False)
    try:
        deadline = time.monotonic() + 150
        while _stored(store / "callgate.db") < 1:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no call stored in time"
            time.sleep(0.2)
        names = [a["name"] for a in _named_actors() if a["name"].startswith("callgate-")]
        assert len(names) == 2, names  # one actor per CPU: one on each node
        actor = ray.get_actor(sorted(names)[0], namespace="callgate")
        pid = ray.get(actor.pid.remote(), timeout=60)
        assert os.getsid(pid) == os.getsid(0), "a worker process of this test's cluster"
        killed_at = _stored(store / "callgate.db")
        os.kill(pid, signal.SIGKILL)
        # The actor comes back in a new process (its initializer runs again), unless the run
        # got its last result first and ended its actors before this call was served.
        try:
            assert ray.get(actor.pid.remote(), timeout=120) != pid
        except ray.exceptions.RayActorError:
            assert run.wait(timeout=60) == 0
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
        # The run disconnected: the cluster ended the actors it owned, and lives on.
        while any(a["name"].startswith("callgate-") for a in _named_actors()):
            assert time.monotonic() < deadline + 30, "the run's actors outlived it"
            time.sleep(0.2)
        assert len(ray.nodes()) == 2
        return out, killed_at
    finally:
        ray.shutdown()


def _two_nodes_body(tmp: str) -> None:
    from callgate.store.reader import StoreReader
    from support.ray_cluster import Cluster

    root = Path(tmp)
    on_ray = root / "on-ray"
    with Cluster() as cluster:
        out, killed_at = _run_killing_a_worker(cluster.address, on_ray)
    planned = 2 * 2 * len(SCENARIOS)  # two clean cohorts, two variants
    assert killed_at < planned, "the worker was killed mid-run"
    assert f"{planned}/{planned} calls stored" in out and f"for {planned} new calls" in out, out

    local = root / "local"
    done = subprocess.run(
        _run_cmd(local, "--executor", "local", "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr

    with sqlite3.connect(on_ray / "callgate.db") as conn:
        keys = conn.execute("SELECT scenario_id, cohort_id, variant, repeat FROM calls").fetchall()
    assert len(keys) == len(set(keys)) == planned, "every call stored exactly once"
    by_key = {}
    for store in (on_ray, local):
        reader = StoreReader.open(store)
        (row,) = reader.runs()
        by_key[store] = {
            (t.scenario_id, t.cohort_id, t.variant): t for t in reader.calls(row.run_id)
        }
    assert by_key[on_ray].keys() == by_key[local].keys()
    for key, trace in by_key[on_ray].items():
        # The simulated call, measured compute times aside: same turns, tools and ending.
        assert trace.deterministic_view() == by_key[local][key].deterministic_view(), key
