"""Production call logs for mining tests: a call full of personal data, ordinary failed calls,
labelled calls, each caller turn with a short recording; ingested into a store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from callgate.production.ingest.batch import ingest
from callgate.production.mining.mine import MineRequest, mine
from callgate.scenarios import load_suite
from callgate.speech.audio import SAMPLE_RATE, Audio, write_wav
from callgate.store.db import Store
from callgate.store.reader import StoreReader

Voice = Callable[[str], Audio]

CARD = "4539 1488 0343 6467"
PIN = "7392"
# Every way the personal data of the log is written: none may reach the mined suite.
SECRETS = (CARD, CARD.replace(" ", ""), "1488", "0343 6467", PIN, "1980", "march 3")
LOST = "I lost my wallet and need my debit card blocked"
HOLD = "please put a hold on my credit card while I travel abroad"


def tone(text: str) -> Audio:
    """Plain synthetic speech stand-in: a tone as long as the words would take."""
    t = np.arange(int(SAMPLE_RATE * (0.3 + 0.08 * len(text.split())))) / SAMPLE_RATE
    return Audio((0.3 * np.sin(2 * np.pi * (180 + len(text)) * t)).astype(np.float32))


class LogWriter:
    """Hand-written production calls in callgate's JSONL call-log format, with a WAV recording
    per caller turn (or one caller track per call), in one folder."""

    def __init__(self, folder: Path, voice: Voice = tone) -> None:
        self.folder = folder
        self.voice = voice
        self.calls: list[dict[str, Any]] = []

    def call(
        self,
        call_id: str,
        script: list[tuple[str, str, dict[str, Any]]],
        *,
        resolved: bool,
        tags: dict[str, str],
        track: bool = False,
        **fields: Any,
    ) -> None:
        """``script``: (speaker, text, extra fields) in order; caller turns get a recording.
        ``fields``: more of the call's own (``expect``, ``transferred``)."""
        t, turns, pieces = 0.0, [], []
        for speaker, text, extra in script:
            start = t + 0.4
            if speaker == "caller":
                audio = self.voice(text)
                end = start + audio.duration
                turn: dict[str, Any] = {"confidence": 0.9, "reference": text, **extra}
                if not track:
                    name = f"{call_id}-{len(turns)}.wav"
                    write_wav(self.folder / name, audio)
                    turn["audio"] = name
                pieces.append((start, audio))
            else:
                end = start + 0.06 * len(text.split()) + 0.3
                turn = dict(extra)
            turns.append({"speaker": speaker, "start": round(start, 3), "end": round(end, 3),
                          "text": text, **turn})  # fmt: skip
            t = end
        call: dict[str, Any] = {
            "call_id": call_id,
            "started_at": f"2026-11-0{1 + len(self.calls)}T10:00:00Z",
            "release": "2026.11.2",
            "suite": "banking-prod",
            "tags": tags,
            "resolved": resolved,
            "turns": turns,
            "engines": {"asr": "whisper-small"},
            **fields,
        }
        if track:
            samples = np.zeros(int(SAMPLE_RATE * (t + 0.5)), dtype=np.float32)
            for start, audio in pieces:
                at = int(start * SAMPLE_RATE)
                samples[at : at + len(audio.samples)] = audio.samples
            call["caller_audio"] = f"{call_id}-caller.wav"
            write_wav(self.folder / call["caller_audio"], Audio(samples))
        self.calls.append(call)

    def write(self) -> Path:
        path = self.folder / "calls.jsonl"
        path.write_text("".join(json.dumps(c) + "\n" for c in self.calls), encoding="utf-8")
        return path


def agent(
    text: str, *tools: tuple[str, dict[str, Any], bool], transfer: bool = False
) -> tuple[str, str, dict[str, Any]]:
    calls = [{"tool": name, "args": args, "ok": ok} for name, args, ok in tools]
    extra: dict[str, Any] = {"tool_calls": calls} if calls else {}
    return ("agent", text, extra | {"transfer": True} if transfer else extra)


def caller(text: str, **extra: Any) -> tuple[str, str, dict[str, Any]]:
    return ("caller", text, extra)


