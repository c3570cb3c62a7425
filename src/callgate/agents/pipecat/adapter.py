"""Running a user's Pipecat pipeline in lock-step with callgate's streaming driver.

Each call gets its own event loop (:class:`~callgate.agents.pipecat.loop.CallLoop`, whose clock
is the call's) and its own pipeline, built by the user's factory around a
:class:`~callgate.agents.pipecat.transport.CallgateTransport`, and started before the call
connects (:meth:`PipecatAdapter.prepare`). The loop runs only inside the adapter's methods: a
push hands one frame of caller audio to the transport and runs the loop until the pipeline is
quiet, which is when

* no callback is ready to run and no executor job (VAD, STT, TTS, a blocking tool) is in flight,
  for a few turns of the loop in a row, and
* nothing the pipeline started is unfinished: an LLM response, a function call, a TTS utterance
  (a cloud service waiting on the network is waited for here), and, once the bot has hung up
  (``EndWorkerFrame``), the pipeline itself: the push that carried the goodbye lasts until the
  pipeline has played it out and ended, so the goodbye and the end of the call come together.
  Its shutdown runs on wall time whatever the clock, as it may wait on Pipecat's timers.

Timers waiting for more call time (the end-of-turn wait) do not keep a push going: they fire in
the push whose frame reaches their time. A push that does not settle within
:data:`SETTLE_TIMEOUT_S` of wall time fails the call with an :class:`AgentFailure` naming what
the pipeline was still doing.

Under ``clock: measured`` the pipeline's threads take call time, and on a real line the caller's
audio keeps arriving while they work: Pipecat transcribes a segment on a thread while its VAD
hears what the caller says next. So a push whose pipeline is waiting only on executor jobs (with
nothing it started unfinished) ends once the call clock reaches the end of the next frame, and the
jobs finish during the pushes that follow, at the call time they take. Were the push to wait for
them, the call clock would run on while no audio came in, and an end-of-turn timer would expire
over a pause the caller has already ended (a slow transcription of "Hi," ends the turn before
"what's my balance" is heard). Under ``clock: audio`` jobs take no call time and a push waits for
them.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine
from typing import Any

from pipecat.pipeline.base_pipeline import BasePipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.workers.runner import WorkerRunner

from callgate.agents.pipecat.loop import CallLoop
from callgate.agents.pipecat.transport import CallgateTransport
from callgate.agents.pipecat.watch import PipelineWatch
from callgate.agents.streaming import AgentLink
from callgate.agents.voice import AgentFailure
from callgate.speech.audio import SAMPLE_RATE, Audio

SETTLE_TIMEOUT_S = 30.0  # wall time a pipeline has to deal with one frame and what it triggers
_CALM_TURNS = 3  # loop turns with nothing to do before a push counts the pipeline as quiet
_NAP_S = 0.0002  # while only threads or the network are working: leave them the CPU


class PipecatAdapter:
    """:class:`~callgate.agents.streaming.StreamAdapter` for one call to a Pipecat pipeline."""

    def __init__(
        self,
        factory: Callable[..., Any],
        params: dict[str, Any],
        *,
        call_id: str,
        measured: bool,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        self._factory = factory
        self._params = params
        self._call_id = call_id
        self._settle_s = settle_timeout_s
        self._measured = measured
        self._loop = CallLoop(measured)
        self._audio_end = 0.0  # caller audio pushed so far (call seconds)
        self._transport: CallgateTransport | None = None
        self._worker: PipelineWorker | None = None
        self._main: asyncio.Task[None] | None = None
        self._watch: PipelineWatch | None = None
        self._failed: AgentFailure | None = None

    # -- StreamAdapter ----------------------------------------------------------------------------

    def prepare(self, link: AgentLink) -> None:
        """Build the pipeline and start it before the call connects, as a deployed bot is up
        before its phone rings: building it (loading models, training a classifier) takes no call
        time. The loop's clock stands at 0 meanwhile. A failure is the call's, raised by
        :meth:`open`."""
        try:
            self._run(self._start(link), 0.0, wall=False)
        except AgentFailure as exc:
            self._failed = exc

    def open(self, link: AgentLink) -> None:
        if self._failed is None and self._transport is None:
            self.prepare(link)
        if self._failed is not None:
            raise self._failed
        self._run(self._connect(), 0.0)

    def push(self, frame: Audio) -> None:
        self._audio_end += frame.duration
        self._run(self._feed(frame), self._audio_end)

    def close(self) -> None:
        loop = self._loop
        if loop.is_closed():
            return
        if self._watch is not None:
            self._watch.closing = True
        loop.run_from(loop.time(), wall=True)  # shutting down may wait on Pipecat's timers
        try:
            loop.run_until_complete(self._shutdown())
        finally:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left, timeout=self._settle_s))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    # -- inside the loop --------------------------------------------------------------------------

    def _run(self, work: Coroutine[Any, Any, None], at: float, wall: bool | None = None) -> None:
        if self._loop.is_closed():
            work.close()
            raise AgentFailure("the Pipecat pipeline was already closed")
        self._loop.run_from(at, wall=wall)
        try:
            self._loop.run_until_complete(work)
        finally:
            self._loop.stop_clock()

    async def _start(self, link: AgentLink) -> None:
        transport = self._transport = CallgateTransport(self._call_id)
        try:
            built = self._factory(transport=transport, tools=link.tools, **self._params)
            if inspect.isawaitable(built):
                built = await built
        except Exception as exc:  # the user's factory: a failed call, not a crash of callgate
            raise AgentFailure(f"the pipeline factory failed: {type(exc).__name__}: {exc}") from exc
        worker = self._worker = _as_worker(built)
        self._watch = PipelineWatch(link, transport.output())
        worker.add_observer(self._watch)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        self._main = asyncio.get_running_loop().create_task(runner.run())
        await self._settle("starting the pipeline", ready=lambda: transport.input().started)

    async def _connect(self) -> None:
        assert self._transport is not None
        await self._transport.connect()
        await self._settle("greeting the caller")

    async def _feed(self, frame: Audio) -> None:
        if self._transport is None:
            raise AgentFailure("audio pushed before the call was opened")
        caller = self._transport.input()
        pcm = frame.resample(caller.sample_rate or SAMPLE_RATE).pcm16().tobytes()
        await caller.feed(pcm)
        # The next frame is due one frame later, whatever the pipeline's threads are doing.
        due = self._audio_end + frame.duration if self._measured else None
        await self._settle("handling the caller's audio", due=due)

    async def _settle(
        self, doing: str, ready: Callable[[], bool] | None = None, due: float | None = None
    ) -> None:
        """Run the loop until the pipeline is quiet; with ``due``, a pipeline waiting only on
        executor jobs is quiet enough once the call clock reaches ``due``."""
        loop, watch, main = self._loop, self._watch, self._main
        assert watch is not None and main is not None
        deadline = time.perf_counter() + self._settle_s
        calm = 0
        shutting_down = False
        while calm < _CALM_TURNS:
            await asyncio.sleep(0)
            if watch.failure is not None:
                raise AgentFailure(watch.failure)
            if watch.hanging_up and not shutting_down:
                shutting_down = True
                loop.run_from(loop.time(), wall=True)  # no more caller audio: time just passes
            if main.done() and not loop.has_ready():
                self._ended(main)
                return
            if loop.has_ready():
                calm = 0
            elif watch.waiting_for() or (ready is not None and not ready()):
                calm = 0
                time.sleep(_NAP_S)
            elif loop.jobs():
                if due is not None and loop.time() >= due:
                    return  # its threads work on while the next frame comes in
                calm = 0
                time.sleep(_NAP_S)
            else:
                calm += 1
            if time.perf_counter() > deadline:
                raise AgentFailure(
                    f"Pipecat did not finish {doing} within {self._settle_s:g} s of wall time: "
                    f"{self._busy_with(ready)}"
                )

    def _busy_with(self, ready: Callable[[], bool] | None) -> str:
        assert self._watch is not None
        what = self._watch.waiting_for()
        if self._loop.jobs():
            what.append(f"{self._loop.jobs()} executor job(s) still running")
        if ready is not None and not ready():
            what.append("the transport never started")
        return "; ".join(what) or "its event loop never went idle"

    def _ended(self, main: asyncio.Task[None]) -> None:
        """The pipeline has stopped by itself: a crash fails the call, anything else ends it."""
        assert self._watch is not None
        if self._watch.closing:
            return
        exc = None if main.cancelled() else main.exception()
        if exc is not None:
            raise AgentFailure(f"the Pipecat pipeline stopped: {type(exc).__name__}: {exc}")
        self._watch.finish_call()

    async def _shutdown(self) -> None:
        main, transport, worker = self._main, self._transport, self._worker
        if main is None or main.done() or transport is None or worker is None:
            return
        try:
            await transport.disconnect()
        finally:
            if not worker.has_finished():
                await worker.cancel(reason="callgate hung up")
            try:
                await asyncio.wait_for(asyncio.shield(main), timeout=self._settle_s)
            except (TimeoutError, asyncio.CancelledError):
                main.cancel()


def _as_worker(built: Any) -> PipelineWorker:
    """What the factory returned, as the worker callgate runs."""
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[1], PipelineParams):
        pipeline, params = built
    else:
        pipeline, params = built, None
    if isinstance(pipeline, PipelineWorker):
        if params is not None:
            raise AgentFailure("the pipeline factory returned a worker together with params")
        return pipeline
    if not isinstance(pipeline, BasePipeline | FrameProcessor):
        raise AgentFailure(
            "the pipeline factory must return a Pipeline, (Pipeline, PipelineParams) or a "
            f"PipelineWorker, not {type(built).__name__}"
        )
    # No RTVI client is on the line, and calls end when callgate hangs up, not on idle.
    return PipelineWorker(
        pipeline,  # type: ignore[arg-type]
        params=params or PipelineParams(audio_in_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )
