"""Which unhappy-path behaviours a scenario exercises, read from its structure.

Some suites tag their scenarios (``tags.behaviour``), others tag nothing. So each behaviour is
recognised first from what the scenario file makes the caller do (an ``interrupt_after_ms``, a
``$silent`` reply, a reaction with ``expect`` and ``otherwise``...), and also from a scenario tag
value (or ``call_type``) that names it, for what structure cannot show.

Suite-level reactions are not counted: they apply to every scenario alike (a suite's
``didn't catch -> $repeat`` would make every scenario a repair scenario), so they cannot tell one
scenario from another. A scenario exercises *repair* when it answers the agent's request to say it
again itself: a ``$repeat`` reply of its own, or its own answer to a phrase a suite-level
``$repeat`` reaction listens for (a caller who rephrases, or hangs up, instead of repeating).

Add a behaviour by appending a :class:`Behaviour` to :data:`BEHAVIOURS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from callgate.scenarios.model import (
    REPEAT,
    SILENT,
    SPECIAL_REPLIES,
    Reaction,
    Scenario,
    Suite,
    Utterance,
)

# A caller this much faster than normal speech sounds hurried (the bundled suites write 1.15-1.3).
HURRIED_RATE = 1.15


@dataclass(frozen=True)
class Behaviour:
    """An unhappy path: its name, what it means, and how a scenario shows it."""

    name: str
    description: str
    detect: Callable[[Scenario, Suite], bool]
    aliases: frozenset[str]  # tag values that name it (normalised: lower case, ``_`` for ``-``)


def replies(scenario: Scenario) -> Iterator[Utterance]:
    """Every reaction reply of the scenario itself (``say`` and ``otherwise``)."""
    for reaction in scenario.caller.reactions:
        yield reaction.say
        if reaction.otherwise is not None:
            yield reaction.otherwise


def utterances(scenario: Scenario) -> Iterator[Utterance]:
    """Everything the scenario makes the caller say: turns, reaction replies and the closing."""
    yield from scenario.caller.turns
    yield from replies(scenario)
    yield scenario.caller.closing


def _interruption(sc: Scenario, suite: Suite) -> bool:
    # A backchannel is timed like an interruption but asks the agent to talk on, not to stop.
    return any(u.interrupt_after_ms is not None and not u.backchannel for u in utterances(sc))


def _silence(sc: Scenario, suite: Suite) -> bool:
    return any(u.silence_before_s > 0 or u.say == SILENT for u in utterances(sc))


def _correction(sc: Scenario, suite: Suite) -> bool:
    # `expect` + `otherwise`: the caller checks the agent's confirmation and corrects it.
    return any(
        r.expect and r.otherwise is not None and r.otherwise.say not in SPECIAL_REPLIES
        for r in sc.caller.reactions
    )


_HURRIED_PERSONAS = ("angry", "hurried", "frustrated", "impatient", "rushed", "annoyed")


def _angry_or_hurried(sc: Scenario, suite: Suite) -> bool:
    persona = sc.caller.persona
    if persona.frustration is not None:
        return True
    if any(word in persona.name.lower() for word in _HURRIED_PERSONAS):
        return True
    return any(u.rate >= HURRIED_RATE for u in utterances(sc))


def _out_of_scope(sc: Scenario, suite: Suite) -> bool:
    return _normal(sc.expect.label) in _OUT_OF_SCOPE


def _human_request(sc: Scenario, suite: Suite) -> bool:
    handoff = set(suite.evaluation.handoff_tools)
    return sc.expect.transferred or any(t.tool in handoff for t in sc.expect.tools)


def _repeat_prompts(suite: Suite) -> set[str]:
    """The agent phrases a suite-level ``$repeat`` reaction answers ("didn't catch")."""
    return {
        phrase.lower()
        for r in suite.reactions
        if REPEAT in (r.say.say, r.otherwise.say if r.otherwise else None)
        for phrase in r.when
    }


def _answers(reaction: Reaction, phrases: set[str]) -> bool:
    return any(phrase.lower() in phrases for phrase in reaction.when)


def _repair(sc: Scenario, suite: Suite) -> bool:
    if any(u.say == REPEAT for u in replies(sc)):
        return True
    prompts = _repeat_prompts(suite)
    return any(_answers(r, prompts) for r in sc.caller.reactions)


def _pause(sc: Scenario, suite: Suite) -> bool:
    return any(u.pause is not None for u in utterances(sc))


_OUT_OF_SCOPE = frozenset({"out_of_scope", "off_topic", "unsupported"})

BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "interruption",
        "the caller talks over the agent (`interrupt_after_ms`)",
        _interruption,
        frozenset({"interruption", "interrupt", "barge_in"}),
    ),
    Behaviour(
        "silence",
        "the caller goes quiet (`silence_before_s` > 0, or a `$silent` reply)",
        _silence,
        frozenset({"silence", "silent", "no_input"}),
    ),
    Behaviour(
        "correction",
        "the caller corrects a wrong confirmation (a reaction with `expect` and `otherwise`)",
        _correction,
        frozenset({"correction", "changed_mind"}),
    ),
    Behaviour(
        "angry_or_hurried",
        f"an angry or hurried caller (`frustration`, a rate >= {HURRIED_RATE:g}, or a persona "
        "named so)",
        _angry_or_hurried,
        frozenset({"angry", "hurried", "frustrated", "impatient", "angry_or_hurried"}),
    ),
    Behaviour(
        "out_of_scope",
        "a request the agent must decline (`expect.label` or a tag `out_of_scope`)",
        _out_of_scope,
        _OUT_OF_SCOPE,
    ),
    Behaviour(
        "human_request",
        "the caller should reach a human (`expect.transferred`, or a hand-off tool expected)",
        _human_request,
        frozenset({"human_request", "handoff", "human", "escalation"}),
    ),
    Behaviour(
        "repair",
        "the caller answers a request to say it again itself (its own `$repeat` reply, or its own "
        "reaction to a phrase a suite-level `$repeat` reaction listens for)",
        _repair,
        frozenset({"repair", "repeat", "rephrase"}),
    ),
    Behaviour(
        "pause",
        "the caller pauses mid-sentence (an utterance with `pause`)",
        _pause,
        frozenset({"pause", "hesitation"}),
    ),
)
BEHAVIOUR_NAMES: tuple[str, ...] = tuple(b.name for b in BEHAVIOURS)


def _normal(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def behaviours_of(
    scenario: Scenario, suite: Suite, behaviours: tuple[Behaviour, ...] = BEHAVIOURS
) -> list[str]:
    """Names of the behaviours the scenario exercises, in the order of ``behaviours``."""
    named = {_normal(v) for v in [scenario.call_type, *scenario.tags.values()]}
    return [b.name for b in behaviours if b.detect(scenario, suite) or named & b.aliases]
