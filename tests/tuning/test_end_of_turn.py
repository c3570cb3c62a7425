"""The end-of-turn sweep: cut-offs, time to first audio, the Pareto front and the chosen point."""

from __future__ import annotations

import pytest

from callgate.agents.pipeline import group_turns
from callgate.errors import UsageError
from callgate.tuning.end_of_turn import EndOfTurnJob, _pareto, _score, _Utterance, _vad_settings


def utt(cohort: str, pause_s: float, after: float = 1.0) -> _Utterance:
    # Two words separated by a pause; the caller's speech ends at the end of the second.
    return _Utterance(cohort, [(0.1, 1.0), (1.0 + pause_s, 2.0 + pause_s)], 2.0 + pause_s, after)


def test_group_turns_joins_gaps_shorter_than_the_wait() -> None:
    assert group_turns([(0.0, 1.0), (1.5, 2.0)], 0.6) == [(0.0, 2.0)]
    assert group_turns([(0.0, 1.0), (1.5, 2.0)], 0.4) == [(0.0, 1.0), (1.5, 2.0)]


def test_a_pause_longer_than_the_wait_is_a_cut_off() -> None:
    utterances = [utt("a", 0.7), utt("a", 0.2), utt("b", 0.2)]
    short = _score(utterances, 0.5)
    assert short["cohorts"]["a"]["cut_rate"] == 0.5
    assert short["cohorts"]["b"]["cut_rate"] == 0.0
    long = _score(utterances, 0.8)
    assert long["cut_rate"] == 0.0
    # From the end of speech: the wait plus the call's own time after the end of turn.
    assert long["ttfa_median"] == pytest.approx(0.8 + 1.0)
    assert short["ttfa_median"] == pytest.approx(0.5 + 1.0)


def test_pareto_keeps_only_points_nothing_beats_on_both_axes() -> None:
    utterances = [utt("a", 0.7), utt("a", 0.2)]
    rows = [{"vad": "v", "wait_ms": w, **_score(utterances, w / 1000)} for w in (400, 800, 900)]
    front = _pareto(rows)["all"]
    assert [p["wait_ms"] for p in front] == [400, 800]  # 900 is slower and cuts no fewer


def test_choice_is_the_fastest_setting_that_cuts_no_cohort_off_more_often() -> None:
    utterances = [utt("a", 0.7), utt("a", 0.2), utt("b", 0.45)]
    rows = [{"vad": "v", "wait_ms": w, **_score(utterances, w / 1000)} for w in (300, 500, 800)]
    current = rows[2]
    job = EndOfTurnJob(tolerance=0.0)
    # 500 ms cuts the 0.7 s pause in cohort a: not allowed; 800 stays.
    assert job._choose(rows, current) is current
    generous = EndOfTurnJob(tolerance=0.6)
    assert generous._choose(rows, current)["wait_ms"] == 500  # 300 cuts cohort b too


def test_energy_vad_margins_are_swept_around_the_variants_own() -> None:
    labels = [label for label, _, _ in _vad_settings({"engine": "energy", "params": {}})]
    assert labels == ["energy (current)", "energy margin_db=6", "energy margin_db=12"]
    assert len(_vad_settings({"engine": "silero", "params": {}})) == 1


def test_bad_parameters_are_one_line_errors() -> None:
    with pytest.raises(UsageError, match="waits_ms"):
        EndOfTurnJob(waits_ms=[10])
    with pytest.raises(UsageError, match="pipeline"):
        EndOfTurnJob().check({"kind": "websocket"})


def test_an_utterance_the_vad_does_not_hear_is_lost_not_dropped() -> None:
    heard = [utt("a", 0.2), utt("b", 0.2)]
    deaf = [_Utterance("a", [], 2.2, 1.0), utt("b", 0.2)]  # this setting hears nothing in a
    good, bad = _score(heard, 0.5), _score(deaf, 0.5)
    assert bad["cohorts"]["a"] == {
        "utterances": 1,
        "cut_rate": 1.0,
        "missed": 1,
        "ttfa_median": float("inf"),
    }
    assert set(bad["cohorts"]) == set(good["cohorts"])  # every cohort keeps its key
    rows = [{"vad": "v", "wait_ms": 500, **good}, {"vad": "deaf", "wait_ms": 500, **bad}]
    assert EndOfTurnJob(tolerance=0.5)._choose(rows, rows[0]) is rows[0]
    assert [p["vad"] for p in _pareto(rows)["a"]] == ["v"]
