from callgate.scenarios.model import Caller, Reaction
from callgate.simulation.caller import ScriptedCaller


def make(**kw: object) -> ScriptedCaller:
    caller = Caller.model_validate(
        {
            "goal": "freeze debit card",
            "turns": ["I need to freeze my debit card", "also what's my balance"],
            "reactions": [
                {
                    "when": ["is that right"],
                    "expect": ["freeze", "debit"],
                    "say": "yes please",
                    "otherwise": "no, I said freeze my debit card",
                    "max_times": 2,
                },
                {"when": ["which card"], "say": "the debit one"},
            ],
            **kw,
        }
    )
    suite = [
        Reaction.model_validate({"when": ["didn't catch"], "say": "$repeat"}),
        Reaction.model_validate({"when": ["goodbye"], "say": "$hangup"}),
    ]
    return ScriptedCaller(caller, suite)


def said(c: ScriptedCaller, agent: str) -> str:
    d = c.decide(agent)
    return d.kind if d.utterance is None else d.utterance.say


def test_script_then_reactions_then_closing_then_hangup() -> None:
    c = make()
    assert said(c, "How can I help you today?") == "I need to freeze my debit card"
    assert said(c, "Which card, debit or credit?") == "the debit one"
    assert (
        said(c, "Just to confirm, you want to freeze your debit card. Is that right?")
        == "yes please"
    )
    assert said(c, "Done. Anything else?") == "also what's my balance"
    assert said(c, "Your balance is 5 dollars. Anything else?") == "no, that's all, thank you"
    assert said(c, "Anything else?") == "hangup"


def test_misheard_confirmation_gets_corrected_until_max_times() -> None:
    c = make()
    c.decide("How can I help you today?")
    d = c.decide("Just to confirm, you want to freeze your credit card. Is that right?")
    assert d.why == "correction" and d.utterance is not None
    assert d.utterance.say == "no, I said freeze my debit card"
    c.decide("Just to confirm, you want to freeze your credit card. Is that right?")
    # the reaction is used up: the caller falls through to its script
    assert said(c, "Just to confirm, you want to freeze your credit card. Is that right?") == (
        "also what's my balance"
    )


def test_repeat_raises_rate_and_gain_when_frustrated() -> None:
    c = make(persona={"frustration": {"after_repeats": 2, "rate": 1.3, "gain_db": 6}})
    c.decide("How can I help you today?")
    first = c.decide("Sorry, I didn't catch that.")
    assert first.why == "repeat" and first.rate == 1.0
    second = c.decide("Sorry, I didn't catch that.")
    assert second.rate == 1.3 and second.gain_db == 6
    assert second.utterance is not None and second.utterance.say == "I need to freeze my debit card"


def test_silent_is_sticky_and_max_turns_hangs_up() -> None:
    c = make(reactions=[{"when": ["anything else"], "say": "$silent"}])
    c.decide("How can I help?")
    assert c.decide("Done. Anything else?").kind == "silent"
    assert c.decide("Are you still there?").kind == "silent"
    c2 = make(max_turns=1)
    c2.decide("hello")
    assert c2.decide("hello").kind == "hangup"


def test_a_backchannel_is_not_a_turn() -> None:
    c = make(
        turns=[
            "I need to freeze my debit card",
            {"say": "mm-hm", "backchannel": True, "interrupt_after_ms": 800},
            "also what's my balance",
        ],
        max_turns=3,
    )
    assert said(c, "How can I help you today?") == "I need to freeze my debit card"
    d = c.decide("Done, your card is frozen. Anything else?")
    assert d.utterance is not None and d.utterance.backchannel
    # Asked to say it again, the caller repeats what it meant, not its "mm-hm".
    assert said(c, "Sorry, I didn't catch that.") == "I need to freeze my debit card"
    # The backchannel did not count towards max_turns (3): the script goes on.
    assert said(c, "Done. Anything else?") == "also what's my balance"
    assert said(c, "Anything else?") == "hangup"
