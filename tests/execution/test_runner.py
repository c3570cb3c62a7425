"""A call finished twice (a retried worker on a cluster) is stored and counted once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from callgate.execution import runner
from callgate.execution.executors import EXECUTORS
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants
from support.fake_calls import fake_run_one


class EveryJobTwice:
    """An executor whose every job finishes twice, as a retried one may on a cluster."""

    name = "twice"

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> Iterator[Any]:
        if initializer is not None:
            initializer(*initargs)
        for job in jobs:
            result = fn(job)
            yield result
            yield result


def test_a_call_finished_twice_is_stored_and_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_run_one", fake_run_one)
    EXECUTORS.register("twice-test")(lambda workers=None: EveryJobTwice())
    try:
        suite = load_suite("banking")
        variants = load_variants(["baseline", "candidate"], suite)
        scenarios = ["freeze-debit-simple", "balance-checking-simple"]
        p = runner.plan(runner.RunRequest(suite, variants, scenarios=scenarios))
        store = Store.open(tmp_path / "store")
        seen: list[str] = []
        outcome = runner.execute(
            store, p, executor="twice-test", on_call=lambda cid, _err: seen.append(cid)
        )
    finally:
        EXECUTORS.unregister("twice-test")
    assert not outcome.failed
    assert outcome.done == len(p.jobs) == len(seen) == len(set(seen))
    assert len(list(store.calls(p.run_id))) == len(p.jobs)
    assert store.run(p.run_id).finished
