"""Run call jobs on a Ray cluster: one actor per worker, each loading its models once.

``--executor ray`` starts a private Ray on this machine (loopback only, no dashboard, its own
temporary folder) and stops it at the end; ``--address HOST:PORT`` (or ``auto``) connects to a
running cluster and only disconnects. Each actor runs the initializer in its own process, then one
job per method call, with a short queue per actor so an interrupt or a lost node loses little.

A worker process that dies (killed, out of memory) restarts its actor (the initializer runs again)
and Ray retries the calls queued on it; a call whose actor is lost for good is sent to another
actor. A call may therefore finish twice: results must be idempotent, and the driver keeps the
first (the store deduplicates by call id). See docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from callgate.errors import UsageError
from callgate.execution.executors import _init_worker

PER_ACTOR = 2  # calls queued per actor: enough to keep it busy while the driver stores a result
RESTARTS = 3  # a worker process lost this many times leaves its actor dead
ATTEMPTS = 3  # times one job is sent to an actor before the run stops with an error
LOCAL_OBJECT_STORE = 256 * 1024**2  # results are small JSON: bound what a private Ray reserves
NAMESPACE = "callgate"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "the ray executor needs the ray package: pip install 'callgate[ray]'",
            field="--executor",
        ) from None
    return ray


class _Worker:
    """The actor: its process runs the initializer once (models load once per actor)."""

    def __init__(self, setup: bytes) -> None:
        from ray import cloudpickle

        fn, initializer, initargs = cloudpickle.loads(zlib.decompress(setup))
        _init_worker(initializer, initargs)
        self.fn = fn

    def run(self, job: Any) -> Any:
        return self.fn(job)

    def pid(self) -> int:
        """The worker process's id (what a test or an operator kills to see a restart)."""
        return os.getpid()


@dataclass
class _Sent:
    actor: int
    job: Any
    attempt: int


