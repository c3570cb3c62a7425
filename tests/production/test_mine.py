"""`callgate mine`: failed and low-confidence imported calls become a suite that runs, with no
personal data in it, near duplicates left out, in the split asked for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from callgate.errors import UsageError
from callgate.production.ingest import ingest
from callgate.production.mine import MANIFEST, MineRequest, mine
from callgate.scenarios import load_suite
from callgate.speech.audio import SAMPLE_RATE, Audio, read_audio, write_wav
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


def test_no_personal_data_reaches_the_mined_suite(tmp_path: Path) -> None:
    store = ingested(tmp_path, personal_call)
    out = tmp_path / "mined"
    outcome = mined(store, out, base=banking())
    assert len(outcome.mined) == 1 and outcome.suite_path == out / "suite.yaml"

    # No file's text nor name holds a card number, PIN or date of birth, in any spelling.
    for path in out.rglob("*"):
        assert not any(s.lower() in path.name.lower() for s in SECRETS), path
        if path.suffix in (".yaml", ".json"):
            text = path.read_text(encoding="utf-8").lower()
            assert not [s for s in SECRETS if s.lower() in text], path

    suite = load_suite(str(out / "suite.yaml")).suite
    (scenario,) = suite.scenarios
    turns = scenario.caller.turns
    assert [t.say for t in turns] == [
        LOST,
        "my card number is [CARD_NUMBER]",
        "I was born on [DATE_OF_BIRTH] and my [PIN]",
    ]
    # The recordings say the numbers: only the first turn keeps its own.
    assert turns[0].audio is not None and Path(turns[0].audio).is_file()
    assert turns[1].audio is None and turns[2].audio is None
    assert [p.name for p in (out / "audio").iterdir()] == [Path(turns[0].audio).name]
    first = read_audio(turns[0].audio)
    assert abs(first.duration - tone(LOST).duration) < 0.01

    # Arguments that held personal data are only expected to be there; the failed call is not
    # expected at all.
    tools = {c.tool: c.args for c in scenario.expect.tools}
    assert list(tools) == ["lookup_card", "verify_identity", "freeze_card"]
    assert tools["lookup_card"]["card_number"].any
    assert tools["verify_identity"]["date_of_birth"].any and tools["verify_identity"]["pin"].any
    assert tools["freeze_card"]["card"].equals == "debit"

    counted = outcome.redaction.spans
    assert counted["card_number"] >= 2 and counted["date_of_birth"] >= 2 and counted["pin"] >= 2
    assert outcome.synthesised["personal data"] == 2


def test_a_mined_scenario_keeps_the_cohort_the_tags_and_asks_for_review(tmp_path: Path) -> None:
    store = ingested(tmp_path, personal_call)
    out = tmp_path / "mined"
    mined(store, out, base=banking())
    suite = load_suite(str(out / "suite.yaml")).suite
    (scenario,) = suite.scenarios
    assert scenario.call_type == "lost_card" and scenario.split == "dev"
    assert scenario.grid is not None
    (block,) = scenario.grid
    assert (block.voice, block.noise, block.channel) == (["scottish"], ["clean"], ["phone"])
    assert scenario.tags == {
        "region": "north",
        "mined_from": "call-pii",
        "mined_release": "2026.11.2",
        "review": "unconfirmed",
    }
    # The banking suite's parts come along, its variants still resolve from the new folder.
    assert suite.name == "banking-mined"
    assert suite.evaluation == banking().suite.evaluation
    assert set(suite.variants) == {"baseline", "candidate"}
    assert all(Path(p).is_file() for p in suite.variants.values())
    text = (out / "suite.yaml").read_text(encoding="utf-8")
    assert "# UNCONFIRMED: the expected tools and outcome are what the call did" in text
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["scenarios"][0]["review"] == "unconfirmed"


def test_near_duplicates_are_skipped_and_counted(tmp_path: Path) -> None:
    store = ingested(tmp_path, personal_call, other_calls)
    outcome = mined(store, tmp_path / "mined", base=banking())
    # call-hold-b repeats call-hold-a; call-banking-copy repeats balance-checking-simple.
    assert outcome.near_duplicates == 2
    assert outcome.selected == {"failed": 5, "low confidence": 1}
    froms = [m.scenario.tags["mined_from"] for m in outcome.mined]
    assert sorted(froms) == ["call-hold-a", "call-pii", "call-track", "call-unsure"]
    assert froms[-1] == "call-unsure"  # failed calls first
    suite = load_suite(str(tmp_path / "mined" / "suite.yaml")).suite
    assert [s.tags["mined_from"] for s in suite.scenarios] == froms

    # Cut from the caller track: both turns, each as long as its words plus the margins.
    track = next(s for s in suite.scenarios if s.tags["mined_from"] == "call-track")
    clips = [read_audio(t.audio).duration for t in track.caller.turns if t.audio]
    expected = [tone(t.say).duration + 0.2 for t in track.caller.turns]
    assert np.allclose(clips, expected, atol=0.02)

    # Without the banking suite only the repeat among the mined calls is left out.
    outcome = mined(store, tmp_path / "alone")
    assert outcome.near_duplicates == 1 and len(outcome.mined) == 5
    assert outcome.over_limit == 0
    assert len(mined(store, tmp_path / "few", limit=2).mined) == 2


def test_holdout_split_and_a_minimal_suite_without_base(tmp_path: Path) -> None:
    store = ingested(tmp_path, other_calls)
    out = tmp_path / "mined"
    mined(store, out, split="holdout")
    suite = load_suite(str(out / "suite.yaml")).suite
    assert {s.split for s in suite.scenarios} == {"holdout"}
    assert suite.name == "mined" and not suite.variants
    engines = {v.engine for v in suite.voices.values()}
    assert engines <= {"piper", "espeak"}
    # An accent the minimal suite speaks gets its voice; the log's channel names map to kinds.
    unsure = next(s for s in suite.scenarios if s.tags["mined_from"] == "call-unsure")
    assert unsure.grid is not None
    voice = unsure.grid[0].voice[0]
    assert suite.voices[voice].accent == "indian"
    assert suite.channels[unsure.grid[0].channel[0]].type == "wideband"
    assert unsure.tags["log_channel"] == "app"  # the suite's channel is named otherwise


def test_out_must_be_new_empty_or_an_earlier_mine(tmp_path: Path) -> None:
    store = ingested(tmp_path, other_calls)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="holds no earlier `callgate mine` output"):
        mined(store, taken)
    out = tmp_path / "mined"
    first = mined(store, out)
    clips = sorted(p.name for p in (out / "audio").iterdir())
    (out / "README.md").write_text("my notes", encoding="utf-8")
    again = mined(store, out, limit=1)  # an earlier output is replaced, what it listed only
    assert len(first.mined) > 1 and len(again.mined) == 1
    assert (out / "README.md").is_file()
    left = sorted(p.name for p in (out / "audio").iterdir())
    assert len(left) < len(clips) and set(left) <= set(clips)
    assert len(load_suite(str(out / "suite.yaml")).suite.scenarios) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no stage left


def test_the_log_labels_are_kept_and_a_hand_off_is_expected(tmp_path: Path) -> None:
    store = ingested(tmp_path, labelled_calls)
    out = tmp_path / "mined"
    outcome = mined(store, out, base=banking())
    by = {m.scenario.tags["mined_from"]: m.scenario for m in outcome.mined}
    labelled = by["call-labelled"]
    assert labelled.tags["review"] == "labelled"
    (tool,) = labelled.expect.tools
    assert tool.tool == "report_stolen" and tool.args["card_number"].any
    assert labelled.caller.turns[0].audio is None  # it says the card number
    handed = by["call-handoff"]
    assert handed.tags["review"] == "unconfirmed"
    assert handed.expect.transferred and handed.expect.label == "transferred"
    assert [t.tool for t in handed.expect.tools] == ["transfer_to_human"]
    assert [t.say for t in handed.caller.turns] == ["I want to talk about a mortgage for a boat"]
    text = (out / "suite.yaml").read_text(encoding="utf-8")
    assert "1 caller turn(s) without words left out." in text
    assert not [s for s in SECRETS if s.lower() in text.lower()]


def test_the_yaml_reads_as_written(tmp_path: Path) -> None:
    store = ingested(tmp_path, personal_call)
    out = tmp_path / "mined"
    mined(store, out, base=banking())
    data = yaml.safe_load((out / "suite.yaml").read_text(encoding="utf-8"))
    (scenario,) = data["scenarios"]
    assert scenario["caller"]["turns"][0] == {
        "say": LOST,
        "audio": scenario["caller"]["turns"][0]["audio"],
    }
    assert scenario["caller"]["turns"][0]["audio"].startswith("audio/")
