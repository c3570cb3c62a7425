"""Synthetic production call logs in callgate's JSONL call-log format (docs/production.md).

Shaped like real traffic, not like the model the signals assume: calls cluster by caller (a per-call
difficulty shared by its turns), confidence and corrections depend on accent and channel, time to
first audio is log-normal with a heavy tail, and by default the second release answers some
Scottish phone callers' turns seconds late. ``malformed`` lines are written broken on purpose (the
reader must name them).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ACCENTS = {"us": 0.45, "english": 0.2, "scottish": 0.15, "indian": 0.2}
CHANNELS = {"phone": 0.6, "app": 0.4}
TASKS = {
    "balance": (
        "what's the balance on my checking account",
        "get_balance",
        {"account": "checking"},
    ),
    "freeze": ("I need to freeze my debit card", "freeze_card", {"card": "debit"}),
    "dispute": (
        "there's a charge I don't recognise from uber",
        "dispute_charge",
        {"merchant": "uber"},
    ),
    "transfer": ("move two hundred dollars to savings", "transfer_funds", {"amount": 200.0}),
}
MISHEARD = {"freeze": "fees", "checking": "chicken", "uber": "over", "savings": "saving"}


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    return str(rng.choice(names, p=np.array(list(weights.values())) / sum(weights.values())))


def make_call(
    i: int,
    rng: np.random.Generator,
    release: str,
    started: datetime,
    harm: dict[str, float] | None = None,
    spike: float = 0.0,
) -> dict[str, Any]:
    accent, channel = _pick(rng, ACCENTS), _pick(rng, CHANNELS)
    task = str(rng.choice(list(TASKS)))
    request, tool, args = TASKS[task]
    hard = {"us": 0.0, "english": 0.3, "indian": 0.6, "scottish": 1.0}[accent]
    hard += 0.5 if channel == "phone" else 0.0
    difficulty = rng.normal(hard, 0.6)  # the caller's own: shared by every turn of the call
    t = 0.0
    turns: list[dict[str, Any]] = []
    slowed = spike if accent == "scottish" and channel == "phone" else 0.0

    def agent(
        text: str, *, tools: list[dict[str, Any]] | None = None, transfer: bool = False
    ) -> None:
        nonlocal t
        ttfa = float(np.exp(rng.normal(math.log(0.8), 0.35)))
        if slowed and rng.random() < slowed:
            ttfa += float(rng.uniform(2.0, 5.0))
        start = t + ttfa
        end = start + 0.06 * len(text.split()) + 0.4
        turn: dict[str, Any] = {
            "speaker": "agent",
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "end_of_turn": round(t + 0.5, 3),
        }
        if tools:
            turn["tool_calls"] = tools
        if transfer:
            turn["transfer"] = True
        turns.append(turn)
        t = end

    def caller(said: str) -> float:
        nonlocal t
        start = t + float(rng.uniform(0.3, 0.9))
        end = start + 0.33 * len(said.split())
        conf = float(1 / (1 + math.exp(-(2.2 - difficulty + rng.normal(0, 0.5)))))
        heard = said
        if conf < 0.55:
            for word, wrong in MISHEARD.items():
                heard = heard.replace(word, wrong)
        turns.append(
            {
                "speaker": "caller",
                "start": round(start, 3),
                "end": round(end, 3),
                "text": heard,
                "confidence": round(conf, 3),
            }
        )
        t = end
        return conf

    agent("Thank you for calling. How can I help you today?")
    conf = caller(request)
    repeats = 0
    while conf < 0.55 and repeats < 2:
        agent("Sorry, I didn't catch that. Could you say it again?")
        conf = caller(f"no, I said {request}" if rng.random() < 0.5 else request)
        repeats += 1
    transfer = conf < 0.55 or rng.random() < 0.04
    if transfer:
        agent("Let me transfer you to a colleague.", transfer=True)
        resolved = False
    else:
        # ``harm``: the share of an accent's tool calls this release breaks on top (a regression).
        ok = rng.random() > 0.03 + (harm or {}).get(accent, 0.0)
        call = {
            "tool": tool,
            "args": args,
            "ok": ok,
            "result": {"status": "done"} if ok else {},
            "error": None if ok else "timeout",
        }
        agent("Done. Anything else?" if ok else "Something went wrong.", tools=[call])
        caller("no that's all thank you")
        agent("Goodbye!")
        resolved = ok
    minutes = t / 60
    return {
        "call_id": f"call-{i:06d}",
        "started_at": (started).isoformat().replace("+00:00", "Z"),
        "release": release,
        "suite": "banking-prod",
        "scenario": task,
        "tags": {"accent": accent, "channel": channel, "call_type": task},
        "duration_s": round(t + 0.5, 3),
        "resolved": resolved,
        "turns": turns,
        "costs": [
            {"kind": "asr", "amount": round(0.006 * minutes, 6), "quantity": round(minutes, 4),
             "unit": "minute", "unit_price": 0.006},
            {"kind": "llm", "amount": round(0.0004 * len(turns), 6)},
            {"kind": "telephony", "amount": round(0.0085 * minutes, 6)},
        ],
        "engines": {"asr": "whisper-small", "tts": "piper"},
    }  # fmt: skip


def make_calls(
    n: int,
    *,
    seed: int = 0,
    releases: tuple[str, ...] = ("2026.11.1", "2026.11.2"),
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    days: float = 14.0,
    harm: dict[str, float] | None = None,
    spike: float = 0.08,
) -> list[dict[str, Any]]:
    """``n`` calls spread evenly over ``days``; releases take turns in consecutive time blocks.
    Every release but the first gets ``harm`` (accent -> share of its calls failing more) and
    ``spike`` (the share of Scottish phone callers' turns answered 2 to 5 s late)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        at = start + timedelta(days=days * i / max(n, 1))
        release = releases[min(len(releases) - 1, i * len(releases) // max(n, 1))]
        later = release != releases[0]
        out.append(make_call(i, rng, release, at, harm if later else None, spike if later else 0.0))
    return out


def write_call_log(
    path: Path, calls: list[dict[str, Any]], *, malformed: tuple[int, ...] = ()
) -> Path:
    """One call per line; the 1-based line numbers in ``malformed`` are written broken (alternately
    not JSON, and JSON missing its ``release``)."""
    with path.open("w", encoding="utf-8") as fh:
        for line, call in enumerate(calls, 1):
            if line in malformed:
                if line % 2:
                    fh.write(json.dumps(call)[:-20] + "\n")
                else:
                    fh.write(json.dumps({k: v for k, v in call.items() if k != "release"}) + "\n")
            else:
                fh.write(json.dumps(call) + "\n")
    return path