class RayExecutor:
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.ray = _ray()
        self.workers = workers
        self.address = address
        if address is not None:
            _reachable(address)  # a wrong address fails before a run is planned or stored

    def map_unordered(self, fn, jobs, initializer=None, initargs=()):  # type: ignore[no-untyped-def,unused-ignore]
        it = iter(jobs)
        first = next(it, _END)
        if first is _END:  # nothing to do (a resumed, complete run): do not start Ray
            return
        ray = self.ray
        temp = self._connect()
        actors: list[Any] = []
        try:
            actors = self._actors(fn, initializer, initargs)
            yield from self._drive(actors, _chain(first, it))
        finally:
            if temp is None:  # the caller's Ray stays up: end our actors (and calls in flight)
                for actor in actors:
                    with contextlib.suppress(Exception):
                        ray.kill(actor, no_restart=True)
            else:  # we connected (or started Ray): disconnecting ends the actors we own
                ray.shutdown()
                if temp:
                    shutil.rmtree(temp, ignore_errors=True)

    # -- connection ------------------------------------------------------------------------------

    def _connect(self) -> str | None:
        """Connect; None when Ray was already up in this process (the caller's to stop), else the
        temporary folder of a private Ray we started ("" when we joined a cluster)."""
        ray = self.ray
        if ray.is_initialized():
            return None
        # No usage report to Ray's servers (a user may still opt in).
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        common: dict[str, Any] = {
            "namespace": NAMESPACE,
            "log_to_driver": False,  # errors travel back in the results; model logs stay quiet
            "logging_level": logging.ERROR,
        }
        if self.address is not None:
            try:
                ray.init(address=self.address, **common)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(
                    f"cannot connect to the Ray cluster at {self.address}: {exc}", field="--address"
                ) from None
            return ""
        temp = tempfile.mkdtemp(prefix="callgate-ray-", dir=_short_temp_root())
        try:
            ray.init(
                address="local",  # never join a cluster that happens to run here
                num_cpus=self.workers or os.cpu_count() or 1,
                object_store_memory=LOCAL_OBJECT_STORE,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                _temp_dir=temp,
                **common,
            )
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return temp

    def _actors(
        self,
        fn: Callable[[Any], Any],
        initializer: Callable[..., None] | None,
        initargs: tuple[Any, ...],
    ) -> list[Any]:
        ray = self.ray
        cpus = float(ray.cluster_resources().get("CPU", 0))
        count = self.workers or max(1, int(cpus))
        # More workers than cores share them (as a process pool would) rather than wait forever.
        share = min(1.0, cpus / count) if cpus > 0 else 1.0
        remote = ray.remote(_Worker)
        options: dict[str, Any] = {
            "num_cpus": share,
            "max_restarts": RESTARTS,
            "max_task_retries": RESTARTS,
            "scheduling_strategy": "SPREAD",
            "namespace": NAMESPACE,
        }
        # Compressed (a run's spec carries its whole suite: 144 KB is 15 KB), the setup stays
        # under Ray's 100 KB limit for arguments sent inline with the actor's creation, which a
        # restart reuses; a larger one goes to the object store, and Ray warns that a restart
        # needs it still there (it is: this driver holds it until the end).
        setup = zlib.compress(ray.cloudpickle.dumps((fn, initializer, initargs)))
        tag = uuid.uuid4().hex[:8]
        # Named, so `ray list actors` (or a test) can find each worker and its process.
        return [
            remote.options(name=f"callgate-{tag}-{i}", **options).remote(setup)
            for i in range(count)
        ]

    # -- scheduling ------------------------------------------------------------------------------

    def _drive(self, actors: list[Any], jobs: Iterator[Any]) -> Iterator[Any]:
        ray = self.ray
        lost = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError)
        load = [0] * len(actors)
        dead: set[int] = set()
        again: deque[tuple[Any, int]] = deque()  # jobs whose actor was lost, with attempts made
        sent: dict[Any, _Sent] = {}

        def fill() -> None:
            while True:
                live = [i for i in range(len(actors)) if i not in dead and load[i] < PER_ACTOR]
                if not live:
                    return
                if again:
                    job, attempt = again.popleft()
                else:
                    job = next(jobs, _END)
                    if job is _END:
                        return
                    attempt = 0
                i = min(live, key=load.__getitem__)
                sent[actors[i].run.remote(job)] = _Sent(i, job, attempt + 1)
                load[i] += 1

        fill()
        while sent:
            ready, _ = ray.wait(list(sent), num_returns=1)
            ref = ready[0]
            where = sent.pop(ref)
            load[where.actor] -= 1
            try:
                result = ray.get(ref)
            except lost as exc:
                if getattr(exc, "actor_init_failed", False):  # every actor would fail alike
                    raise RuntimeError(f"a Ray worker failed to start: {exc}") from None
                if isinstance(exc, ray.exceptions.ActorDiedError):
                    dead.add(where.actor)
                if where.attempt >= ATTEMPTS or len(dead) == len(actors):
                    raise RuntimeError(
                        f"Ray workers lost a call {where.attempt} times "
                        f"({len(dead)} of {len(actors)} workers dead): {exc}"
                    ) from exc
                again.append((where.job, where.attempt))
                fill()
                continue
            fill()  # keep the actors busy while the caller stores this result
            yield result


_END = object()


def _reachable(address: str) -> None:
    """A HOST:PORT where nothing listens fails now: Ray itself retries for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # auto, ray://...: Ray's own checks are quick
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise UsageError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start it with "
            "`ray start --head` (docs/scaling.md)",
            field="--address",
        ) from None


def _short_temp_root() -> str:
    """Ray's socket paths (``<root>/callgate-ray-XXXXXXXX/session_<date>_<pid>/sockets/...``)
    must fit in the OS's 107 characters: a long TMPDIR (macOS, pytest) falls back to /tmp."""
    root = tempfile.gettempdir()
    return root if len(root) <= 20 or not os.path.isdir("/tmp") else "/tmp"


def _chain(first: Any, rest: Iterable[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def ray_executor(workers: int | None = None, address: str | None = None) -> RayExecutor:
    return RayExecutor(workers, address)
