"""The run page's call filter: tags, status, cause and metric thresholds."""

from __future__ import annotations

from urllib.parse import parse_qs

from callgate.store.records import CallRow
from callgate.web.filters import CallFilter


def row(**kw: object) -> CallRow:
    base: dict[str, object] = {
        "call_id": "c",
        "run_id": "r",
        "scenario_id": "s",
        "variant": "candidate",
        "repeat": 0,
        "cohort_id": "x",
        "source": "simulated",
        "suite": "s",
        "seed": 0,
        "cohort": {"accent": "us", "channel": "phone"},
        "split": "dev",
        "ended_by": "agent_hangup",
        "duration_s": 1.0,
        "metrics": {"asr_wer": 0.3},
        "failed": True,
        "cause": "asr",
        "cause_reason": "",
        "ttfa": [],
    }
    base.update(kw)
    return CallRow.model_validate(base)


def f(query: str) -> CallFilter:
    return CallFilter.from_query(parse_qs(query, keep_blank_values=True))


def test_tags_or_within_and_across() -> None:
    assert f("tag=accent%3Dus,scottish").matches(row())
    assert f("tag=accent%3Dscottish&tag=accent%3Dus").matches(row())
    assert not f("tag=accent%3Dus&tag=channel%3Dwideband").matches(row())
    assert f("tag=").matches(row()) and f("tag=nonsense").errors


def test_metric_threshold_never_matches_not_scored() -> None:
    assert f("metric=asr_wer&op=ge&value=0.3").matches(row())
    assert not f("metric=asr_wer&op=le&value=0.2").matches(row())
    assert not f("metric=tts_wer&op=le&value=1").matches(row())  # missing: not zero
    assert f("metric=asr_wer&value=").matches(row())  # no threshold: no filter
    assert f("value=inf").errors and f("op=eq").errors


def test_status_and_cause() -> None:
    passed = row(failed=False, cause=None)
    assert f("status=passed").matches(passed) and not f("status=failed").matches(passed)
    assert f("status=unscored").matches(row(failed=None)) and not f("cause=asr").matches(passed)
    assert f("status=regressed").matches(row(regressed=True))
    assert f("variant=baseline").describe() == "variant baseline"
