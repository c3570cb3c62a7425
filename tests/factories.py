"""Small hand-built call traces for evaluator tests."""

from __future__ import annotations

from typing import Any

from callgate.traces.model import (
    AgentTurnTrace,
    ASRTrace,
    CallerUtteranceTrace,
    CallTrace,
    CostItem,
    Event,
    SpeechPiece,
    ToolCallTrace,
)


def caller(
    index: int,
    text: str,
    start: float,
    end: float,
    why: str = "script",
    entities: list[str] | None = None,
) -> CallerUtteranceTrace:
    return CallerUtteranceTrace(
        index=index,
        text=text,
        pieces=[SpeechPiece(text=text, start=start, end=end)],
        start=start,
        end=end,
        why=why,
        entities=entities or [],
    )


def agent(
    index: int,
    reply: str,
    *,
    heard: tuple[float, float] | None = None,
    asr: str | None = None,
    first_audible: float | None = None,
    playback_end: float | None = None,
    **kw: Any,
) -> AgentTurnTrace:
    asr_trace = None
    if heard is not None and asr is not None:
        asr_trace = ASRTrace(
            text=asr, confidence=0.9, engine="whisper", audio_start=heard[0], audio_end=heard[1]
        )
    return AgentTurnTrace(
        index=index,
        trigger="utterance" if heard else kw.pop("trigger", "start"),
        heard_start=heard[0] if heard else None,
        heard_end=heard[1] if heard else None,
        reference_text=kw.pop("reference", None),
        asr=asr_trace,
        reply_text=reply,
        first_byte=None if first_audible is None else first_audible - 0.05,
        first_audible=first_audible,
        playback_end=playback_end,
        **kw,
    )


def call(**kw: Any) -> CallTrace:
    base: dict[str, Any] = {
        "call_id": "c1",
        "run_id": "r1",
        "suite": "s",
        "scenario_id": "x",
        "variant": "v",
        "seed": 1,
        "cohort_id": "voice=a|noise=clean|channel=phone",
        "cohort": {"voice": "a"},
    }
    base.update(kw)
    return CallTrace(**base)


def tool(
    index: int, name: str, args: dict[str, Any], start: float, turn: int = 1, ok: bool = True
) -> ToolCallTrace:
    return ToolCallTrace(
        index=index, turn=turn, tool=name, args=args, ok=ok, start=start, end=start + 0.1
    )


def cost(amount: float) -> list[CostItem]:
    return [CostItem(kind="asr", quantity=1.0, unit="minute", unit_price=amount, amount=amount)]


def event(t: float, kind: str, turn: int | None = None) -> Event:
    return Event(t=t, kind=kind, turn=turn)  # type: ignore[arg-type]


# Domain rules as a banking suite's `evaluation:` block gives them: the core evaluators know no
# domain, so their tests pass the rules the way a suite would.
BANK_RULES: dict[str, Any] = {
    "sensitive_tools": ["freeze_card", "transfer_funds", "dispute_charge", "reset_pin"],
    "handoff_tools": ["transfer_to_human"],
    "confirmation_phrases": ["is that right", "confirm"],
    "handoff_phrases": ["transfer you", "connect you", "put you through"],
    "personal_data": {
        "card_number": r"\b(?:\d[ -]?){12,19}\b",
        "pin": r"(?i)\bpin\b(?:\s+number)?\s*(?:is|was|will be|:|=)?\s*\d{4,6}\b",
    },
    "forbidden_claims": ["guarantee", "guaranteed", "we will refund", "the dispute is approved"],
    "entities": ["debit", "credit", "checking", "savings", "amazon", "uber", "netflix"],
    "intents": {
        "freeze": ["freeze", "frozen", "freezing", "block", "blocked", "lock", "locked"],
        "transfer": ["transfer", "transferred", "move", "moved", "send", "sent"],
        "dispute": ["dispute", "disputed"],
        "reset pin": ["reset", "pin"],
        "balance": ["balance"],
    },
}


def domain(cls: Any, **params: Any) -> Any:
    """An evaluator built with the banking rules it declares (``cls.rules``), plus ``params``."""
    taken = {name: BANK_RULES[name] for name in getattr(cls, "rules", ()) if name in BANK_RULES}
    return cls(**{**taken, **params})
