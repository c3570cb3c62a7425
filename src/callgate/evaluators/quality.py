"""SpeechQuality: how the call sounds to each side, as a MOS-style estimate (DNSMOS, offline).

Two directions, scored per agent turn and per call:

* **the agent's audio as the caller hears it**: each spoken reply's synthesised audio sent through
  the call's channel (band limit, codec, packet loss; ``CallTrace.line``), the way a TTS or codec
  change reaches a caller. The channel's random packet losses are seeded by the reply's audio and
  the channel, so the baseline and the candidate saying the same sentence over the same line lose
  the same packets (a paired comparison then measures the voices, not the luck of the draw) and a
  repeated reply is scored once (the speech cache). Room noise is the caller's, not the agent's,
  and the channel's extra transforms model the caller's handset: neither is applied here. A trace
  without a line (imported, or older) is scored as its audio was recorded, and says so.
* **the caller's audio as the agent hears it**: each caller utterance cut from the call's caller
  track, the degraded audio the agent received. It describes the line more than the agent (both
  variants hear the same caller), so it has no pass threshold; it shows how much the channel and
  noise damaged a cohort's input.

Call values are means over turns weighted by duration: a listener's impression builds up over
time, a 5 s explanation counts for more than a 0.5 s "okay", and DNSMOS itself averages over
time. The P.835 overall score (OVRL) is the primary value; SIG (the speech itself) is reported too,
since a garbled voice shows there even over a quiet line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.scenarios.model import ChannelSpec
from callgate.simulation.channel import apply_channel
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.quality import QualityModel, QualityScores, get_quality
from callgate.traces.model import AgentTurnTrace, CallTrace

AGENT = Metric(
    "agent_audio_mos",
    "higher",
    "MOS",
    "DNSMOS overall quality (OVRL, 1-5) of the agent's replies as the caller hears them, through "
    "the call's channel; duration-weighted mean over replies",
    2.9,
)
AGENT_SPEECH = Metric(
    "agent_speech_mos",
    "higher",
    "MOS",
    "DNSMOS speech-signal quality (SIG, 1-5) of the agent's replies as the caller hears them",
    3.2,
)
CALLER = Metric(
    "caller_audio_mos",
    "higher",
    "MOS",
    "DNSMOS overall quality (OVRL, 1-5) of the caller's audio as the agent received it: the line's "
    "damage to the agent's input (no threshold: both variants hear the same caller)",
)

MIN_CLIP_S = 0.1  # shorter stretches carry no speech to judge


@dataclass(frozen=True)
class _Clip:
    scores: QualityScores
    duration_s: float


class SpeechQuality:
    name: ClassVar[str] = "SpeechQuality"
    metrics: ClassVar[list[Metric]] = [AGENT, AGENT_SPEECH, CALLER]

    def __init__(self, model: str = "dnsmos", model_params: dict[str, Any] | None = None) -> None:
        self.model = model
        self.model_params = dict(model_params or {})
        # Built now so that a missing package or a bad parameter fails at preflight in one line;
        # the ONNX sessions themselves load on the first score.
        self._model: QualityModel = get_quality(self.model, **self.model_params)

    def params(self) -> dict[str, Any]:
        return {"model": self.model, "model_params": self.model_params}

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        if ctx.load_audio is None:
            return EvalResult.not_scored(self.name, "audio store not available", self.metrics)
        spoken = [t for t in call.agent_turns if t.reply_audio is not None and not t.discarded]
        if not spoken and call.caller_audio is None:
            return EvalResult.not_scored(self.name, "no agent or caller audio", self.metrics)
        channel, heard_as = _channel(call)
        agent = {t.index: c for t in spoken if (c := self._agent_clip(ctx, t, channel))}
        caller = self._caller_clips(call, ctx)
        rows = _rows(call, agent, caller)
        metrics: dict[str, float | None] = {
            AGENT.name: _weighted(agent.values(), "ovrl"),
            AGENT_SPEECH.name: _weighted(agent.values(), "sig"),
            CALLER.name: _weighted(caller.values(), "ovrl"),
        }
        reason = _reason(metrics, len(agent), len(caller), heard_as)
        details = {"model": self._model.identity(), "agent_heard": heard_as}
        return result(self.name, AGENT, metrics, reason, turns=rows, details=details)

    # -- the two directions --------------------------------------------------------------------

    def _agent_clip(
        self, ctx: EvalContext, turn: AgentTurnTrace, channel: ChannelSpec | None
    ) -> _Clip | None:
        assert turn.reply_audio is not None and ctx.load_audio is not None
        audio: Audio = ctx.load_audio(turn.reply_audio.sha256)
        if audio.duration < MIN_CLIP_S:
            return None
        if channel is not None:
            audio = _through(audio, channel, turn.reply_audio.sha256)
        return _Clip(self._score(ctx, audio), audio.duration)

    def _caller_clips(self, call: CallTrace, ctx: EvalContext) -> dict[int, _Clip]:
        if call.caller_audio is None or ctx.load_audio is None:
            return {}
        track: Audio = ctx.load_audio(call.caller_audio.sha256)
        out: dict[int, _Clip] = {}
        for u in call.caller_turns:
            clip = track.slice(u.start, u.end)
            if clip.duration >= MIN_CLIP_S:
                out[u.index] = _Clip(self._score(ctx, clip), clip.duration)
        return out

    def _score(self, ctx: EvalContext, audio: Audio) -> QualityScores:
        # Scored as stored (16-bit), so a cached score equals a fresh one sample for sample.
        audio = audio.resample(SAMPLE_RATE).quantised()
        cache = ctx.options.get("speech_cache")  # a store.cache.SpeechCache, when scoring a run
        if cache is None:
            return self._model.score(audio)
        key = (self._model.identity(), audio.content_hash())
        data, _hit = cache.remember("quality", key, lambda: self._model.score(audio).as_dict())
        return QualityScores(**{**data, "windows": int(data["windows"])})


def _channel(call: CallTrace) -> tuple[ChannelSpec | None, str]:
    """(ChannelSpec or None, how the agent's audio was judged) for a call."""
    if call.line is None:
        return None, "as recorded (the trace has no line)"
    spec = ChannelSpec.model_validate(call.line.channel)
    loss = f", {spec.packet_loss:.0%} packet loss" if spec.packet_loss else ""
    rate = f" {spec.sample_rate // 1000} kHz" if spec.type == "telephony" else ""
    return spec, f"through the channel: {spec.type}{rate} {spec.codec}{loss}"


def _through(audio: Audio, channel: ChannelSpec, sha256: str) -> Audio:
    seed = hashlib.sha256(
        (sha256 + json.dumps(channel.model_dump(mode="json"), sort_keys=True)).encode()
    ).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:8], "big"))
    return apply_channel(audio, channel, rng).audio


