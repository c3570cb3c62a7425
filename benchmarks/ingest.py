"""Time `callgate ingest` on a 10,000-call JSONL log, beside the one-call-at-a-time alternative.

Generates the log with the test suite's synthetic production traffic (``tests/support/
call_logs.py``: two releases, four accents, clustered callers, 2 to 6 turns per call), then times,
in one process and on fresh stores:

* **ingest**: what `callgate ingest` runs (:func:`callgate.production.ingest.batch.ingest`):
  read and validate every line, convert, then store and score every call in one transaction;
* **re-ingest**: the same file again (every call is known: nothing is added);
* **per call**: the alternative of storing each call in its own commit, then scoring the run with
  the scoring path `callgate evaluate` uses (:func:`callgate.execution.scoring.score_run`, inline).

Prints calls per second for each, and the peak resident memory of the process.
Goal (issue 12): 10,000 calls in under a minute on a 2-core machine.

Usage: python benchmarks/ingest.py [--calls 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from callgate.evaluators.suite import evaluation_spec
from callgate.execution.scoring import score_run
from callgate.production.ingest.batch import ingest
from callgate.production.ingest.formats import JsonlLog
from callgate.production.ingest.to_trace import to_trace
from callgate.store.db import Store
from callgate.store.run_spec import RunSpec

# The synthetic traffic is a test fixture, not part of callgate: it lives with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.call_logs import make_calls, write_call_log


def per_call(root: Path, log: Path) -> float:
    """Store each call in its own commit, then score the run as `callgate evaluate` would."""
    t0 = time.perf_counter()
    store = Store.open(root)
    traces = [
        to_trace(e.log, run_id="percall00000", fmt="jsonl", file=log.name, line=e.line)
        for e in JsonlLog().read(log)
        if e.log is not None
    ]
    store.ensure_run("percall00000", RunSpec(suite="banking-prod"), len(traces))
    for trace in traces:
        store.put_call(trace)
    score_run(store, "percall00000", evaluation_spec(), executor="inline")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="Keep the log and stores in this folder.")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="callgate-ingest-"))
    root.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    log = write_call_log(root / "calls.jsonl", make_calls(args.calls, seed=0))
    made = time.perf_counter() - t0
    mb = log.stat().st_size / 1e6
    print(f"log: {args.calls} calls, {mb:.1f} MB, generated in {made:.1f} s")

    store = Store.open(root / "store")
    t0 = time.perf_counter()
    out = ingest(store, [log])
    took = time.perf_counter() - t0
    assert out.added == args.calls, out
    t0 = time.perf_counter()
    again = ingest(store, [log])
    retook = time.perf_counter() - t0
    assert again.added == 0 and again.known == args.calls, again
    slow = per_call(root / "per-call-store", log)

    print(
        f"ingest (one transaction, scored on the way in): {took:6.1f} s, "
        f"{args.calls / took:7.0f} calls/s"
    )
    print(f"re-ingest of the same file (nothing added):    {retook:6.1f} s")
    print(
        f"per call (a commit each, then score_run):      {slow:6.1f} s, "
        f"{args.calls / slow:7.0f} calls/s ({slow / took:.1f}x the time)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MB")
    print(f"goal: {args.calls} calls under 60 s: {'met' if took < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
