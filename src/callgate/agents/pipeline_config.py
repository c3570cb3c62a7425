"""The pipeline agent's configuration: the ``agent:`` block of a variant whose kind is ``pipeline``.

Every field a team tunes in callgate's own VAD -> ASR -> policy -> tools -> TTS loop lives here, so
a tuning job writes a new candidate by editing one block. See ``docs/variants.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callgate.agents.latency import LatencySpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Stage defaults, fitted by benchmarks/simulation.py on the demo suite (2-core machine, 2026-11-25):
# Whisper tiny.en int8 took 0.50-0.67 s per utterance (+0.01 s per second of audio: the encoder
# always runs a 30 s window); piper took 0.12 s + 4.3 ms per character for a whole reply; the
# reference policy 3 ms. Tools are the simulator's own, so their latency is an assumed network
# round trip to a service API, not a measurement.
class ASRLatency(LatencySpec):
    base_s: float = Field(0.5, ge=0.0, le=30.0)
    per_audio_s: float = Field(0.01, ge=0.0, le=10.0)


class TTSLatency(LatencySpec):
    base_s: float = Field(0.12, ge=0.0, le=30.0)
    per_char_s: float = Field(0.0043, ge=0.0, le=1.0)


class PolicyLatency(LatencySpec):
    base_s: float = Field(0.005, ge=0.0, le=30.0)
    jitter: float = Field(0.25, ge=0.0, le=2.0)


class ToolLatency(LatencySpec):
    network_s: float = Field(0.15, ge=0.0, le=10.0)
    jitter: float = Field(0.3, ge=0.0, le=2.0)


class ASRHintsSpec(_Strict):
    vocabulary: list[str] = Field(default_factory=list)
    prompt: str = ""


class ASREngineSpec(_Strict):
    """One ASR engine: the agent's own, or the fallback it sends the audio to."""

    engine: str = "whisper"
    params: dict[str, Any] = Field(default_factory=dict, description="engine constructor params")
    hints: ASRHintsSpec = ASRHintsSpec()
    latency: ASRLatency = ASRLatency()


# What a stage does when its provider fails or hangs (a suite's fault profiles exercise it): give
# up after ``timeout_s`` of call time, try the same provider ``retries`` more times, then the
# fallback once. ``timeout_s`` None waits for the provider to answer or fail.
def _timeout() -> Any:
    return Field(None, gt=0.0, le=60.0, description="give up on a request after this long")


def _retries() -> Any:
    return Field(0, ge=0, le=5, description="more attempts on the same provider after a failure")


class ASRSpec(ASREngineSpec):
    timeout_s: float | None = _timeout()
    retries: int = _retries()
    fallback: ASREngineSpec | None = Field(
        None, description="the engine the same audio goes to once the primary has failed"
    )


class TTSEngineSpec(_Strict):
    """One TTS engine and voice: the agent's own, or its fallback."""

    engine: str = "piper"
    voice: str = "joe"
    rate: float = Field(1.0, gt=0.3, le=3.0)
    params: dict[str, Any] = Field(default_factory=dict)
    latency: TTSLatency = TTSLatency()


class TTSSpec(TTSEngineSpec):
    lexicon: dict[str, str] = Field(
        default_factory=dict, description="respellings the voice needs to say domain terms right"
    )
    timeout_s: float | None = _timeout()
    retries: int = _retries()
    fallback: TTSEngineSpec | None = Field(
        None, description="the voice that says the reply once the primary has failed"
    )


class VADSpec(_Strict):
    engine: str = "energy"
    params: dict[str, Any] = Field(default_factory=dict)


class TurnSpec(_Strict):
    """End-of-turn and interruption settings: the knobs teams tune for responsiveness."""

    end_of_turn_silence_ms: int = Field(800, ge=50, le=5000)
    barge_in: bool = True
    barge_in_min_speech_ms: int = Field(200, ge=0, le=3000)
    barge_in_stop_ms: int = Field(150, ge=0, le=3000)
    no_input_timeout_s: float = Field(6.0, ge=0.5, le=60.0)
    detector: Literal["silence", "smart-turn"] = Field(
        "silence",
        description="silence: a pause of end_of_turn_silence_ms ends the turn; smart-turn: the "
        "model decides after model_wait_ms, the silence wait stays as the fallback",
    )
    model_wait_ms: int = Field(200, ge=50, le=3000, description="pause before smart-turn is asked")
    model_threshold: float = Field(
        0.5, gt=0.0, lt=1.0, description="P(turn complete) at which smart-turn ends the turn"
    )
    max_tail_s: float = Field(
        3.0,
        ge=0.2,
        le=30.0,
        description="while the VAD still hears speech (noise) this long after the caller's "
        "words, the agent takes the turn anyway",
    )


