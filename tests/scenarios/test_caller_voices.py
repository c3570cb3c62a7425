"""Caller voices as cohorts: the banking suite's voices and grids, and the Spanish example suite's
language cohort (fast: no audio is made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.voice import AGENTS
from callgate.scenarios import load_suite
from callgate.scenarios.cohorts import expand, parse_filters, select
from callgate.speech.engines import get_tts, has_voice
from callgate.variants import load_variants

SPANISH = Path(__file__).resolve().parents[2] / "examples" / "spanish"


def test_every_banking_voice_exists_in_its_engine() -> None:
    suite = load_suite("banking").suite
    for name, spec in suite.voices.items():
        assert has_voice(get_tts(spec.engine), spec.voice), name


def test_the_voices_grid_holds_every_voice_and_the_demo_grids_stay_as_they_were() -> None:
    suite = load_suite("banking").suite
    voices = {grid: {c.voice_name for c in expand(suite, grid)} for grid in suite.grids}
    assert voices["voices"] == set(suite.voices)
    # The demo and the tuning walkthrough run on these two callers only: new voices must not
    # enter them (or the demo's time and figures change).
    assert voices["default"] == voices["tuning"] == {"us-joe", "scottish"}
    assert {c.channel_name for c in expand(suite, "voices")} == {"phone"}


def test_accent_and_persona_voices_are_cohort_tags() -> None:
    suite = load_suite("banking").suite
    cells = expand(suite, "voices")
    accents = {c.voice_name: c.tags["accent"] for c in cells}
    assert accents["french"] == "french" and accents["german"] == "german"
    assert accents["kokoro-kumo-gb"] == accents["rp"] == "rp"  # one accent, two voices
    french = select(cells, cohort=parse_filters(["accent=french"]))
    assert french and {c.voice_name for c in french} == {"french"}
    # Speed and pitch personas: same accent and locale as the plain US voice, their own voice tag.
    slow, fast = suite.voices["us-low-slow"], suite.voices["us-high-fast"]
    assert slow.rate < 1.0 < fast.rate
    assert "+" in slow.voice and "+" in fast.voice  # espeak speaker variants set the pitch
    assert {accents["us-low-slow"], accents["us-high-fast"]} == {"us"}


def test_spanish_scenarios_run_in_spanish_voices_and_slice_by_locale() -> None:
    loaded = load_suite(str(SPANISH))
    cells = expand(loaded.suite, "default")
    languages = {c.scenario.tags["language"] for c in cells}
    assert languages == {"en", "es"}
    for cell in cells:  # the voice speaks the language the lines are written in
        assert cell.voice.locale.split("-")[0] == cell.scenario.tags["language"], cell.cohort_id
    spanish = select(cells, cohort=parse_filters(["locale=es-ES"]))
    assert spanish and {c.scenario.tags["language"] for c in spanish} == {"es"}
    assert select(cells, cohort=parse_filters(["language=es"])) == spanish
    # Each Spanish request mirrors an English one: the same call types on both sides.
    english = [c for c in cells if c not in spanish]
    assert {c.scenario.call_type for c in spanish} == {c.scenario.call_type for c in english}


@pytest.mark.parametrize(("variant", "routed"), [("baseline", False), ("candidate", True)])
def test_candidate_routes_spanish_callers_to_a_multilingual_asr(variant: str, routed: bool) -> None:
    loaded = load_suite(str(SPANISH))
    (lv,) = load_variants([variant], loaded)
    config = AGENTS.get(lv.variant.agent.kind).configure(lv.variant.agent.config())
    assert isinstance(config, PipelineConfig)
    _, english = config.routed({"locale": "en-US", "channel": "phone"})
    assert english.asr.params["model"] == "tiny.en"
    index, spanish = config.routed({"locale": "es-ES", "channel": "phone"})
    assert (index is not None) == routed
    if routed:
        assert spanish.asr.params["model"] == "base" and spanish.asr.params["language"] == "es"
    else:
        assert spanish.asr == english.asr