def _weighted(clips: Any, field: str) -> float | None:
    clips = list(clips)
    total = sum(c.duration_s for c in clips)
    if not clips or total <= 0:
        return None
    return sum(getattr(c.scores, field) * c.duration_s for c in clips) / total


def _rows(
    call: CallTrace, agent: dict[int, _Clip], caller: dict[int, _Clip]
) -> list[dict[str, Any]]:
    """One row per agent turn that has a score: its reply's quality, and the quality of the caller
    utterances it answered (the ones its heard span overlaps)."""
    rows: list[dict[str, Any]] = []
    for t in call.agent_turns:
        heard = [
            caller[u.index]
            for u in call.caller_turns
            if u.index in caller
            and t.heard_start is not None
            and t.heard_end is not None
            and u.start < t.heard_end + 0.05
            and u.end > t.heard_start - 0.05
        ]
        clip = agent.get(t.index)
        if clip is None and not heard:
            continue
        row: dict[str, Any] = {"turn": t.index}
        if clip is not None:
            row |= {
                "agent_mos": clip.scores.ovrl,
                "agent_sig_mos": clip.scores.sig,
                "agent_bak_mos": clip.scores.bak,
            }
        if heard:
            row["caller_mos"] = _weighted(heard, "ovrl")
        rows.append(row)
    return rows


def _reason(metrics: dict[str, float | None], n_agent: int, n_caller: int, heard_as: str) -> str:
    parts = []
    agent, caller = metrics[AGENT.name], metrics[CALLER.name]
    if agent is not None:
        parts.append(f"agent {agent:.2f} MOS over {n_agent} replies, {heard_as}")
    else:
        parts.append("agent: not scored (no spoken reply audio)")
    if caller is not None:
        parts.append(f"caller {caller:.2f} MOS over {n_caller} utterances")
    else:
        parts.append("caller: not scored (no caller track)")
    return "; ".join(parts)