class PolicySpec(_Strict):
    name: str = Field(min_length=1, description="a registered dialogue policy or module:attr")
    version: str = "1.0"
    params: dict[str, Any] = Field(default_factory=dict)
    latency: PolicyLatency = PolicyLatency()
    timeout_s: float | None = _timeout()
    retries: int = _retries()


class ToolsSpec(_Strict):
    toolset: str = Field(min_length=1, description="a registered tool set or module:attr")
    schema_version: str = "1"
    params: dict[str, Any] = Field(default_factory=dict)
    latency: ToolLatency = ToolLatency()


class RoutingSpec(_Strict):
    """When the agent hands the caller to a human (the policy reads these)."""

    transfer_after_failures: int = Field(2, ge=1, le=20)


ROUTE_KEYS = ("locale", "channel")  # what the line tells an agent about a call before it starts


class RouteSpec(_Strict):
    """A rule for some calls: those whose line metadata match ``when`` get this ASR (another
    engine, model or hint set) or a sooner hand-off. The first matching route applies."""

    when: dict[str, list[str]] = Field(
        min_length=1, description="call metadata -> values: locale (en-GB), channel (phone)"
    )
    asr: ASRSpec | None = Field(None, description="replaces the variant's asr for these calls")
    transfer_after_failures: int | None = Field(
        None, ge=1, le=20, description="replaces routing.transfer_after_failures for these calls"
    )

    @field_validator("when")
    @classmethod
    def _known_keys(cls, when: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(when) - set(ROUTE_KEYS))
        if unknown:
            raise ValueError(
                f"unknown call metadata {', '.join(unknown)} (before a call starts an agent "
                f"knows {', '.join(ROUTE_KEYS)})"
            )
        if any(not values for values in when.values()):
            raise ValueError("every key needs at least one value")
        return when

    def matches(self, metadata: dict[str, Any]) -> bool:
        return all(str(metadata.get(key)) in values for key, values in self.when.items())


class PriceTable(_Strict):
    """Prices in the variant's currency, for cost per call and per completed call."""

    currency: str = "USD"
    asr_per_minute: float = Field(0.0, ge=0.0)
    tts_per_1k_chars: float = Field(0.0, ge=0.0)
    policy_per_call: float = Field(0.0, ge=0.0, description="per policy invocation (one per turn)")
    telephony_per_minute: float = Field(0.0, ge=0.0)


class PipelineConfig(_Strict):
    """``agent: {kind: pipeline, ...}``: the engines, turn-taking, policy, tools and prices."""

    kind: Literal["pipeline"] = "pipeline"
    asr: ASRSpec = ASRSpec()
    tts: TTSSpec = TTSSpec()
    vad: VADSpec = VADSpec()
    turn: TurnSpec = TurnSpec()
    policy: PolicySpec
    tools: ToolsSpec
    routing: RoutingSpec = RoutingSpec()
    routes: list[RouteSpec] = Field(
        default_factory=list, description="per-call rules by line metadata, first match applies"
    )
    prices: PriceTable = PriceTable()

    def routed(self, metadata: dict[str, Any]) -> tuple[int | None, PipelineConfig]:
        """The index of the first route these calls take (None: no route) and the configuration
        they run with."""
        for i, route in enumerate(self.routes):
            if route.matches(metadata):
                update: dict[str, Any] = {}
                if route.asr is not None:
                    update["asr"] = route.asr
                if route.transfer_after_failures is not None:
                    update["routing"] = RoutingSpec(
                        transfer_after_failures=route.transfer_after_failures
                    )
                return i, self.model_copy(update=update)
        return None, self
