"""Executors run call jobs and hand back results as they finish.

``inline`` runs in the calling process (tests, debugging); ``local`` uses a pool of worker
processes on this machine; ``ray`` (:mod:`callgate.execution.ray_executor`) runs on a Ray cluster.
A distributed executor may finish a job twice (a retried worker): results must be idempotent, and
the caller keeps the first (the store deduplicates by call id).
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from callgate.errors import UsageError
from callgate.registry import Registry

J = TypeVar("J")
R = TypeVar("R")


class Executor(Protocol):
    name: str

    def map_unordered(
        self,
        fn: Callable[[Any], Any],
        jobs: Iterable[Any],
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> Iterator[Any]: ...


EXECUTORS: Registry[Executor] = Registry("executor", "callgate.executors")


def create_executor(name: str, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor ``name``; ``address`` (a cluster to join) goes only to a factory that takes
    one. Cheap: an executor connects or starts workers when it is given jobs."""
    if address is None:
        return EXECUTORS.create(name, workers=workers)
    factory = EXECUTORS.factory(name)
    params = inspect.signature(factory).parameters.values()
    if not any(p.name == "address" or p.kind is p.VAR_KEYWORD for p in params):
        raise UsageError(
            f"executor {name!r} runs on this machine: --address needs --executor ray",
            field="--address",
        )
    return factory(workers=workers, address=address)


class InlineExecutor:
    name = "inline"

    def map_unordered(self, fn, jobs, initializer=None, initargs=()):  # type: ignore[no-untyped-def,unused-ignore]
        if initializer is not None:
            initializer(*initargs)
        for job in jobs:
            yield fn(job)


def _limit_threads() -> None:
    # Each worker gets one core's worth of math threads; N workers then share the machine fairly.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _init_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    # Ctrl-C is the parent's to handle: it stops handing out work and keeps what is finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()
    if initializer is not None:
        initializer(*initargs)


class LocalExecutor:
    """A process pool. Workers are spawned (not forked) so native model runtimes start clean."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map_unordered(self, fn, jobs, initializer=None, initargs=()):  # type: ignore[no-untyped-def,unused-ignore]
        pending: set[Future[Any]] = set()
        it = iter(jobs)
        ctx = mp.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(initializer, initargs)
        )
        try:
            # Keep a short queue per worker so an interrupt loses little queued work.
            for job in it:
                pending.add(pool.submit(fn, job))
                if len(pending) >= self.workers * 2:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.add(pool.submit(fn, nxt))
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def inline_executor(workers: int | None = None) -> InlineExecutor:
    return InlineExecutor()


def local_executor(workers: int | None = None) -> LocalExecutor:
    return LocalExecutor(workers)
