"""Text conversations with the pharmacy policy, through the real tool backend."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from callgate_pharmacy import PharmacyPolicy, PharmacyTools, default_state

from callgate.agents.policy import (
    DialoguePolicy,
    PolicyInput,
    PolicyReply,
    PolicySession,
    ToolResult,
)
from callgate.errors import UsageError

SILENCE = None  # a scripted turn where the caller says nothing
DOB = "March twelfth, nineteen eighty four."
ISO_DATE = re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b")


@dataclass
class RecordingTools:
    """What the agent hands a session: records every call, runs it on a real backend."""

    backend: PharmacyTools = field(default_factory=PharmacyTools)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse: frozenset[str] = frozenset()  # tools that fail, as an unreachable service would

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.calls.append((name, dict(args)))
        if name in self.refuse:
            return ToolResult(ok=False, error="service unavailable")
        return self.backend.call(name, args)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def converse(
    lines: Sequence[str | None], tools: RecordingTools | None = None, **params: Any
) -> tuple[list[PolicyReply], RecordingTools]:
    session = PharmacyPolicy(**params).start()
    tools = tools or RecordingTools()
    replies = [session.respond(PolicyInput(event="start"), tools)]
    for line in lines:
        assert not replies[-1].end_call, "the script goes on after the call ended"
        turn = PolicyInput(event="silence") if line is None else PolicyInput("utterance", line)
        replies.append(session.respond(turn, tools))
    for reply in replies:
        assert not ISO_DATE.search(reply.text), reply.text  # never a date of birth, or like one
    return replies, tools


def state(tools: RecordingTools) -> dict[str, Any]:
    return tools.backend.state()


def test_protocols() -> None:
    policy = PharmacyPolicy()
    assert isinstance(policy, DialoguePolicy) and policy.name == "pharmacy"
    assert isinstance(policy.start(), PolicySession)


def test_refill_step_by_step() -> None:
    lines = ["Hi, I need to refill my lisinopril.", DOB, "Downtown.", "Friday.", "Yes, please."]
    replies, tools = converse([*lines, "No, that's all, thank you"])
    greet, verify, store, day, confirm, done, bye = replies
    assert greet.text == "Welcome to the pharmacy refill line. What can I do for you today?"
    assert verify.text == "I can help with that. First, can you confirm your date of birth?"
    assert verify.action == "ask_slot" and verify.intent == "refill"
    assert store.text.startswith("Thank you. Which store would you like to pick it up from")
    assert day.text == "What day would you like to pick it up?"
    assert confirm.text == (
        "So that's a refill of your Lisinopril 10 milligrams, for pickup at the Downtown store "
        "on Friday. Shall I go ahead with that?"
    )
    assert confirm.action == "confirm"
    assert confirm.slots == {
        "drug": "Lisinopril",
        "pharmacy": "Downtown",
        "day": "friday",
        "rx_number": "RX1001",
    }
    assert done.text == (
        "Done. Your Lisinopril refill will be ready for pickup at the Downtown store on Friday, "
        "November 27. Is there anything else?"
    )
    assert bye.text.endswith("Goodbye.") and bye.end_call and not bye.transferred
    assert tools.calls == [
        ("verify_patient", {"date_of_birth": "1984-03-12"}),
        ("lookup_prescription", {"drug": "Lisinopril"}),
        (
            "request_refill",
            {"rx_number": "RX1001", "pickup_date": "friday", "pharmacy": "Downtown"},
        ),
    ]
    assert state(tools)["refill_orders"][-1]["pickup_date"] == "2026-11-27"


def test_everything_in_one_sentence_goes_straight_to_the_confirmation() -> None:
    first = "Can I get a refill on my albuterol inhaler? I'll pick it up at Riverside tomorrow."
    replies, _ = converse([first, DOB])
    assert replies[-1].text.startswith("Thank you. So that's a refill of your Albuterol 90 micro")
    assert "Riverside store tomorrow. Shall I go ahead with that?" in replies[-1].text


def test_a_date_of_birth_in_the_request_is_used() -> None:
    replies, tools = converse(["Refill my lisinopril please, my birthday is 03/12/1984"])
    assert tools.names == ["verify_patient", "lookup_prescription"]
    assert "Which store" in replies[-1].text


@pytest.mark.parametrize(
    ("correction", "field", "value", "calls"),
    [
        ("No, sorry, make that the Riverside store.", "pharmacy", "Riverside", 2),
        ("No, Saturday instead.", "day", "saturday", 2),
        ("Yes, but on Saturday.", "day", "saturday", 2),
        ("Saturday.", "day", "saturday", 2),
        ("No, I meant my albuterol.", "drug", "Albuterol", 3),  # a new drug is looked up again
    ],
)
def test_corrections_at_the_confirmation(
    correction: str, field: str, value: str, calls: int
) -> None:
    first = "I'd like to refill my lisinopril at the Downtown store on Friday."
    replies, tools = converse([first, DOB, correction])
    again = replies[-1]
    assert again.action == "confirm" and again.slots[field] == value
    assert "Shall I go ahead with that?" in again.text
    assert len(tools.calls) == calls and "request_refill" not in tools.names


def test_no_at_the_confirmation_cancels() -> None:
    first = "I want to cancel my sertraline refill."
    replies, tools = converse([first, DOB, "No, actually, keep it.", "No, that's all."])
    assert "Shall I go ahead" in replies[2].text and "Downtown store" in replies[2].text
    assert replies[3].text.startswith("Okay, I won't do that.")
    assert replies[4].end_call and "cancel_refill" not in tools.names
    assert state(tools)["refill_orders"][0]["status"] == "ready"


def test_yes_or_no_is_asked_for_when_the_answer_is_neither() -> None:
    replies, _ = converse(["Please cancel my atorvastatin refill.", DOB, "hmm, the weather"])
    assert replies[-1].text.startswith("Sorry, I didn't get that. Please say yes or no. So you'd")


def test_slot_filling_for_a_status_question() -> None:
    lines = ["I'm calling to check on an order.", DOB, "Atorvastatin."]
    replies, tools = converse(lines)
    assert replies[2].text == "Thank you. Which medication is this for?"
    assert replies[3].text.startswith("Your Atorvastatin refill is being prepared.")
    assert "Thursday, November 26" in replies[3].text
    assert tools.names == ["verify_patient", "check_order_status"]


def test_an_unknown_drug_is_looked_up_as_said_and_asked_again() -> None:
    lines = ["I need a refill.", DOB, "Ibuprofen.", "Lisinopril."]
    replies, tools = converse(lines)
    assert (
        replies[3].text
        == "I couldn't find Ibuprofen on your profile. Which medication is this for?"
    )
    assert tools.calls[1] == ("lookup_prescription", {"drug": "Ibuprofen"})
    assert "Which store" in replies[4].text


@pytest.mark.parametrize(
    ("first", "says", "action"),
    [
        (
            "I need to refill my metformin.",
            "There are no refills left on your Metformin",
            "declined",
        ),
        ("Can I get more of my amoxicillin?", "prescription is expired", "declined"),
        (
            "Has my lisinopril been filled yet?",
            "I don't see an open refill order for Lisinopril",
            "declined",
        ),
        ("Is my sertraline refill ready yet?", "ready for pickup at the Downtown store", "execute"),
    ],
)
def test_answers_without_an_action(first: str, says: str, action: str) -> None:
    replies, tools = converse([first, DOB])
    assert says in replies[-1].text and replies[-1].action == action
    assert replies[-1].text.endswith("Is there anything else?")
    assert not {"request_refill", "cancel_refill", "schedule_delivery"} & set(tools.names)


def test_a_closed_store_asks_for_another_day() -> None:
    lines = ["Refill my lisinopril for pickup at Riverside on Sunday.", DOB, "Yes."]
    replies, tools = converse([*lines, "Monday then.", "Yes."])
    assert replies[3].action == "tool_failed"
    assert replies[3].text == (
        "Sorry, I couldn't do that: the Riverside store is closed on Sundays. "
        "What day would you like to pick it up?"
    )
    assert "on Monday. Shall I go ahead" in replies[4].text
    assert [a.get("pickup_date") for n, a in tools.calls if n == "request_refill"] == [
        "sunday",
        "monday",
    ]


def test_delivery_and_store_hours() -> None:
    lines = ["Can you deliver my albuterol inhaler?", DOB, "Thursday.", "Yes."]
    replies, tools = converse(
        [*lines, "Yes, and when does the lake view store close?", "No thanks."]
    )
    assert replies[2].text == "Thank you. What day would you like it delivered?"
    assert "delivered to your address on file on Thursday. Shall I go ahead" in replies[3].text
    assert replies[5].text == (
        "The Lakeview store is open 10 a.m. to 7 p.m., Monday to Friday. Is there anything else?"
    )
    assert tools.names[-2:] == ["schedule_delivery", "get_store_hours"]
    assert replies[6].end_call


@pytest.mark.parametrize(
    ("lines", "reason", "phrase"),
    [
        (["Can I speak to a pharmacist, please?"], "caller_request", "Of course."),
        (
            ["Is it safe to drink alcohol with my lisinopril?"],
            "medical_question",
            "That's a question",
        ),
        (
            ["I need to refill my lisinopril.", DOB, "what are the side effects?"],
            "medical_question",
            "That's a question",
        ),
        (
            ["Please cancel my atorvastatin refill.", DOB, "No. Get me a human."],
            "caller_request",
            "Of course.",
        ),
    ],
)
def test_handoffs(lines: list[str], reason: str, phrase: str) -> None:
    replies, tools = converse(lines)
    last = replies[-1]
    assert last.text.startswith(phrase) and "Let me connect you with a pharmacist." in last.text
    assert last.transferred and last.end_call and last.action == "transfer"
    assert tools.calls[-1] == ("connect_pharmacist", {"reason": reason})
    assert state(tools)["handoff"] == {"reason": reason}


@pytest.mark.parametrize("max_failures", [1, 2, 3])
def test_handoff_after_repeated_failures(max_failures: int) -> None:
    vent = "This is ridiculous, I've called three times already!"
    replies, tools = converse([vent] * max_failures, max_failures=max_failures)
    for repair in replies[1:-1]:
        assert repair.text.startswith("Sorry, I didn't get that.") and repair.action == "repair"
    assert replies[-1].transferred
    assert "Sorry, I'm having trouble understanding." in replies[-1].text
    assert tools.calls == [("connect_pharmacist", {"reason": "repeated_failures"})]


@pytest.mark.parametrize("max_failures", [2, 3])
def test_a_wrong_date_of_birth_is_handed_off(max_failures: int) -> None:
    wrong = "June first, nineteen ninety."
    lines = ["I need to refill my lisinopril.", *[wrong] * max_failures]
    replies, tools = converse(lines, max_failures=max_failures)
    assert replies[2].text == (
        "Sorry, that date of birth doesn't match our records. Can you confirm your date of birth?"
    )
    assert replies[-1].transferred and "verify your details" in replies[-1].text
    assert tools.names == ["verify_patient"] * max_failures + ["connect_pharmacist"]
    assert state(tools)["patient"]["verified"] is False


def test_a_right_date_of_birth_after_a_wrong_one() -> None:
    lines = ["I need to refill my lisinopril.", "June first, nineteen ninety.", DOB]
    replies, _ = converse(lines)
    assert replies[-1].text.startswith("Thank you. Which store")


def test_out_of_scope_then_goodbye() -> None:
    replies, tools = converse(["Can I book a flu shot?", "No, that's all, thank you."])
    assert replies[1].text.startswith("I'm only able to help with prescription refills")
    assert replies[1].action == "out_of_scope" and replies[1].text.endswith("anything else?")
    assert replies[2].end_call and tools.calls == []


def test_silence_reprompts_then_hangs_up() -> None:
    replies, _ = converse(["I need a refill.", SILENCE, SILENCE])
    assert replies[2].text == ("Are you still on the line? Can you confirm your date of birth?")
    assert replies[3].text == "I haven't heard from you, so I'll hang up now. Goodbye."
    assert replies[3].end_call and not replies[3].transferred


def test_speech_resets_the_silence_count() -> None:
    replies, _ = converse([SILENCE, "I need a refill.", SILENCE], max_silences=2)
    assert replies[-1].action == "reprompt"


def test_without_confirmation_the_action_runs_at_once() -> None:
    first = "Refill my lisinopril, Downtown store, tomorrow."
    replies, tools = converse([first, DOB], confirm_sensitive=False)
    assert replies[-1].text.startswith("Thank you. Done. Your Lisinopril refill")
    assert tools.names[-1] == "request_refill"


def test_a_failed_handoff_still_ends_the_call() -> None:
    tools = RecordingTools(refuse=frozenset({"connect_pharmacist"}))
    replies, _ = converse(["Pharmacist please"], tools=tools)
    assert replies[-1].end_call and not replies[-1].transferred
    assert "no pharmacist is free" in replies[-1].text


def test_the_date_of_birth_never_reaches_the_reply_slots() -> None:
    replies, _ = converse(["I need to refill my lisinopril.", DOB])
    assert all("1984" not in str(r.slots) for r in replies)


def test_after_the_end_every_turn_says_goodbye() -> None:
    session = PharmacyPolicy().start()
    tools = RecordingTools()
    session.respond(PolicyInput("start"), tools)
    assert session.respond(PolicyInput("utterance", "that's all, bye"), tools).end_call
    assert session.respond(PolicyInput("utterance", "hello?"), tools).end_call


def test_identity_follows_the_parameters() -> None:
    base = PharmacyPolicy().identity()
    assert base.startswith("pharmacy:") and base == PharmacyPolicy().identity()
    assert PharmacyPolicy(drug_match_cutoff=0.75).identity() != base
    assert PharmacyPolicy(version="1.1").identity() != base
    assert PharmacyPolicy(cache_dir="/tmp/models").identity() == base  # no model to cache


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_failures": 0}, "max_failures"),
        ({"max_silences": True}, "max_silences"),
        ({"drug_match_cutoff": 0.2}, "drug_match_cutoff"),
        ({"drug_match_cutoff": "high"}, "drug_match_cutoff"),
        ({"medications": "Lisinopril"}, "medications"),
        ({"stores": ["Downtown", ""]}, "stores"),
    ],
)
def test_bad_parameters(params: dict[str, Any], field: str) -> None:
    with pytest.raises(UsageError) as err:
        PharmacyPolicy(**params)
    assert err.value.field == field


def test_custom_store_list_is_offered_and_understood() -> None:
    backend = PharmacyTools({**default_state(), "pharmacies": {"Harbour": {"hours": "9 to 5"}}})
    tools = RecordingTools(backend=backend)
    lines = ["I need to refill my lisinopril.", DOB, "Harbour.", "Friday.", "Yes."]
    replies, _ = converse(lines, tools=tools, stores=["Harbour"])
    assert "pick it up from: Harbour?" in replies[2].text
    assert replies[-1].text.startswith("Done. Your Lisinopril refill will be ready")


# What real calls taught (callgate run, piper voice, Whisper tiny.en, phone line).


def test_a_drug_never_found_counts_as_a_failure() -> None:
    """Whisper heard "metformin" as "minute" every time: hand off, do not loop."""
    lines = ["I need to refill my men.", DOB, "Minute.", "Minute."]
    replies, tools = converse(lines)
    assert (
        replies[3].text == "I couldn't find Minute on your profile. Which medication is this for?"
    )
    assert replies[-1].transferred and "trouble understanding" in replies[-1].text
    assert tools.names == [
        "verify_patient",
        "lookup_prescription",
        "lookup_prescription",
        "connect_pharmacist",
    ]


@pytest.mark.parametrize("bye", ["No, that's all.", "That's all, thanks."])
def test_thats_all_while_a_question_is_open_ends_the_call(bye: str) -> None:
    replies, tools = converse(["I need to refill my listen app role.", DOB, bye])
    assert replies[2].text == "Thank you. Which medication is this for?"
    assert replies[3].end_call and replies[3].text.endswith("Goodbye.")
    assert tools.names == ["verify_patient"]  # "all" was not taken for a drug name


@pytest.mark.parametrize(
    "heard", ["What are your ours at the Riverside Store?", "The Riverside store?"]
)
def test_a_store_named_alone_asks_for_its_hours(heard: str) -> None:
    replies, tools = converse([heard])
    assert replies[1].text.startswith("The Riverside store is open 9 a.m. to 6 p.m.")
    assert tools.calls == [("get_store_hours", {"pharmacy": "Riverside"})]
