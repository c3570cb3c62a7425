"""`callgate mine`: failed and low-confidence imported calls become a suite that runs, with no
personal data in it, near duplicates left out, in the split asked for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from callgate.errors import UsageError
from callgate.production.mining.mine import MANIFEST
from callgate.scenarios import load_suite
from callgate.speech.audio import read_audio
from support.mined_calls import (
    LOST,
    SECRETS,
    banking,
    ingested,
    labelled_calls,
    mined,
    other_calls,
    personal_call,
    tone,
)


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
