"""Dataset hygiene (`callgate check`'s logic): behaviours, coverage, small cohorts, near
duplicates across splits and holdout scenarios read by tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callgate.scenarios.behaviours import BEHAVIOUR_NAMES, behaviours_of
from callgate.scenarios.hygiene import CheckSettings, Finding, HygieneReport, check_suite
from callgate.scenarios.load import load_suite
from callgate.scenarios.model import Suite
from callgate.scenarios.near_duplicates import DEFAULT_SIMILARITY, cross_split_pairs
from support.hygiene_suite import PLAIN, scenario, write_suite

LOST = "I lost my debit card, please freeze it right away."
LOST_PARAPHRASE = "Please freeze my debit card, I think I lost it."


def suite_of(tmp_path: Path, scenarios: list[dict[str, Any]], **fields: Any) -> Suite:
    return load_suite(str(write_suite(tmp_path, scenarios, **fields))).suite


def check(suite: Suite, **settings: Any) -> HygieneReport:
    return check_suite(suite, CheckSettings(**settings))


def of_kind(report: HygieneReport, kind: str) -> list[Finding]:
    return [f for f in report.findings if f.kind == kind]


# --------------------------------------------------------------------------- near duplicates


def test_a_planted_paraphrase_across_splits_is_found(tmp_path: Path) -> None:
    suite = suite_of(
        tmp_path,
        [
            *PLAIN,
            scenario("lost-dev", [LOST], tool="freeze", args={"card": "debit"}),
            scenario(
                "lost-holdout",
                [LOST_PARAPHRASE],
                split="holdout",
                tool="freeze",
                args={"card": "debit"},
            ),
            scenario("balance-holdout", ["How much money is left in savings?"], split="holdout"),
        ],
    )
    (found,) = of_kind(check(suite), "near_duplicate")
    assert found.scenarios == ["lost-dev", "lost-holdout"]
    assert not found.exact and found.same_tool_path
    assert found.similarity is not None and DEFAULT_SIMILARITY <= found.similarity < 1
    assert "holdout lost-holdout repeats dev lost-dev" in found.message


def test_an_exact_duplicate_is_found_whatever_the_threshold_or_tool_path(tmp_path: Path) -> None:
    suite = suite_of(
        tmp_path,
        [
            *PLAIN,
            scenario("copy", ["Raise the daily spending limit on my card!"], split="holdout"),
        ],
    )
    (found,) = of_kind(check(suite, similarity=1.0), "near_duplicate")
    assert found.scenarios == ["limit", "copy"]
    assert found.exact and found.similarity == 1.0 and found.same_tool_path is False


@pytest.mark.parametrize(
    ("holdout", "why"),
    [
        # Another task in other words.
        (
            scenario("h", ["Please cancel the standing order to my landlord."], tool="limit"),
            "words",
        ),
        # Nearly the same words, but a different expected tool call: a contrast, not a copy.
        (
            scenario("h", ["Move forty dollars from my reserve to my main account."], tool="move"),
            "tool args",
        ),
    ],
)
def test_a_different_pair_is_not_a_duplicate(
    tmp_path: Path, holdout: dict[str, Any], why: str
) -> None:
    suite = suite_of(tmp_path, [*PLAIN, {**holdout, "split": "holdout"}])
    assert of_kind(check(suite), "near_duplicate") == [], why


def test_pairs_are_only_across_splits() -> None:
    from callgate.scenarios.model import Scenario

    same = [
        Scenario.model_validate({**scenario(sid, [LOST]), "split": "dev"}) for sid in ("a", "b")
    ]
    assert cross_split_pairs(same, 0.1) == []


# --------------------------------------------------------------------------- behaviours


BEHAVIOUR_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("plain", {}, []),
    ("interrupting turn", {"turns": [{"say": "hi", "interrupt_after_ms": 500}]}, ["interruption"]),
    (
        "backchannel",
        {"turns": ["hi", {"say": "mm-hm", "backchannel": True, "interrupt_after_ms": 500}]},
        [],
    ),
    (
        "interrupting reply",
        {"reactions": [{"when": ["ok?"], "say": {"say": "yes", "interrupt_after_ms": 900}}]},
        ["interruption"],
    ),
    ("silence before", {"turns": [{"say": "hi", "silence_before_s": 8}]}, ["silence"]),
    ("goes silent", {"reactions": [{"when": ["still there"], "say": "$silent"}]}, ["silence"]),
    (
        "corrects",
        {"reactions": [{"when": ["right?"], "expect": ["ten"], "say": "yes", "otherwise": "ten!"}]},
        ["correction"],
    ),
    (
        "frustration",
        {"persona": {"name": "calm", "frustration": {"after_repeats": 1}}},
        ["angry_or_hurried"],
    ),
    ("fast", {"turns": [{"say": "hi", "rate": 1.2}]}, ["angry_or_hurried"]),
    ("persona name", {"persona": {"name": "Angry customer"}}, ["angry_or_hurried"]),
    ("own repeat", {"reactions": [{"when": ["pardon"], "say": "$repeat"}]}, ["repair"]),
    # The suite answers "say that again" with $repeat for everyone: a scenario that answers it
    # itself (rephrasing) is a repair scenario.
    ("own repair", {"reactions": [{"when": ["say that again"], "say": "I said hi"}]}, ["repair"]),
    (
        "pause",
        {"turns": [{"say": "I want to go", "pause": {"after": "want", "ms": 900}}]},
        ["pause"],
    ),
]


@pytest.mark.parametrize(("name", "caller", "expected"), BEHAVIOUR_CASES)
def test_behaviours_come_from_the_structure(
    tmp_path: Path, name: str, caller: dict[str, Any], expected: list[str]
) -> None:
    turns = caller.pop("turns", ["hi"])
    suite = suite_of(tmp_path, [scenario("s", turns, tags={"kind": "x"}, **caller)])
    assert behaviours_of(suite.scenarios[0], suite) == expected, name


def test_behaviours_from_expectations_and_tags(tmp_path: Path) -> None:
    scenarios = [
        {**scenario("oos", ["hi"]), "expect": {"label": "out_of_scope"}},
        {**scenario("transferred", ["hi"]), "expect": {"transferred": True}},
        scenario("handoff", ["hi"], tool="to_human"),
        scenario("tagged", ["hi"], tags={"behaviour": "barge-in"}),
        {**scenario("typed", ["hi"]), "call_type": "out_of_scope"},
    ]
    suite = suite_of(tmp_path, scenarios)
    got = {sc.id: behaviours_of(sc, suite) for sc in suite.scenarios}
    assert got == {
        "oos": ["out_of_scope"],
        "transferred": ["human_request"],
        "handoff": ["human_request"],
        "tagged": ["interruption"],
        "typed": ["out_of_scope"],
    }


def test_suite_level_reactions_do_not_make_every_scenario_a_repair(tmp_path: Path) -> None:
    suite = suite_of(tmp_path, PLAIN)
    assert suite.reactions and all(behaviours_of(sc, suite) == [] for sc in suite.scenarios)


# --------------------------------------------------------------------------- coverage


def test_a_cohort_without_an_interruption_scenario_is_named(tmp_path: Path) -> None:
    # The noisy cohort runs the happy scenarios only; the interrupting caller is not among them.
    barge = scenario(
        "barge", [{"say": "Balance please.", "interrupt_after_ms": 600}], tags={"behaviour": "x"}
    )
    report = check(suite_of(tmp_path, [*PLAIN, barge]))
    missing = {f.cohort: f for f in of_kind(report, "missing_behaviour")}
    noisy = missing["noise=babble"]
    assert "interruption" in noisy.behaviours and noisy.tags == {"noise": "babble"}
    assert "noise=babble: no scenario with interruption" in noisy.message
    assert "interruption" not in missing["all"].behaviours
    assert "interruption" not in missing["accent=scottish"].behaviours
    row = next(r for r in report.coverage if r.cohort == "noise=babble")
    assert row.behaviours["interruption"] == 0 and row.scenarios == len(PLAIN)
    assert list(row.behaviours) == list(BEHAVIOUR_NAMES)


def test_small_cohorts(tmp_path: Path) -> None:
    suite = suite_of(tmp_path, [*PLAIN, scenario("odd", ["hi"], tags={"behaviour": "x"})])
    report = check(suite, min_scenarios=6, min_calls=10, repeats=1)
    small = {f.cohort: f for f in of_kind(report, "small_cohort")}
    # 6 scenarios for two voices on a clean line, 5 happy ones again in babble: 17 calls.
    assert "all" not in small
    noisy = small["noise=babble"]
    assert noisy.scenario_count == 5 and noisy.call_count == 5
    assert noisy.message == (
        "noise=babble: 5 scenarios (fewer than 6) and 5 calls per variant (fewer than 10)"
    )
    more = check(suite, min_scenarios=6, min_calls=10, repeats=2)
    assert "fewer than 10" not in next(
        f.message for f in of_kind(more, "small_cohort") if f.cohort == "noise=babble"
    )


def test_combinations_and_unknown_tags(tmp_path: Path) -> None:
    report = check(
        suite_of(tmp_path, PLAIN), by=["accent", "nope"], combinations=[["accent", "noise"]]
    )
    cohorts = [r.cohort for r in report.coverage]
    assert cohorts == [
        "all",
        "accent=us",
        "accent=scottish",
        "accent=us&noise=clean",
        "accent=scottish&noise=clean",
        "accent=us&noise=babble",
    ]
    assert "no call has the tag 'nope': its slices are not checked" in report.notes


# --------------------------------------------------------------------------- tuning reads


def test_holdout_scenarios_read_by_tuning(tmp_path: Path) -> None:
    suite = suite_of(tmp_path, [*PLAIN, scenario("held", ["Close my account."], split="holdout")])
    reads = {"held": ["job-2", "job-1"], "balance": ["job-1"], "gone": ["job-3"]}
    report = check_suite(suite, CheckSettings(), tuning_reads=reads)
    (found,) = of_kind(report, "holdout_read")
    assert found.scenarios == ["held"] and found.jobs == ["job-1", "job-2"]
    assert found.message == "holdout held was read by tuning job job-1, job-2"
    assert report.notes == []
    assert "no store" in check(suite).notes[0]


def test_the_report_round_trips_through_json(tmp_path: Path) -> None:
    report = check(suite_of(tmp_path, PLAIN))
    again = HygieneReport.model_validate_json(report.model_dump_json())
    assert again == report and again.schema_version == 1
    assert sum(again.counts().values()) == len(again.findings)
