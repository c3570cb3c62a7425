"""TTSAccuracy: does the agent's audio say what the agent meant?

Each reply's synthesised audio is recognised by a *judge* ASR and compared with the text the agent
sent to TTS: WER and critical-entity accuracy. The judge is by default a different and stronger
model than the agent's usual one (Whisper base, beam search 5, no domain hints): a judge that runs
the agent's own model shares its blind spots, so a TTS fault the agent's ASR would mishear back
into the intended words goes unseen. Which model judged is recorded with every result, and when
the judge's model is the agent's (from the trace's ``engines["asr"]``) the result says so in its
details, its reason and the report. The audio is also checked for truncation, long internal
silences and clipping. Recognition results are cached by audio content, and agents repeat
themselves a lot, so scoring a run recognises each distinct reply once.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from callgate.errors import MissingModelError
from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.evaluators.text import Spellings, entity_accuracy, tokens
from callgate.evaluators.turn_text import compare_turn
from callgate.speech.audio import Audio
from callgate.speech.protocols import ASREngine
from callgate.traces.model import CallTrace

ACCURACY = Metric(
    "tts_accuracy",
    "higher",
    "fraction",
    "1 - WER of the judge ASR on the agent's audio",
    0.85,
    "rate",
)
WER = Metric(
    "tts_wer", "lower", "fraction", "judge-ASR word error rate on the agent's audio", 0.15, "rate"
)
ENTITY = Metric(
    "tts_entity_accuracy",
    "higher",
    "fraction",
    "share of critical entities in the agent's text that are audible in its audio",
    0.9,
    "rate",
)
ISSUES = Metric(
    "tts_audio_issues",
    "lower",
    "count",
    "replies with truncated audio, a long internal silence or clipping",
    0.0,
)

_AMOUNT = re.compile(r"\d[\d,]*(?:\.\d+)?(?:\s+dollars?)?")
FRAME_S = 0.02
SILENCE_DBFS = -45.0
DEFAULT_JUDGE: dict[str, Any] = {"model": "base", "beam_size": 5, "cpu_threads": 1}
SHARED_NOTE = "judge shares the agent's ASR model"
# A version number as its own word ("1.2.1", "v2.0"): not part of what a model *is*.
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:[.+-]\w+)*$")


def model_key(identity: str) -> tuple[str, ...]:
    """What an engine identity says about the *model*: its fields less settings (``beam=5``, the
    agent's ``hints=...``) and version numbers. Two identities with the same key run the same model
    however they decode, so they share its blind spots."""
    head = identity.split(" hints=", 1)[0]
    out: list[str] = []
    for field in head.split("|"):
        if "=" in field:
            continue
        out += [w for w in field.split() if not _VERSION.match(w)]
    return tuple(out)


def shares_model(judge_identity: str, agent_asr: str | None) -> bool | None:
    """Whether the judge runs the agent's ASR model; None when the trace does not say which ASR
    the agent used (an agent of another kind, an imported call)."""
    if not agent_asr:
        return None
    return model_key(judge_identity) == model_key(agent_asr)


def audio_issues(audio: Audio, text: str, *, max_gap_s: float = 1.0) -> list[str]:
    """Flags for one reply's audio: too short for its words, a long silence inside, clipping."""
    flags: list[str] = []
    x = audio.samples
    hop = max(1, round(FRAME_S * audio.sample_rate))
    n = len(x) // hop
    if n == 0:
        return ["empty audio"]
    frames = x[: n * hop].reshape(n, hop).astype(np.float64)
    loud = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12) > SILENCE_DBFS
    idx = np.flatnonzero(loud)
    if len(idx) == 0:
        return ["silent audio"]
    gaps = np.diff(idx) * FRAME_S
    if len(gaps) and float(gaps.max()) > max_gap_s:
        flags.append(f"internal silence {float(gaps.max()):.2f}s")
    speech_s = (idx[-1] - idx[0] + 1) * FRAME_S
    words = max(1, len(tokens(text)))
    # Fast human speech is about 4 words per second; far less audio than that means cut-off text.
    if speech_s < words / 6.0:
        flags.append(f"truncated: {speech_s:.2f}s of speech for {words} words")
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped > 0.001:
        flags.append(f"clipping {100 * clipped:.2f}% of samples")
    return flags


