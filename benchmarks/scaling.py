"""Calls per minute of the demo suite on the local executor (1 and 2 workers) and on Ray.

Each line runs the banking suite's first ``--limit`` scenarios (baseline and candidate, grid
default, every cohort of the grid) into a fresh temporary store, so each starts with a cold speech
cache, and simulates only (no scoring). The wall time includes starting the workers and loading
their models, as a user's run does.

The Ray line runs on a two-node cluster on this machine: a head and one worker node, one CPU each,
started with ``ray start`` on 127.0.0.1 (tests/support/ray_cluster.py) inside a network namespace
with only loopback up (tests/support/netns.py: ``unshare --net``, or ``--map-root-user`` as a
normal user), and stopped by process id. Starting the cluster is not timed: a cluster is started
once and serves many runs. Where no namespace can be made, the Ray line is skipped.

Usage: python benchmarks/scaling.py [--limit 10] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

# The cluster and the namespace are test fixtures, not part of callgate: they live with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.netns import netns_prefix, run_in_netns

RESULT = "scaling-result: "


def measure(limit: int, executor: str, workers: int | None, address: str | None = None) -> dict:
    """Simulate the first ``limit`` scenarios into a fresh store: calls and wall seconds."""
    suite = load_suite("banking")
    scenarios = [s.id for s in suite.suite.scenarios[:limit]]
    variants = load_variants(["baseline", "candidate"], suite)
    p = plan(RunRequest(suite, variants, "default", scenarios=scenarios))
    with tempfile.TemporaryDirectory(prefix="callgate-scaling-") as root:
        store = Store.open(Path(root) / "store")
        t0 = time.perf_counter()
        outcome = execute(store, p, executor=executor, workers=workers, address=address)
        wall = time.perf_counter() - t0
    assert not outcome.failed and not outcome.interrupted, outcome.failed
    return {"calls": outcome.done, "wall_s": wall}


def _ray_body(limit: str) -> None:
    """In the namespace: start the cluster, measure a run on it, print the result."""
    from support.ray_cluster import Cluster

    with Cluster() as cluster:
        result = measure(int(limit), "ray", None, cluster.address)
    print(RESULT + json.dumps(result), flush=True)


def on_ray(limit: int) -> dict | None:
    if netns_prefix() is None:
        print("ray: skipped (cannot make a network namespace: unshare --net was refused)")
        return None
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    done = run_in_netns("scaling:_ray_body", str(limit), timeout=1800)
    lines = [x for x in done.stdout.splitlines() if x.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the Ray run failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    return dict(json.loads(lines[-1][len(RESULT) :]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10, help="first N scenarios of the suite")
    parser.add_argument("--no-ray", action="store_true", help="only the local executor")
    args = parser.parse_args()
    rows: list[tuple[str, dict]] = []
    for workers in (1, 2):
        rows.append(
            (
                f"local, {workers} worker{'s' if workers > 1 else ''}",
                measure(args.limit, "local", workers),
            )
        )
        print(_line(*rows[-1]), flush=True)
    if not args.no_ray:
        result = on_ray(args.limit)
        if result is not None:
            rows.append(("ray, 2 nodes x 1 CPU", result))
            print(_line(*rows[-1]), flush=True)
    print("\n| executor | calls | wall s | calls per minute |\n|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['calls']} | {r['wall_s']:.1f} | {60 * r['calls'] / r['wall_s']:.1f} |"
        )


def _line(name: str, r: dict) -> str:
    per_min = 60 * r["calls"] / r["wall_s"]
    return f"{name}: {r['calls']} calls in {r['wall_s']:.1f} s, {per_min:.1f} calls per minute"


if __name__ == "__main__":
    main()