def personal_call(log: LogWriter) -> None:
    """A lost card: the caller reads out a card number, a date of birth and a PIN, and the agent
    passes them to its tools."""
    log.call(
        "call-pii",
        [
            agent("Thank you for calling. How can I help you today?"),
            caller(LOST, confidence=0.82),
            agent("Sure. What is the card number?"),
            caller(f"my card number is {CARD}", confidence=0.7),
            agent("And to check it is you?", ("lookup_card", {"card_number": CARD}, True)),
            caller(f"I was born on March 3rd 1980 and my PIN is {PIN}", confidence=0.45),
            agent(
                "Thanks, your debit card is frozen.",
                ("verify_identity", {"date_of_birth": "1980-03-03", "pin": PIN}, True),
                ("freeze_card", {"card": "debit"}, True),
                ("reset_pin", {"card": "debit", "new_pin": PIN}, False),
            ),
        ],
        resolved=False,
        tags={
            "accent": "scottish",
            "channel": "phone",
            "call_type": "lost_card",
            "region": "north",
        },
    )


def other_calls(log: LogWriter) -> None:
    """Two calls saying the same, one repeating a banking scenario word for word, one cut from
    a caller track, one that went well and one the ASR barely heard."""
    for call_id in ("call-hold-a", "call-hold-b"):
        log.call(
            call_id,
            [
                agent("How can I help?"),
                caller(HOLD),
                agent("Done.", ("freeze_card", {"card": "credit"}, True)),
            ],
            resolved=False,
            tags={"accent": "us", "channel": "app", "call_type": "freeze"},
        )
    log.call(
        "call-banking-copy",
        [
            agent("How can I help?"),
            caller("Hi, what's the balance on my checking account?"),
            agent("I could not find it."),
        ],
        resolved=False,
        tags={"accent": "us", "channel": "phone", "call_type": "balance"},
    )
    log.call(
        "call-track",
        [
            agent("How can I help?"),
            caller("there is a coffee shop charge on my statement I never made"),
            agent("Which merchant?"),
            caller("starbucks"),
            agent("Disputed.", ("dispute_charge", {"merchant": "Starbucks"}, True)),
        ],
        resolved=False,
        tags={"accent": "us", "channel": "phone", "call_type": "dispute"},
        track=True,
    )
    log.call(
        "call-fine",
        [agent("How can I help?"), caller("how much is in savings"), agent("Five thousand.")],
        resolved=True,
        tags={"accent": "us", "channel": "app", "call_type": "balance"},
    )
    log.call(
        "call-unsure",
        [
            agent("How can I help?"),
            caller("could I order a new cheque book", confidence=0.31),
            agent("Ordered."),
        ],
        resolved=True,
        tags={"accent": "indian", "channel": "app", "call_type": "cheques"},
    )


def labelled_calls(log: LogWriter) -> None:
    """A call whose log carries its expected tools (with the card number), which the agent did
    not call, and one handed to a person after a turn the ASR heard nothing of."""
    log.call(
        "call-labelled",
        [
            agent("How can I help?"),
            caller(f"the machine swallowed my card, the number is {CARD}"),
            agent("I found it.", ("lookup_card", {"card_number": CARD}, True)),
        ],
        resolved=False,
        tags={"accent": "us", "channel": "phone", "call_type": "stolen"},
        expect={"tools": [{"tool": "report_stolen", "args": {"card_number": {"equals": CARD}}}]},
    )
    log.call(
        "call-handoff",
        [
            agent("How can I help?"),
            caller("I want to talk about a mortgage for a boat"),
            agent("Sorry?"),
            caller("", reference="", confidence=0.1),
            agent(
                "Let me transfer you.",
                ("transfer_to_human", {"reason": "boat"}, True),
                transfer=True,
            ),
        ],
        resolved=False,
        tags={"accent": "us", "channel": "phone", "call_type": "loan"},
    )


def ingested(tmp_path: Path, *builders: Callable[[LogWriter], None], voice: Voice = tone) -> Path:
    """A store holding the calls the builders write, ingested and scored."""
    logs = tmp_path / "logs"
    logs.mkdir()
    writer = LogWriter(logs, voice)
    for build in builders:
        build(writer)
    store = Store.open(tmp_path / "store")
    outcome = ingest(store, [writer.write()])
    assert outcome.run_id is not None and not outcome.problems, outcome.problems
    return tmp_path / "store"


def mined(store: Path, out: Path, **options: Any) -> Any:
    with StoreReader.open(store) as reader:
        runs = [r.run_id for r in reader.runs()]
        return mine(reader, MineRequest(out=out, run_ids=runs, **options))


def banking() -> Any:
    return load_suite("banking")