class TTSAccuracy:
    name: ClassVar[str] = "TTSAccuracy"
    metrics: ClassVar[list[Metric]] = [ACCURACY, WER, ENTITY, ISSUES]

    # The suite's evaluation rules this evaluator takes as parameters (docs/scenarios.md).
    rules: ClassVar[tuple[str, ...]] = ("spellings",)

    def __init__(
        self,
        engine: str = "whisper",
        engine_params: dict[str, Any] | None = None,
        spellings: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        default = dict(DEFAULT_JUDGE) if engine == "whisper" else {}
        self.engine_params = dict(default if engine_params is None else engine_params)
        self.spellings = dict(spellings or {})
        self._canon = Spellings(self.spellings)
        if engine == "whisper":
            # A judge that is not installed fails before a run simulates anything (preflight
            # builds the evaluators), not after every call.
            from callgate.speech.whisper_models import MODELS, check_installed

            model = str(self.engine_params.get("model", ""))
            if model in MODELS:
                try:
                    check_installed(MODELS[model])
                except MissingModelError as exc:
                    raise MissingModelError(f"TTSAccuracy judge: {exc}") from None

    def params(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_params": self.engine_params,
            "spellings": self.spellings,
        }

    def _judge(self, ctx: EvalContext) -> ASREngine:
        from callgate.speech.engines import get_asr
        from callgate.speech.protocols import ASR_ENGINES

        params = dict(self.engine_params)
        models_dir = ctx.options.get("models_dir")
        # The store's model folder, for engines that assemble a model on first use. Not one of the
        # evaluator's parameters: where a model lies must not change the spec hash of the scores.
        takes = inspect.signature(ASR_ENGINES.factory(self.engine)).parameters
        if models_dir is not None and "cache_dir" in takes:
            params.setdefault("cache_dir", str(models_dir))
        try:
            return get_asr(self.engine, **params)
        except MissingModelError as exc:
            raise MissingModelError(exc.message, field="TTSAccuracy judge") from None

    def _judge_details(self, judge: ASREngine, call: CallTrace) -> dict[str, Any]:
        identity = judge.identity()
        agent_asr = call.engines.get("asr")
        shared = shares_model(identity, agent_asr)
        model = self.engine_params.get("model")
        details: dict[str, Any] = {
            "judge": identity,
            "judge_model": f"{self.engine} {model}" if model else self.engine,
            "agent_asr": agent_asr,
            "judge_shares_agent_model": shared,
        }
        if shared:
            details["notes"] = [f"{SHARED_NOTE} ({details['judge_model']})"]
        return details

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        replies = [
            t for t in call.agent_turns if t.reply_audio is not None and t.reply_text.strip()
        ]
        if not replies:
            return EvalResult.not_scored(self.name, "no agent audio", self.metrics)
        if ctx.load_audio is None:
            return EvalResult.not_scored(self.name, "audio store not available", self.metrics)
        judge = self._judge(ctx)
        details = self._judge_details(judge, call)
        errs = ref_words = issues = 0
        hits_all = []
        rows: list[dict[str, Any]] = []
        spellings = self._canon if self.spellings else None  # entities in the suite's spelling
        for t in replies:
            assert t.reply_audio is not None
            audio = ctx.load_audio(t.reply_audio.sha256)
            heard = _transcribe(ctx, judge, audio)
            entities = _reply_entities(call, t.reply_text)
            tt = compare_turn(t.reply_text, heard, entities, spellings=spellings)
            flags = audio_issues(audio, t.reply_text)
            hits_all += tt.entities
            errs += tt.words.errors
            ref_words += tt.words.ref_len
            issues += bool(flags)
            rows.append(
                {
                    "turn": t.index,
                    "intended": t.reply_text,
                    "heard": heard,
                    "tts_wer": tt.wer,
                    "tts_substitutions": [list(p) for p in tt.words.substituted],
                    "flags": flags,
                }
            )
        wer = errs / ref_words if ref_words else None
        metrics = {
            ACCURACY.name: None if wer is None else max(0.0, 1.0 - wer),
            WER.name: wer,
            ENTITY.name: entity_accuracy(hits_all),
            ISSUES.name: float(issues),
        }
        reason = f"judge WER {wer:.3f} over {len(rows)} replies" if wer is not None else "no words"
        if issues:
            reason += f"; {issues} replies with audio issues"
        if details["judge_shares_agent_model"]:
            reason += f"; {SHARED_NOTE}"
        return result(self.name, ACCURACY, metrics, reason, details=details, turns=rows)


def _transcribe(ctx: EvalContext, judge: Any, audio: Audio) -> str:
    cache = ctx.options.get("speech_cache")
    if cache is not None:
        from callgate.speech.protocols import ASRHints

        res, _hit = cache.transcribe(judge, audio, ASRHints())
        return str(res.text)
    return str(judge.transcribe(audio).text)


def _reply_entities(call: CallTrace, text: str) -> list[str]:
    """Critical entities the agent says: the scenario's list plus amounts and numbers it spoke."""
    out = list(call.critical_entities)
    out += [m.group(0) for m in _AMOUNT.finditer(text)]
    return out
