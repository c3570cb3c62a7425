"""A paired call's variants run together in one worker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from callgate.execution.runner import pair_groups


def test_jobs_are_grouped_by_call_seed_in_plan_order() -> None:
    jobs = [SimpleNamespace(seed=s, call_id=f"{s}{v}") for s in (3, 1, 2) for v in "bc"]
    jobs.append(SimpleNamespace(seed=1, call_id="1x"))  # a third variant of the same call
    groups = pair_groups(cast(Any, jobs))
    ids = [[j.call_id for j in g] for g in groups]
    assert ids == [["3b", "3c"], ["1b", "1c", "1x"], ["2b", "2c"]]
