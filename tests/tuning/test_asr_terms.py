"""Mining the terms ASR loses: only domain words count, and the prompt is the callers' own words."""

from __future__ import annotations

from callgate.evaluators.text import Spellings
from callgate.scenarios.evaluation import EvaluationRules
from callgate.tuning.asr_terms import (
    contains_any,
    domain_vocabulary,
    heard_turns,
    missed_terms,
    priming_sentences,
)
from factories import agent, call, caller

RULES = EvaluationRules(entities=["debit", "savings"], intents={"freeze": ["freeze", "block"]})


def a_call(reference: str, heard: str, entities: list[str] | None = None):  # type: ignore[no-untyped-def]
    return call(
        caller_turns=[caller(0, reference, 0.0, 2.0, entities=entities)],
        agent_turns=[
            agent(0, "hello"),
            agent(1, "ok", heard=(0.0, 2.0), asr=heard, reference=reference),
        ],
    )


def test_domain_vocabulary_takes_rules_and_the_calls_entities() -> None:
    calls = [a_call("pay the plumber", "pay the plumber", entities=["plumber"])]
    assert domain_vocabulary(RULES, calls) == {"debit", "savings", "freeze", "block", "plumber"}


def test_only_domain_terms_substituted_or_dropped_are_counted() -> None:
    calls = [
        a_call("please freeze my debit card", "please fees my the bit card"),
        a_call("freeze the debit card now", "freeze the card now"),
    ]
    misses = missed_terms(heard_turns(calls), domain_vocabulary(RULES, calls), Spellings())
    assert misses == {"freeze": 1, "debit": 2}  # "my" and "card" are lost too but not domain


def test_without_a_domain_vocabulary_content_words_count() -> None:
    calls = [a_call("the plumber came today", "the plum came today")]
    assert missed_terms(heard_turns(calls), set(), Spellings()) == {"plumber": 1}


def test_priming_sentences_cover_the_terms_within_the_budget() -> None:
    calls = [
        a_call("freeze my debit card", "x"),
        a_call("move money to savings", "x"),
        a_call("hello there", "x"),
    ]
    turns = heard_turns(calls)
    chosen = priming_sentences(turns, ["debit", "savings"], max_words=20)
    assert sorted(chosen) == ["freeze my debit card", "move money to savings"]
    assert priming_sentences(turns, ["debit", "savings"], max_words=4) == ["freeze my debit card"]
    assert contains_any("Move money to SAVINGS.", {"savings"})
