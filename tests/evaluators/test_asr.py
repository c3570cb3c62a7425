from pathlib import Path

import pytest

from callgate.evaluators import ASRAccuracy, EvalContext
from factories import agent, call, caller, domain


def two_turn_call():  # type: ignore[no-untyped-def]
    return call(
        critical_entities=["freeze", "debit"],
        caller_turns=[
            caller(0, "I need to freeze my debit card", 1.0, 3.0),
            caller(1, "transfer fifty dollars", 6.0, 7.5, entities=["fifty dollars"]),
        ],
        agent_turns=[
            agent(0, "Hello", trigger="start"),
            agent(
                1,
                "Sorry?",
                heard=(1.0, 3.0),
                asr="I need to fees my debit card",
                reference="I need to freeze my debit card",
            ),
            agent(
                2, "ok", heard=(6.0, 7.5), asr="transfer $50", reference="transfer fifty dollars"
            ),
        ],
    )


def test_call_wer_pools_turns_and_names_substitutions() -> None:
    res = ASRAccuracy().score_call(two_turn_call(), EvalContext())
    # 1 error over 7 + 3 reference words; "$50" normalises to "fifty dollars".
    assert res.metrics["asr_wer"] == pytest.approx(1 / 10)
    assert res.score == pytest.approx(0.9)
    assert res.passed is True
    assert res.metrics["asr_entity_accuracy"] == pytest.approx(2 / 3)  # freeze missed
    first, second = res.turns
    assert first["substitutions"] == [["freeze", "fees"]]
    assert first["entities_missed"] == ["freeze"]
    assert second["asr_wer"] == 0.0
    assert "freeze->fees" in res.reason


def test_not_scored_without_recognised_turns() -> None:
    res = ASRAccuracy().score_call(call(agent_turns=[agent(0, "Hello")]), EvalContext())
    assert res.score is None and res.passed is None
    assert res.reason.startswith("not scored")
    assert all(v is None for v in res.metrics.values())


@pytest.mark.parametrize(
    ("ref", "hyp", "wer"),
    [
        ("freeze my card", "freeze my card", 0.0),
        ("freeze my card", "", 1.0),
        ("transfer 50 dollars", "transfer fifty dollars", 0.0),
        ("freeze my card", "fees my card please", 2 / 3),
    ],
)
def test_standalone_text(ref: str, hyp: str, wer: float) -> None:
    res = ASRAccuracy().evaluate(ground_truth=ref, hypothesis=hyp)
    assert res.metrics["asr_wer"] == pytest.approx(wer)
    assert res.details["hits"] + res.details["substitutions"] + res.details["deletions"] == 3


def test_standalone_empty_reference_is_not_scored() -> None:
    res = ASRAccuracy().evaluate(ground_truth="", hypothesis="hello")
    assert res.score is None and "empty reference" in res.reason


@pytest.mark.slow
def test_standalone_calls_run_as_written_on_a_synthesised_wav(tmp_path: Path) -> None:
    from callgate.evaluators import TaskCompletion
    from callgate.speech.audio import write_wav
    from callgate.speech.engines import get_tts

    reference = "I would like to freeze my debit card"
    path = tmp_path / "calls" / "tuned.wav"
    path.parent.mkdir()
    write_wav(path, get_tts("piper").synthesize(reference, "joe"))
    result = ASRAccuracy().evaluate(audio_path=str(path), ground_truth=reference)
    assert result.score is not None and result.score >= 0.8
    assert result.passed is True
    assert {"substitutions", "insertions", "deletions", "alignment"} <= set(result.details)
    transcript = "Done. Your debit card is now frozen. Is there anything else?"
    goal = "Freeze my debit card"
    task = domain(TaskCompletion).evaluate(response=transcript, expected_response=goal)
    assert task.score == 1.0 and task.passed is True
    # Batch form reuses the loaded model.
    many = ASRAccuracy().evaluate_many(
        [
            {"audio_path": str(path), "ground_truth": reference},
            {"hypothesis": "freeze my credit card", "ground_truth": reference},
        ]
    )
    assert many[0].score == result.score and many[1].score is not None and many[1].score < 1.0


def test_batch_from_a_results_file(tmp_path: Path) -> None:
    import json

    from callgate.evaluators import TaskCompletion

    path = tmp_path / "batch.jsonl"
    path.write_text(
        json.dumps({"ground_truth": "freeze my card", "hypothesis": "fees my card"})
        + "\n"
        + json.dumps({"ground_truth": "freeze my card", "hypothesis": "freeze my card"})
        + "\n"
    )
    scores = [r.score for r in ASRAccuracy().evaluate_many(path)]
    assert scores == pytest.approx([2 / 3, 1.0])
    csv_path = tmp_path / "tasks.csv"
    csv_path.write_text(
        "response,expected_response\n"
        '"Your debit card is now frozen.",Freeze my debit card\n'
        '"Your credit card is now frozen.",Freeze my debit card\n'
    )
    results = domain(TaskCompletion).evaluate_many(str(csv_path))
    assert results[0].passed is True and results[1].passed is False


def test_suite_spellings_make_equivalent_forms_no_error() -> None:
    from callgate.evaluators.text import Spellings

    canon = Spellings({"chequing": "checking", "March twelfth": "March 12"})
    assert canon("My Chequing account") == "my checking account"
    assert canon("born march twelfth") == canon("born March 12") == "born march twelve"
    assert Spellings()("My Chequing account") == "my chequing account"  # none: plain normalising
    plain = ASRAccuracy().evaluate(
        ground_truth="my chequing account", hypothesis="my checking account"
    )
    same = ASRAccuracy(spellings={"chequing": "checking"}).evaluate(
        ground_truth="my chequing account", hypothesis="my checking account"
    )
    assert plain.metrics["asr_wer"] == pytest.approx(1 / 3) and same.metrics["asr_wer"] == 0.0
    assert ASRAccuracy.rules == ("spellings",)
    assert ASRAccuracy(spellings={"a": "b"}).params()["spellings"] == {"a": "b"}
