from pathlib import Path

import pytest

from callgate.errors import UsageError
from callgate.scenarios import expand, load_suite, parse_filters, select
from callgate.scenarios.load import resolve_suite_path

MINI = """\
schema_version: 1
name: mini
voices:
  a: {engine: espeak, voice: en-us}
  b: {engine: espeak, voice: en-gb-scotland, locale: en-GB, accent: scottish}
noises:
  clean: {type: none}
  noisy: {type: babble, snr_db: 10}
channels:
  wide: {type: wideband}
grids:
  default:
    - {voice: [a, b], noise: [clean], channel: [wide]}
    - {voice: [a], noise: [clean, noisy], channel: [wide]}
scenario_files: [more.yaml]
scenarios:
  - id: one
    call_type: balance
    caller: {goal: know balance, turns: ["what is my balance"]}
"""

MORE = """\
scenarios:
  - id: two
    call_type: freeze_card
    split: holdout
    caller:
      goal: freeze
      turns:
        - say: freeze my card
          pause: {after: freeze, ms: 900}
    expect:
      tools: [{tool: freeze_card, args: {card: debit}}]
"""


def write(tmp: Path, main: str = MINI, more: str = MORE) -> Path:
    (tmp / "suite.yaml").write_text(main)
    (tmp / "more.yaml").write_text(more)
    return tmp / "suite.yaml"


def test_loads_with_scenario_files_and_expands_union_grid(tmp_path: Path) -> None:
    loaded = load_suite(str(write(tmp_path)))
    assert [s.id for s in loaded.suite.scenarios] == ["one", "two"]
    cells = expand(loaded.suite, "default")
    # a/clean appears in both blocks but is run once: (a,clean),(b,clean),(a,noisy) per scenario
    assert len(cells) == 6
    two = [c for c in cells if c.scenario.id == "two"]
    assert {c.cohort_id for c in two} == {
        "voice=a|noise=clean|channel=wide",
        "voice=b|noise=clean|channel=wide",
        "voice=a|noise=noisy|channel=wide",
    }
    tags = two[0].tags
    assert tags["tool_path"] == "freeze_card" and tags["split"] == "holdout"
    assert tags["call_type"] == "freeze_card"


def test_filters_select_cells(tmp_path: Path) -> None:
    cells = expand(load_suite(str(write(tmp_path))).suite, "default")
    scottish = select(cells, cohort=parse_filters(["accent=scottish"]))
    assert {c.voice_name for c in scottish} == {"b"} and len(scottish) == 2
    assert len(select(cells, split="holdout")) == 3
    with pytest.raises(UsageError, match="unknown cohort tag 'nope'"):
        select(cells, cohort=parse_filters(["nope=x"]))
    with pytest.raises(UsageError, match="tag=value"):
        parse_filters(["accent"])
    with pytest.raises(UsageError, match="unknown scenario"):
        select(cells, scenarios=["zzz"])


def test_bundled_banking_suite_is_valid() -> None:
    loaded = load_suite("banking")
    assert len(loaded.suite.scenarios) >= 40
    splits = {s.split for s in loaded.suite.scenarios}
    assert splits == {"dev", "holdout"}


@pytest.mark.parametrize(
    ("main", "more", "needle"),
    [
        (
            MINI,
            MORE.replace("freeze_card\n    split", "freeze_card\n    splitt"),
            "more.yaml:4: scenarios[1].splitt: Extra inputs are not permitted",
        ),
        (
            MINI,
            MORE.replace("after: freeze", "after: thaw"),
            "more.yaml:8: scenarios[1].caller.turns[0]: pause.after 'thaw' is not part of say",
        ),
        (
            MINI.replace("snr_db: 10", "snr_db: 100"),
            MORE,
            "suite.yaml:8: noises.noisy.snr_db: Input should be less than or equal to 60",
        ),
        (MINI.replace("voice: [a, b]", "voice: [a, zz]"), MORE, "unknown voice 'zz'"),
        (MINI.replace("name: mini", "name: mini\n  bad: [x"), MORE, "suite.yaml:3: invalid YAML"),
    ],
)
def test_bad_files_name_file_line_and_field(
    tmp_path: Path, main: str, more: str, needle: str
) -> None:
    with pytest.raises(UsageError) as info:
        load_suite(str(write(tmp_path, main, more)))
    assert needle in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_missing_suite_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        load_suite(str(tmp_path / "nope.yaml"))
    with pytest.raises(UsageError, match=r"installed suite 'nosuchsuite' \(installed: .*banking"):
        load_suite("nosuchsuite")


def test_an_edited_evaluation_rule_keeps_the_run_but_the_lexicon_does_not(tmp_path: Path) -> None:
    suite = resolve_suite_path("banking")
    text = suite.read_text(encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(
        (suite.parent / "scenarios.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )

    def content_hash(edited: str) -> str:
        path = tmp_path / "suite.yaml"
        path.write_text(edited, encoding="utf-8")
        return load_suite(str(path)).content_hash

    same = content_hash(text)
    assert content_hash(text.replace('"is that right"', '"shall I go ahead"')) == same
    assert content_hash(text.replace("PIN: pin\n", "PIN: pinn\n", 1)) != same  # caller audio
