"""A synthetic scored run for report tests and benchmarks: no speech models, seconds to build.

Hand-built banking calls (realistic utterances, misrecognitions, tool calls, timings), tiny FLAC
tracks, scores in the stored format with failures and their attribution, paired baseline and
candidate calls, and a matching gate.json document. Seeded: same arguments, same store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callgate.speech.audio import Audio
from callgate.store.blobs import BlobStore
from callgate.store.db import Store
from callgate.store.records import CAUSES
from callgate.traces.model import (
    AgentTurnTrace,
    ASRTrace,
    AudioRef,
    CallerUtteranceTrace,
    CallTrace,
    Event,
    PolicyTrace,
    SpeechPiece,
    ToolCallTrace,
)
from support.synthetic_scores import RUN_ID, call_scores, gate_doc

# (scenario, caller line, a plausible misrecognition, tool, args, call type)
SCENARIOS = [
    (
        "freeze-debit",
        "Please freeze my debit card.",
        "Please fees my debit card.",
        "freeze_card",
        {"card": "debit"},
        "freeze_card",
    ),
    (
        "balance-checking",
        "What's the balance on my checking account?",
        "What's the balance on my chequing account?",
        "get_balance",
        {"account": "checking"},
        "balance",
    ),
    (
        "transfer-fifty",
        "Move fifty dollars from checking to savings.",
        "Move fifteen dollars from checking to savings.",
        "transfer_funds",
        {"amount": 50.0, "from": "checking", "to": "savings"},
        "transfer",
    ),
    (
        "dispute-uber",
        "I want to dispute a charge from Uber.",
        "I want to dispute a charge from you.",
        "dispute_charge",
        {"merchant": "Uber"},
        "dispute",
    ),
    (
        "pin-reset",
        "I forgot my PIN, can you reset it?",
        "I forgot my pen, can you reset it?",
        "reset_pin",
        {"card": "debit"},
        "reset_pin",
    ),
]
COHORTS = [
    ("us-joe", "us", "clean", "phone"),
    ("scottish", "scottish", "clean", "phone"),
    ("us-joe", "us", "babble-10", "phone"),
    ("caribbean", "caribbean", "clean", "wideband"),
]


@dataclass
class SyntheticRun:
    root: Path
    run_id: str
    calls: int
    gate: dict[str, Any]


def _tone(seconds: float, seed: int) -> Audio:
    """Quiet seeded noise: every call gets its own blob (as real calls do), and it stays tiny."""
    rng = np.random.default_rng(seed)
    n = max(1, int(seconds * 16000))
    return Audio((rng.standard_normal(n) * 0.003).astype(np.float32), 16000)


def _trace(
    i: int,
    variant: str,
    sc: tuple[Any, ...],
    cohort: tuple[str, str, str, str],
    fail: bool,
    rng: random.Random,
    audio: tuple[AudioRef, AudioRef] | None,
    evil: str | None,
) -> CallTrace:
    scenario, said, misheard, tool, args, call_type = sc
    voice, accent, noise, channel = cohort
    heard = misheard if fail else said
    if evil is not None:
        said = heard = evil
    slow = 0.3 if variant == "baseline" else 0.0
    t0 = 4.0 + rng.random()
    t1 = t0 + 2.2
    ttfa = 1.0 + slow + rng.random() * 0.5
    reply_at = t1 + ttfa
    tool_calls = (
        []
        if fail
        else [
            ToolCallTrace(
                index=0,
                turn=1,
                tool=tool,
                args=dict(args),
                ok=True,
                result={"ok": True},
                start=reply_at - 0.4,
                end=reply_at - 0.3,
            )
        ]
    )
    if evil is not None:
        tool_calls = [
            ToolCallTrace(
                index=0,
                turn=1,
                tool=tool,
                args={"note": evil},
                ok=False,
                error=evil,
                start=reply_at - 0.4,
                end=reply_at - 0.3,
            )
        ]
    reply = "Sorry, I didn't catch that." if fail else "Done. Anything else?"
    end = reply_at + 2.5
    turns = [
        AgentTurnTrace(
            index=0,
            trigger="start",
            reply_text="Thanks for calling. How can I help?",
            policy=PolicyTrace(action="greet"),
            first_byte=0.4,
            first_audible=0.45,
            playback_end=3.5,
        ),
        AgentTurnTrace(
            index=1,
            trigger="utterance",
            heard_start=t0,
            heard_end=t1,
            reference_text=said,
            end_of_turn=t1 + 0.5,
            asr=ASRTrace(
                text=heard,
                confidence=0.6 if fail else 0.93,
                engine="whisper",
                audio_start=t0,
                audio_end=t1,
            ),
            policy=PolicyTrace(
                action="repair" if fail else "execute",
                intent=tool,
                intent_confidence=0.5 if fail else 0.97,
            ),
            tool_calls=[c.index for c in tool_calls],
            reply_text=reply,
            policy_start=t1 + 0.6,
            policy_end=reply_at - 0.2,
            first_byte=reply_at - 0.05,
            first_audible=reply_at,
            playback_end=end,
            interrupted=fail and i % 3 == 0,
            end_call=True,
        ),
    ]
    events = [
        Event(t=0.0, kind="call_start"),
        Event(t=0.45, kind="agent_audible", turn=0),
        Event(t=t0, kind="caller_speech_start", turn=0),
        Event(t=t1, kind="caller_speech_end", turn=0),
        Event(t=t1 + 0.5, kind="end_of_turn", turn=1),
    ]
    if fail and i % 3 == 0:
        events.append(Event(t=end - 0.5, kind="barge_in", turn=1))
    events.append(Event(t=end, kind="call_end"))
    cohort_id = f"voice={voice}|noise={noise}|channel={channel}"
    return CallTrace(
        call_id=f"{i:04d}{variant[:1]}{rng.getrandbits(48):012x}",
        run_id=RUN_ID,
        suite="banking",
        scenario_id=scenario,
        variant=variant,
        seed=i,
        cohort_id=cohort_id,
        repeat=i // (len(SCENARIOS) * len(COHORTS)),
        cohort={
            "voice": voice,
            "accent": accent,
            "noise": noise,
            "channel": channel,
            "call_type": call_type,
            "split": "holdout" if i % 4 == 0 else "dev",
        },
        split="holdout" if i % 4 == 0 else "dev",
        goal=f"Get this done: {said}",
        expectation={
            "tools": [{"tool": tool, "args": {k: {"equals": v} for k, v in args.items()}}],
            "forbidden_tools": [],
        },
        caller_turns=[
            CallerUtteranceTrace(
                index=0,
                text=said,
                start=t0 - 0.05,
                end=t1 + 0.05,
                pieces=[SpeechPiece(text=said, start=t0, end=t1)],
                why="script",
                voice=voice,
            )
        ],
        agent_turns=turns,
        tool_calls=tool_calls,
        events=events,
        ended_by="agent_hangup",
        duration_s=round(end, 6),
        caller_audio=audio[0] if audio else None,
        agent_audio=audio[1] if audio else None,
    )


def build_run(
    root: Path,
    pairs: int = 1000,
    *,
    seed: int = 0,
    audio_seconds: float = 0.25,
    fail_rate: float = 0.25,
    evil_text: str | None = None,
) -> SyntheticRun:
    """A run of ``pairs`` paired calls per variant (2 x pairs calls) in a new store at ``root``."""
    rng = random.Random(seed)
    store = Store.open(root)
    blobs = BlobStore(root / "blobs")
    store.ensure_run(
        RUN_ID,
        {
            "suite": "banking",
            "grid": "synthetic",
            "seed": seed,
            "variants": ["baseline", "candidate"],
        },
        planned=2 * pairs,
    )
    spec_hash = store.set_evaluation(RUN_ID, [{"name": "Synthetic"}])
    outcomes: dict[str, list[bool]] = {"baseline": [], "candidate": []}
    with store.transaction():  # thousands of one-call commits would take minutes
        for i in range(pairs):
            sc, cohort = SCENARIOS[i % len(SCENARIOS)], _cohort(i)
            base_fail = rng.random() < fail_rate
            # The candidate fixes some failures and breaks a few calls (the regressions).
            cand_fail = rng.random() < 0.6 if base_fail else rng.random() < fail_rate * 0.3
            for variant, fail in (("baseline", base_fail), ("candidate", cand_fail)):
                first = i == 0 and variant == "candidate"
                evil = evil_text if (evil_text is not None and first) else None
                fail = fail or evil is not None
                audio = None
                if audio_seconds > 0:
                    k = 2 * (2 * i + (variant == "candidate"))
                    audio = (
                        blobs.put(_tone(audio_seconds, seed * 7919 + k)),
                        blobs.put(_tone(audio_seconds, seed * 7919 + k + 1)),
                    )
                trace = _trace(i, variant, sc, cohort, fail, rng, audio, evil)
                cause = CAUSES[rng.randrange(len(CAUSES))] if fail else None
                store.put_call(trace)
                store.put_scores(RUN_ID, spec_hash, trace.call_id, call_scores(trace, fail, cause))
                outcomes[variant].append(fail)
    store.mark_finished(RUN_ID)
    store.close()
    return SyntheticRun(
        root, RUN_ID, 2 * pairs, gate_doc(outcomes, [_cohort(i) for i in range(pairs)])
    )


def _cohort(i: int) -> tuple[str, str, str, str]:
    return COHORTS[(i // len(SCENARIOS)) % len(COHORTS)]
