"""How the pipeline agent meets a provider fault: the variant's timeouts, retries and fallbacks.

Every request a pipeline call makes to its ASR, TTS or policy goes through :class:`Stages`. Each
attempt takes its seeded latency unless the call's :class:`~callgate.agents.faults.FaultPlan`
hits it: a timeout or an error takes its own time and gives nothing, a slow answer comes late. An
attempt longer than the stage's ``timeout_s`` is given up at ``timeout_s``. After a failure the
stage tries its provider ``retries`` more times, then its ``fallback`` once; the engines are called
only for the attempt that answers, because a failed provider returns nothing to use.

With neither a plan nor a timeout a request is exactly what it was before faults existed: one
latency draw from the call's generator, one engine call. Retries and fallbacks draw their
latencies from a generator of their own, so the call's other latencies stay in step with a twin
call that met no fault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from callgate.agents.env import CallEnv
from callgate.agents.faults import AppliedFault, FaultPlan
from callgate.agents.latency import LatencySampler, LatencySpec
from callgate.agents.pipeline_config import ASREngineSpec, PipelineConfig, TTSEngineSpec
from callgate.agents.voice import AgentFailure
from callgate.errors import UsageError
from callgate.registry import build_part
from callgate.speech.audio import Audio
from callgate.speech.engines import get_asr, get_tts, has_voice
from callgate.speech.protocols import ASR_ENGINES, TTS_ENGINES, ASREngine, ASRHints, ASRResult
from callgate.traces.model import AudioRef
from callgate.traces.recorder import CallRecorder


@dataclass(frozen=True)
class Heard:
    """What came back from the ASR for one turn."""

    result: ASRResult  # empty text when every attempt failed
    engine: str  # the engine that answered (or was tried last)
    done: float  # when the transcript arrived, or the agent gave up
    cached: bool
    ok: bool


@dataclass(frozen=True)
class Voiced:
    """What came back from the TTS for one reply."""

    audio: Audio | None  # None: every attempt failed, the reply stays silent
    ref: AudioRef | None
    first_byte: float


@dataclass(frozen=True)
class _Provider:
    name: str  # what a fault's ``provider`` names: the engine or the policy
    latency: LatencySpec
    primary: bool


class Stages:
    """One call's requests to its ASR, TTS and policy, with the call's faults and the variant's
    ways around them."""

    def __init__(
        self,
        config: PipelineConfig,
        env: CallEnv,
        asr: tuple[ASREngine, ASRHints],
        latency: LatencySampler,
        rec: CallRecorder,
        plan: FaultPlan | None,
        seed: int,
    ) -> None:
        self.config = config
        self.env = env
        self.asr = asr
        self.latency = latency
        self.rec = rec
        self.plan = plan
        self.extra = LatencySampler(np.random.default_rng([seed, 0xFA17]))
        self.requests: dict[str, int] = {}

    def transcribe(self, clip: Audio, start: float, turn: int) -> Heard:
        spec = self.config.asr
        providers = _providers(spec.engine, spec.latency, spec.fallback)
        first = self.latency.sample(spec.latency, audio_s=clip.duration)
        which, done = self._attempts(
            "asr",
            providers,
            spec.timeout_s,
            spec.retries,
            start,
            first,
            turn,
            audio_s=clip.duration,
        )
        if which is None:
            return Heard(ASRResult("", 0.0), providers[-1].name, done, False, False)
        engine, hints = self.asr if which == 0 else _fallback_asr(spec.fallback)
        result, hit = self.env.cache.transcribe(engine, clip, hints)
        # The trace says which answered: a fallback may be the same engine with other settings.
        name = providers[which].name if which == 0 else f"{providers[which].name} (fallback)"
        return Heard(result, name, done, hit, True)

    def synthesize(
        self, tts: Any, text: str, start: float, turn: int, measured: dict[str, float]
    ) -> Voiced:
        """``tts``: the agent's own engine; ``measured`` gets the compute time and cache hit."""
        spec = self.config.tts
        providers = _providers(spec.engine, spec.latency, spec.fallback)
        first = self.latency.sample(spec.latency, chars=len(text))
        which, done = self._attempts(
            "tts", providers, spec.timeout_s, spec.retries, start, first, turn, chars=len(text)
        )
        if which is None:
            return Voiced(None, None, done)
        engine, voice, rate = (tts, spec.voice, spec.rate)
        if which > 0 and spec.fallback is not None:
            fb = spec.fallback
            engine, voice, rate = get_tts(fb.engine, **fb.params), fb.voice, fb.rate
        t0 = time.perf_counter()
        with self.env.stopwatch.time("tts_agent"):
            audio, ref, hit = self.env.cache.synthesize(engine, text, voice, rate)
        measured.update(tts_s=time.perf_counter() - t0, tts_cached=float(hit))
        return Voiced(audio, ref, done)

    def before_policy(self, tools: Any, start: float, think: float, turn: int, chars: int) -> None:
        """Put the policy's failed attempts on the clock (``tools.cursor``: when its tools may
        start). Raises :class:`AgentFailure` when none answered: without a reply the call cannot
        go on, as when an LLM endpoint fails."""
        spec = self.config.policy
        if spec.timeout_s is None and (self.plan is None or "policy" not in self.plan.stages()):
            return
        providers = [_Provider(spec.name, spec.latency, True)]
        which, done = self._attempts(
            "policy", providers, spec.timeout_s, spec.retries, start, think, turn, chars=chars
        )
        tools.cursor = done
        if which is None:
            raise AgentFailure(f"the policy gave no answer (provider fault, {done - start:.1f} s)")

    def _attempts(
        self,
        stage: str,
        providers: list[_Provider],
        timeout_s: float | None,
        retries: int,
        start: float,
        first: float,
        turn: int,
        **load: Any,
    ) -> tuple[int | None, float]:
        """(index of the provider that answered, or None; call time it answered or the agent
        gave up). ``first``: the latency of the first attempt, drawn by the caller in the order
        the call always draws it."""
        request = self.requests.get(stage, 0)
        self.requests[stage] = request + 1
        profile = self.plan.profile if self.plan else ""
        order = [0] * (1 + retries) + list(range(1, len(providers)))
        t = start
        for attempt, which in enumerate(order):
            p = providers[which]
            latency = first if attempt == 0 else self.extra.sample(p.latency, **load)
            fault = (
                self.plan.draw(stage, request, attempt, p.name, p.primary) if self.plan else None
            )
            met = None
            if fault is not None:
                met = AppliedFault.met(stage, fault, p.name, request, attempt, profile)
            took = latency if met is None else met.took(latency)
            if timeout_s is not None and took > timeout_s:  # the agent stops waiting
                injected = fault is not None
                met = AppliedFault(
                    stage, "timeout", p.name, request, attempt, timeout_s, True, profile, injected
                )
                took = timeout_s
            t += took
            if met is not None:
                met.record(self.rec, t, turn)
            if met is None or not met.failed:
                return which, t
        return None, t


