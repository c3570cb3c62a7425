"""The only way a tuning job sees calls: the dev split of one variant in one stored run.

The store filters the split in its query (:meth:`StoreReader.dev_calls`), so a holdout trace never
reaches tuning code, and every call handed to a job is recorded as read by that job before the job
runs (a crash mid-job still leaves the record: the gate errs towards warning).
"""

from __future__ import annotations

from callgate.errors import UsageError
from callgate.store.db import Store
from callgate.tuning.jobs import TuneCall


def dev_calls(store: Store, run_id: str, variant: str) -> list[TuneCall]:
    scores = store.scores(run_id)
    calls = [TuneCall(t, scores.get(t.call_id)) for t in store.dev_calls(run_id, variant)]
    if not calls:
        raise UsageError(
            f"run {run_id} has no dev-split calls of variant {variant!r}: tuning reads only the "
            "dev split (run the variant with `--split dev` or `--split all` first)"
        )
    return calls


def record_reads(store: Store, run_id: str, job: str, calls: list[TuneCall]) -> None:
    with store.transaction():
        for call in calls:
            if call.trace.split != "dev":  # the query guarantees it; a breach must not pass
                raise RuntimeError(f"tuning was handed holdout call {call.trace.call_id}")
            store.record_tuning_read(run_id, call.trace.call_id, job)
