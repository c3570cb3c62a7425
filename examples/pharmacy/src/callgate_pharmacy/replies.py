"""What the pharmacy agent says.

Scripted callers react to these words and the suite's ``evaluation:`` block names some of them
("shall i go ahead", "connect you with a pharmacist"), so the phrases in the README's contract
table are API: change them only together with the suite.

Nothing here ever says a date of birth or an ISO date: pickup and delivery dates are spoken as
"Friday, November 27".
"""

from __future__ import annotations

import re
from typing import Any

from callgate_pharmacy.dates import spoken_date, spoken_day

JSON = dict[str, Any]

GREETING = "Welcome to the pharmacy refill line. What can I do for you today?"
START_VERIFY = "I can help with that. First, can you confirm your date of birth?"
ASK_DOB = "Can you confirm your date of birth?"
DOB_MISMATCH = "Sorry, that date of birth doesn't match our records."
VERIFIED = "Thank you."
ASK_DRUG = "Which medication is this for?"
ASK_PICKUP_DAY = "What day would you like to pick it up?"
ASK_DELIVERY_DAY = "What day would you like it delivered?"
ASK_HOURS_STORE = "Which store are you asking about?"
CONFIRM_TAIL = "Shall I go ahead with that?"
YES_OR_NO = "Please say yes or no."
ANYTHING_ELSE = "Is there anything else?"
WHAT_ELSE = "Sure. What else can I do for you?"
WHAT_NOW = "Okay. What can I do for you?"
CANCELLED = "Okay, I won't do that. What would you like me to do instead?"
NOT_UNDERSTOOD = "Sorry, I didn't get that."
HELP_TOPICS = (
    "I can refill a prescription, check on an order, arrange a delivery, cancel a refill or "
    "give you store hours."
)
OUT_OF_SCOPE = (
    "I'm only able to help with prescription refills, order status, deliveries, cancellations "
    "and store hours."
)
STILL_THERE = "Are you still on the line?"
SILENT_GOODBYE = "I haven't heard from you, so I'll hang up now. Goodbye."
GOODBYE = "Thanks for calling the pharmacy. Goodbye."
HANDOFF = {
    "caller_request": "Of course. Let me connect you with a pharmacist. Please stay on the line.",
    "medical_question": (
        "That's a question for a pharmacist. Let me connect you with a pharmacist. "
        "Please stay on the line."
    ),
    "verification_failed": (
        "I'm not able to verify your details. Let me connect you with a pharmacist. "
        "Please stay on the line."
    ),
    "repeated_failures": (
        "Sorry, I'm having trouble understanding. Let me connect you with a pharmacist. "
        "Please stay on the line."
    ),
}
HANDOFF_FAILED = "Sorry, no pharmacist is free right now. Please call back later. Goodbye."

_UNITS = {"mg": "milligrams", "mcg": "micrograms", "ml": "milliliters"}


def ask_store(stores: list[str]) -> str:
    names = stores if len(stores) < 2 else [", ".join(stores[:-1]), stores[-1]]
    return f"Which store would you like to pick it up from: {' or '.join(names)}?"


def strength(value: Any) -> str:
    """ "10 mg" as the agent says it: "10 milligrams" (TTS voices read "mg" as letters)."""
    words = str(value or "").split()
    return " ".join(_UNITS.get(w.lower(), w) for w in words)


def _drug(rx: JSON) -> str:
    said = strength(rx.get("strength"))
    return f"{rx['drug']} {said}" if said else str(rx["drug"])


def confirm(task: str, slots: JSON) -> str:
    """The summary of a sensitive action and the question the caller answers yes or no to."""
    if task == "refill":
        rx, day = slots["rx"], spoken_day(slots["day"])
        said = (
            f"So that's a refill of your {_drug(rx)}, for pickup at the {slots['pharmacy']} "
            f"store {day}."
        )
    elif task == "delivery":
        rx, day = slots["rx"], spoken_day(slots["day"])
        said = f"So that's your {_drug(rx)}, delivered to your address on file {day}."
    else:
        order = slots["order"]
        where = (
            "delivery"
            if order.get("fulfilment") == "delivery"
            else f"refill at the {order.get('pharmacy')} store"
        )
        said = f"So you'd like to cancel your {order['drug']} {where}."
    return f"{said} {CONFIRM_TAIL}"


def done(task: str, result: JSON) -> str:
    """The report of an action that ran, from the tool's result."""
    drug = result.get("drug", "prescription")
    if task == "refill":
        when = spoken_date(result["pickup_date"])
        said = (
            f"Done. Your {drug} refill will be ready for pickup at the {result['pharmacy']} "
            f"store on {when}."
        )
    elif task == "delivery":
        when = spoken_date(result["delivery_date"])
        said = f"Done. Your {drug} will be delivered to your address on file on {when}."
    else:
        said = f"Done. I've cancelled your {drug} refill."
    return f"{said} {ANYTHING_ELSE}"


def order_status(order: JSON) -> str:
    drug, status = order.get("drug", "prescription"), order.get("status")
    when = order.get("delivery_date") or order.get("pickup_date")
    if status == "ready":
        said = f"Your {drug} refill is ready for pickup at the {order.get('pharmacy')} store."
    elif status == "processing" and order.get("fulfilment") == "delivery" and when:
        said = f"Your {drug} is being prepared for delivery on {spoken_date(when)}."
    elif status == "processing" and when:
        said = (
            f"Your {drug} refill is being prepared. It will be ready for pickup at the "
            f"{order.get('pharmacy')} store on {spoken_date(when)}."
        )
    else:
        said = f"Your {drug} refill is {str(status).replace('_', ' ')}."
    return f"{said} {ANYTHING_ELSE}"


def no_refills(rx: JSON) -> str:
    if rx.get("status") != "active":
        why = f"Your {rx['drug']} prescription is {rx.get('status')}, so I can't refill it."
    else:
        why = f"There are no refills left on your {rx['drug']} prescription."
    return f"{why} Your doctor will need to send a new one. {ANYTHING_ELSE}"


def not_on_file(heard: str) -> str:
    return f"I couldn't find {heard} on your profile. {ASK_DRUG}"


def no_order(drug: str) -> str:
    return f"I don't see an open refill order for {drug}. {ANYTHING_ELSE}"


def not_cancellable(order: JSON) -> str:
    status = str(order.get("status", "closed")).replace("_", " ")
    return f"Your {order['drug']} refill is already {status}, so I can't cancel it. {ANYTHING_ELSE}"


def store_hours(result: JSON) -> str:
    return f"The {result['pharmacy']} store is open {result['hours']}. {ANYTHING_ELSE}"


def failed(error: str | None, follow_up: str) -> str:
    return f"Sorry, I couldn't do that: {error or 'the pharmacy system said no'}. {follow_up}"


_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def redact(text: str) -> str:
    """Drop any ISO date before it is spoken: one would read like the caller's date of birth."""
    return _ISO.sub("that date", text)