def _providers(
    engine: str, latency: LatencySpec, fallback: ASREngineSpec | TTSEngineSpec | None
) -> list[_Provider]:
    out = [_Provider(engine, latency, True)]
    if fallback is not None:
        out.append(_Provider(fallback.engine, fallback.latency, False))
    return out


def _fallback_asr(spec: ASREngineSpec | None) -> tuple[ASREngine, ASRHints]:
    assert spec is not None  # only asked for when the variant has a fallback
    hints = ASRHints(tuple(spec.hints.vocabulary), spec.hints.prompt)
    return get_asr(spec.engine, **spec.params), hints


def fallback_engines(config: PipelineConfig) -> dict[str, str]:
    """Identity of the fallback engines, for the trace's ``engines`` (none without fallbacks)."""
    out: dict[str, str] = {}
    if config.asr.fallback is not None:
        engine, hints = _fallback_asr(config.asr.fallback)
        out["asr_fallback"] = f"{engine.identity()} hints={hints.key()}"
    if (fb := config.tts.fallback) is not None:
        tts = get_tts(fb.engine, **fb.params)
        out["tts_fallback"] = f"{tts.identity()} voice={fb.voice} rate={fb.rate}"
    return out


def check_fallbacks(config: PipelineConfig) -> None:
    """Preflight: every fallback engine exists and takes its parameters and voice."""
    asr = [("asr.fallback", config.asr.fallback)]
    asr += [
        (f"routes[{i}].asr.fallback", r.asr.fallback) for i, r in enumerate(config.routes) if r.asr
    ]
    for where, spec in asr:
        if spec is not None:
            ASR_ENGINES.require(spec.engine, f"{where}.engine")
            build_part(get_asr, spec.engine, spec.params, f"{where}.params")
    if (fb := config.tts.fallback) is not None:
        TTS_ENGINES.require(fb.engine, "tts.fallback.engine")
        tts = build_part(get_tts, fb.engine, fb.params, "tts.fallback.params")
        if not has_voice(tts, fb.voice):
            known = ", ".join(tts.voices())
            raise UsageError(
                f"unknown {fb.engine} voice {fb.voice!r} (known: {known})",
                field="tts.fallback.voice",
            )
