"""The pharmacy dialogue policy: keyword understanding, slot filling and confirmation.

A call always verifies the patient before anything touches a prescription, so a session walks a
task through fixed steps: date of birth, medication, the prescription or order it concerns (read
through a tool), the task's own slots (store, day), a spoken confirmation for anything that
changes an order, then the action. A session waits for one thing at a time: a slot, a yes/no, or
nothing. Tools run only through the ``tools`` object handed to :meth:`PharmacySession.respond`, so
the agent records and times them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from callgate.agents.policy import JSON, PolicyInput, PolicyReply, Tools
from callgate.errors import UsageError

from callgate_pharmacy import replies as say
from callgate_pharmacy.understanding import (
    DEFAULT_MEDICATIONS,
    DEFAULT_STORES,
    Meaning,
    drug_phrase,
    names_param,
    strip_lead,
    understand,
)

NEEDS_VERIFICATION = frozenset({"refill", "status", "delivery", "cancel"})
ACTION_TOOLS = {
    "refill": "request_refill",
    "delivery": "schedule_delivery",
    "cancel": "cancel_refill",
}
# Everything that can change a reply (cache_dir cannot).
_IDENTITY = (
    "version", "max_failures", "max_silences", "confirm_sensitive", "medications", "stores",
    "drug_match_cutoff",
)  # fmt: skip
TASK_SLOTS = {
    "refill": ("drug", "pharmacy", "day"),
    "delivery": ("drug", "day"),
    "status": ("drug",),
    "cancel": ("drug",),
    "hours": ("pharmacy",),
}


class PharmacyPolicy:
    """The pharmacy refill line's dialogue policy (``policy: {name: pharmacy}``).

    ``cache_dir`` is accepted because callgate's pipeline offers every policy a model cache; this
    one has no model to cache.
    """

    name = "pharmacy"

    def __init__(
        self,
        version: str = "1.0",
        max_failures: int = 2,
        max_silences: int = 2,
        confirm_sensitive: bool = True,
        medications: list[str] | None = None,
        stores: list[str] | None = None,
        drug_match_cutoff: float = 0.8,
        cache_dir: str | None = None,
    ) -> None:
        for field, value in (("max_failures", max_failures), ("max_silences", max_silences)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError("must be a whole number of at least 1", field=field)
        cutoff_ok = isinstance(drug_match_cutoff, int | float) and not isinstance(
            drug_match_cutoff, bool
        )
        if not cutoff_ok or not 0.5 <= float(drug_match_cutoff) <= 1.0:
            raise UsageError("must be a number between 0.5 and 1", field="drug_match_cutoff")
        self.version = str(version)
        self.max_failures = max_failures
        self.max_silences = max_silences
        self.confirm_sensitive = bool(confirm_sensitive)
        self.medications = names_param(medications, "medications", DEFAULT_MEDICATIONS)
        self.stores = names_param(stores, "stores", DEFAULT_STORES)
        self.drug_match_cutoff = float(drug_match_cutoff)

    def identity(self) -> str:
        params = {key: getattr(self, key) for key in _IDENTITY}
        return "pharmacy:" + json.dumps(params, sort_keys=True, separators=(",", ":"))

    def start(self) -> PharmacySession:
        return PharmacySession(self)


class PharmacySession:
    """One call's dialogue state."""

    def __init__(self, policy: PharmacyPolicy) -> None:
        self._policy = policy
        self._task: str | None = None
        self._slots: dict[str, Any] = {}  # drug, pharmacy, day, and the tools' rx / order
        self._awaiting: str | None = None  # dob, drug, pharmacy, day, confirm; None when open
        self._dob: str | None = None  # kept out of the slots: they are written to the trace
        self._verified = False
        self._failures = 0
        self._silences = 0
        self._talked = False  # something was answered, so a plain "no" now ends the call
        self._ended = False
        self._heard = Meaning()

    def respond(self, turn: PolicyInput, tools: Tools) -> PolicyReply:
        self._heard = Meaning()
        if self._ended:
            return self._reply(say.GOODBYE, "goodbye", end_call=True)
        if turn.event == "start":
            return self._reply(say.GREETING, "greet")
        if turn.event == "silence":
            self._silences += 1
            if self._silences >= self._policy.max_silences:
                return self._end(say.SILENT_GOODBYE)
            return self._reply(f"{say.STILL_THERE} {self._question()}", "reprompt")
        self._silences = 0
        heard = self._understand(turn.text)
        self._heard = heard
        if heard.handoff is not None:
            return self._handoff(tools, heard.handoff)
        if self._awaiting == "confirm":
            return self._on_confirm(turn.text, heard, tools)
        if self._awaiting is not None:
            return self._on_slot(turn.text, heard, tools)
        return self._on_open(turn.text, heard, tools)

    # ----------------------------------------------------------------------- per state

    def _understand(self, text: str) -> Meaning:
        p = self._policy
        return understand(text, p.medications, p.stores, p.drug_match_cutoff)

    def _on_open(self, text: str, heard: Meaning, tools: Tools) -> PolicyReply:
        if heard.lead == "deny":
            # "no, but when does Riverside close?" after "anything else?" is a new request.
            rest = self._understand(strip_lead(text))
            if rest.task is not None:
                return self._start(rest, tools)
            if self._talked:
                return self._end(say.GOODBYE)
            return self._understood(say.WHAT_NOW, "reprompt")
        if heard.task is None and (heard.drug or heard.pharmacy):
            # A medication named and nothing else is a refill request, a store its hours: what
            # this line is for, and what is left when ASR mangles the verb ("what are your ours").
            heard = dataclasses.replace(heard, task="refill" if heard.drug else "hours")
        if heard.task is not None:
            return self._start(heard, tools)
        if heard.goodbye:
            return self._end(say.GOODBYE)
        if heard.lead == "affirm":
            return self._understood(say.WHAT_ELSE if self._talked else say.WHAT_NOW, "reprompt")
        if heard.out_of_scope:
            self._talked = True
            return self._understood(f"{say.OUT_OF_SCOPE} {say.ANYTHING_ELSE}", "out_of_scope")
        return self._not_understood(tools, say.HELP_TOPICS)

    def _on_slot(self, text: str, heard: Meaning, tools: Tools) -> PolicyReply:
        assert self._task is not None and self._awaiting is not None
        if self._awaiting == "dob" and heard.date_of_birth is not None:
            self._dob = heard.date_of_birth
            self._slots.update(self._relevant(heard))
            return self._verify(tools)
        found = self._relevant(heard)
        if (
            self._awaiting == "drug"
            and "drug" not in found
            and heard.task in (None, self._task)
            and heard.lead != "deny"
            and not (heard.goodbye or heard.out_of_scope)
        ):
            phrase = drug_phrase(text)
            if phrase is not None:
                found["drug"] = phrase
        if self._awaiting in found:
            self._update(found)
            if self._awaiting != "drug":  # a drug is understood once a tool finds it
                self._failures = 0
            return self._advance(tools)
        if heard.task is not None and heard.task != self._task:
            return self._start(heard, tools)
        if heard.goodbye:  # "no, that's all" ends the call, not just the task
            return self._end(say.GOODBYE)
        if heard.lead == "deny":
            return self._cancel()
        if heard.out_of_scope:
            return self._understood(f"{say.OUT_OF_SCOPE} {self._question()}", "out_of_scope")
        if found:  # an answer to a question not asked yet still counts
            self._update(found)
            return self._understood(self._question(), "ask_slot")
        return self._not_understood(tools, self._question())

    def _on_confirm(self, text: str, heard: Meaning, tools: Tools) -> PolicyReply:
        assert self._task is not None
        rest = self._understand(strip_lead(text)) if heard.lead else heard
        changes = {k: v for k, v in self._relevant(rest).items() if self._slots.get(k) != v}
        if heard.lead == "affirm":
            return self._correct(changes, tools) if changes else self._execute(tools)
        if heard.task is not None and heard.task != self._task:
            return self._start(heard, tools)
        if rest.task is not None and rest.task != self._task:
            return self._start(rest, tools)  # "no, I want to cancel it instead"
        if changes:
            return self._correct(changes, tools)  # "no, Saturday", or just "Saturday"
        if heard.goodbye:
            return self._end(say.GOODBYE)
        if heard.lead == "deny":
            return self._cancel()
        return self._not_understood(tools, f"{say.YES_OR_NO} {self._question()}")

    # ----------------------------------------------------------------------- tasks

    def _relevant(self, heard: Meaning) -> dict[str, Any]:
        wanted = TASK_SLOTS.get(self._task or "", ())
        return {k: v for k, v in heard.slots().items() if k in wanted}

    def _update(self, found: dict[str, Any]) -> None:
        if "drug" in found and found["drug"] != self._slots.get("drug"):
            # Another medication: what the tools said about the old one no longer applies.
            self._slots.pop("rx", None)
            self._slots.pop("order", None)
        self._slots.update(found)

    def _start(self, heard: Meaning, tools: Tools) -> PolicyReply:
        self._task, self._awaiting, self._failures = heard.task, None, 0
        self._slots = self._relevant(heard)
        if heard.date_of_birth is not None and not self._verified:
            self._dob = heard.date_of_birth
            return self._verify(tools)
        return self._advance(tools, opening=True)

    def _correct(self, changes: dict[str, Any], tools: Tools) -> PolicyReply:
        self._update(changes)
        self._failures, self._awaiting = 0, None
        return self._advance(tools)

    def _ask(self, slot: str, text: str | None = None) -> PolicyReply:
        self._awaiting = slot
        return self._reply(text or self._question(), "ask_slot")

    def _verify(self, tools: Tools) -> PolicyReply:
        result = tools.call("verify_patient", {"date_of_birth": self._dob})
        self._dob = None
        if result.ok:
            self._verified, self._failures, self._awaiting = True, 0, None
            reply = self._advance(tools)
            return dataclasses.replace(reply, text=f"{say.VERIFIED} {reply.text}")
        self._failures += 1
        if self._failures >= self._policy.max_failures:
            return self._handoff(tools, "verification_failed")
        return self._ask("dob", f"{say.DOB_MISMATCH} {say.ASK_DOB}")

    def _advance(self, tools: Tools, opening: bool = False) -> PolicyReply:
        """Take the task as far as it goes: the next question, the confirmation or the result."""
        task, slots = self._task, self._slots
        assert task is not None
        if task in NEEDS_VERIFICATION and not self._verified:
            return self._ask("dob", say.START_VERIFY if opening else say.ASK_DOB)
        if task != "hours" and "drug" not in slots:
            return self._ask("drug")
        if task in ("refill", "delivery") and "rx" not in slots:
            found = tools.call("lookup_prescription", {"drug": slots["drug"]})
            if not found.ok:
                return self._lookup_failed(found.error, found.result, tools)
            rx, self._failures = found.result, 0
            slots["rx"], slots["drug"] = rx, rx.get("drug", slots["drug"])
            if rx.get("status") != "active" or int(rx.get("refills_left", 0)) <= 0:
                return self._finish(say.no_refills(rx), "declined")
        if task in ("status", "cancel") and "order" not in slots:
            found = tools.call("check_order_status", {"drug": slots["drug"]})
            if not found.ok and found.result.get("field") == "drug":
                return self._lookup_failed(found.error, found.result, tools)
            if not found.ok:
                return self._finish(say.no_order(slots["drug"]), "declined")
            order, self._failures = found.result, 0
            if task == "status":
                return self._finish(say.order_status(order), "execute")
            if order.get("status") not in ("processing", "ready"):
                return self._finish(say.not_cancellable(order), "declined")
            slots["order"], slots["drug"] = order, order.get("drug", slots["drug"])
        for slot in TASK_SLOTS[task]:
            if slot not in slots:
                return self._ask(slot)
        if task == "hours":
            hours = tools.call("get_store_hours", {"pharmacy": slots["pharmacy"]})
            if not hours.ok:
                slots.pop("pharmacy", None)
                return self._not_understood(tools, self._question_for("pharmacy"))
            return self._finish(say.store_hours(hours.result), "execute")
        if self._policy.confirm_sensitive:
            self._awaiting = "confirm"
            return self._reply(say.confirm(task, slots), "confirm")
        return self._execute(tools)

    def _lookup_failed(self, error: str | None, result: JSON, tools: Tools) -> PolicyReply:
        if result.get("field") != "drug":
            return self._finish(say.failed(error, say.ANYTHING_ELSE), "tool_failed")
        heard = str(self._slots.pop("drug"))
        self._failures += 1
        if self._failures >= self._policy.max_failures:
            return self._handoff(tools, "repeated_failures")
        return self._ask("drug", say.not_on_file(heard))

    def _execute(self, tools: Tools) -> PolicyReply:
        task, slots = self._task, self._slots
        assert task is not None
        if task == "cancel":
            args: JSON = {"order_id": slots["order"]["order_id"]}
        else:
            day_arg = "pickup_date" if task == "refill" else "delivery_date"
            args = {"rx_number": slots["rx"]["rx_number"], day_arg: slots["day"]}
            if task == "refill":
                args["pharmacy"] = slots["pharmacy"]
        result = tools.call(ACTION_TOOLS[task], args)
        if result.ok:
            return self._finish(say.done(task, result.result), "execute")
        field = result.result.get("field")
        slot = "day" if field in ("pickup_date", "delivery_date") else field
        if slot in ("day", "pharmacy"):
            # The store is closed that day, say: ask for that one thing again, not the whole task.
            slots.pop(slot, None)
            self._awaiting = slot
            return self._reply(say.failed(result.error, self._question()), "tool_failed")
        return self._finish(say.failed(result.error, say.ANYTHING_ELSE), "tool_failed")

    def _finish(self, text: str, action: str) -> PolicyReply:
        reply = self._reply(text, action)
        self._task, self._slots, self._awaiting, self._failures = None, {}, None, 0
        self._talked = True
        return reply

    def _cancel(self) -> PolicyReply:
        self._task, self._slots, self._awaiting = None, {}, None
        self._talked = True
        return self._understood(say.CANCELLED, "cancel")

    # ----------------------------------------------------------------------- replies

    def _question_for(self, slot: str | None) -> str:
        if slot == "dob":
            return say.ASK_DOB
        if slot == "drug":
            return say.ASK_DRUG
        if slot == "pharmacy":
            return (
                say.ASK_HOURS_STORE if self._task == "hours" else say.ask_store(self._policy.stores)
            )
        if slot == "day":
            return say.ASK_DELIVERY_DAY if self._task == "delivery" else say.ASK_PICKUP_DAY
        return say.ANYTHING_ELSE if self._talked else "What can I do for you today?"

    def _question(self) -> str:
        """What the caller is being asked right now (repeated after a repair or a silence)."""
        if self._task is not None and self._awaiting == "confirm":
            return say.confirm(self._task, self._slots)
        return self._question_for(self._awaiting if self._task is not None else None)

    def _understood(self, text: str, action: str) -> PolicyReply:
        self._failures = 0
        return self._reply(text, action)

    def _not_understood(self, tools: Tools, follow_up: str) -> PolicyReply:
        self._failures += 1
        if self._failures >= self._policy.max_failures:
            return self._handoff(tools, "repeated_failures")
        return self._reply(f"{say.NOT_UNDERSTOOD} {follow_up}", "repair")

    def _handoff(self, tools: Tools, reason: str) -> PolicyReply:
        self._ended = True
        if not tools.call("connect_pharmacist", {"reason": reason}).ok:
            return self._reply(say.HANDOFF_FAILED, "goodbye", end_call=True)
        return self._reply(say.HANDOFF[reason], "transfer", end_call=True, transferred=True)

    def _end(self, text: str) -> PolicyReply:
        self._ended = True
        return self._reply(text, "goodbye", end_call=True)

    def _reply(
        self, text: str, action: str, *, end_call: bool = False, transferred: bool = False
    ) -> PolicyReply:
        intent = self._heard.intent
        shown: JSON = {k: v for k, v in self._slots.items() if k in ("drug", "pharmacy", "day")}
        if "rx" in self._slots:
            shown["rx_number"] = self._slots["rx"].get("rx_number")
        if "order" in self._slots:
            shown["order_id"] = self._slots["order"].get("order_id")
        return PolicyReply(
            text=say.redact(text),
            action=action,
            intent=intent,
            intent_confidence=1.0 if intent is not None else None,
            slots=shown,
            end_call=end_call,
            transferred=transferred,
        )
