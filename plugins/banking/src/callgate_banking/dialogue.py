"""The banking dialogue policy: intent model + slot filling + confirmation, as a state machine.

A session is in one of three states: open (no task), waiting for a slot, or waiting for a yes/no
to a confirmation. What an intent means depends on the state (after "no," the rest of the
utterance is classified again, as it may be a new request). Slot answers win over the
classifier while a slot is asked for ("savings" reads as a transfer request to the model, but
it answers "which account?"). Tools run only through the ``tools`` object handed to
:meth:`BankingSession.respond`, so the agent records and times them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callgate.agents.policy import JSON, PolicyInput, PolicyReply, Tools
from callgate.errors import UsageError
from callgate_banking import replies as say
from callgate_banking import slots as sl
from callgate_banking.nlu import NO_INTENT, IntentModel, cache_key

# The session cannot see the call's tool state, so merchants are matched against a known list;
# an unknown merchant still works as a free-text answer to "which merchant?" (the tool matches
# it against the call's own transactions).
DEFAULT_MERCHANTS = (
    "Amazon", "Uber", "Netflix", "Walmart", "Starbucks", "Target", "Costco", "Spotify",
    "PayPal", "DoorDash", "Whole Foods", "Best Buy",
)  # fmt: skip

_YES = {"yes", "yeah", "yep", "yup", "yea", "correct", "right", "sure", "okay", "ok"}
_NO = {"no", "nope", "nah", "wrong", "incorrect", "negative"}
_FILLERS = {"uh", "um", "oh", "well", "wait", "sorry", "actually", "so", "hmm"}


def _lead(text: str) -> str | None:
    """``affirm``/``deny`` from the first real word, where callers put their yes or no."""
    words = [t for t in sl.tokens(text) if t not in _FILLERS]
    if not words:
        return None
    return "affirm" if words[0] in _YES else "deny" if words[0] in _NO else None


def _strip_lead(text: str) -> str:
    """What follows a leading yes/no: "no, I said freeze my debit card" -> "i said freeze ..."."""
    words = sl.tokens(text)
    while words and words[0] in _YES | _NO | _FILLERS:
        words.pop(0)
    return " ".join(words)


class BankingPolicy:
    """The reference banking agent's dialogue policy (``policy: {name: banking}``)."""

    name = "banking"

    def __init__(
        self,
        version: str = "1.0",
        training: list[str] | None = None,
        min_intent_confidence: float = 0.45,
        max_failures: int = 2,
        max_silences: int = 2,
        confirm_sensitive: bool = True,
        cache_dir: str | None = None,
        merchants: list[str] | None = None,
    ) -> None:
        if not 0.0 <= min_intent_confidence <= 1.0:
            raise UsageError("must be between 0 and 1", field="min_intent_confidence")
        for field, value in (("max_failures", max_failures), ("max_silences", max_silences)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError("must be a whole number of at least 1", field=field)
        self.version = str(version)
        self.training = [training] if isinstance(training, str) else list(training or ["intents"])
        self.min_intent_confidence = float(min_intent_confidence)
        self.max_failures = max_failures
        self.max_silences = max_silences
        self.confirm_sensitive = bool(confirm_sensitive)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.merchants = list(merchants) if merchants is not None else list(DEFAULT_MERCHANTS)
        self.model_key = cache_key(self.training)  # also checks the dataset names, early
        self._model: IntentModel | None = None

    def identity(self) -> str:
        params = {
            "version": self.version,
            "training": self.training,
            "min_intent_confidence": self.min_intent_confidence,
            "max_failures": self.max_failures,
            "max_silences": self.max_silences,
            "confirm_sensitive": self.confirm_sensitive,
            "merchants": self.merchants,
            "model": self.model_key,
        }
        return "banking:" + json.dumps(params, sort_keys=True, separators=(",", ":"))

    def model(self) -> IntentModel:
        if self._model is None:
            self._model = IntentModel.load_or_train(self.training, self.cache_dir)
        return self._model

    def start(self) -> BankingSession:
        return BankingSession(self, self.model())


class BankingSession:
    """One call's dialogue state."""

    def __init__(self, policy: BankingPolicy, model: IntentModel) -> None:
        self._policy = policy
        self._model = model
        self._task: str | None = None
        self._slots: dict[str, Any] = {}
        self._awaiting: str | None = None  # a slot name, "confirm", or None when open
        self._ran = 0  # tasks that ran, ok or not: after one, "anything else?" was asked
        self._failures = 0
        self._silences = 0
        self._ended = False
        self._heard: tuple[str, float] = (NO_INTENT, 0.0)
        self._shown: JSON = {}  # the slots of a task that ran this turn

    def respond(self, turn: PolicyInput, tools: Tools) -> PolicyReply:
        self._heard, self._shown = (NO_INTENT, 0.0), {}
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
        return self._on_utterance(turn.text, tools)

    # ----------------------------------------------------------------------- per state

    def _classify(self, text: str) -> tuple[str, float, str | None]:
        intent, confidence = self._model.predict(text)
        sure = intent != NO_INTENT and confidence >= self._policy.min_intent_confidence
        # A hesitation ("uh", "hmm") carries no intent, whatever the model makes of it: it
        # must never confirm a transfer.
        heard = [t for t in sl.tokens(text) if t not in _FILLERS]
        return intent, confidence, intent if sure and heard else None

    def _on_utterance(self, text: str, tools: Tools) -> PolicyReply:
        raw, confidence, intent = self._classify(text)
        self._heard = (raw, confidence)
        if intent == "request_human":
            return self._handoff(tools, "caller_request")
        if self._awaiting == "confirm":
            return self._on_confirm(text, intent, tools)
        if self._awaiting is not None:
            return self._on_slot(text, intent, tools)
        return self._on_open(text, intent, tools)

    def _on_open(self, text: str, intent: str | None, tools: Tools) -> PolicyReply:
        if intent in ("affirm", "deny"):
            # "no, I also need to freeze my card" after "anything else?" is a new request.
            rest = _strip_lead(text)
            _, _, rest_intent = self._classify(rest)
            if rest and rest_intent in say.TASKS:
                return self._start(rest_intent, rest, tools)
            if intent == "deny" and self._ran:
                return self._end(say.GOODBYE)
            return self._understood(say.WHAT_ELSE if self._ran else say.WHAT_NOW, "reprompt")
        if intent in say.TASKS:
            return self._start(intent, text, tools)
        if intent == "goodbye":
            return self._end(say.GOODBYE)
        if intent == "out_of_scope":
            return self._understood(
                f"{say.OUT_OF_SCOPE} What would you like to do?", "out_of_scope"
            )
        return self._not_understood(tools, say.HELP_TOPICS)

    def _on_slot(self, text: str, intent: str | None, tools: Tools) -> PolicyReply:
        assert self._task is not None and self._awaiting is not None
        found = self._extract(self._task, text, awaiting=self._awaiting, intent=intent)
        if self._awaiting in found:
            self._slots.update(found)
            self._failures = 0
            return self._advance(tools)
        if intent in say.TASKS and intent != self._task:
            return self._start(intent, text, tools)
        if intent == "deny":
            return self._cancel()
        if intent == "goodbye":
            return self._end(say.GOODBYE)
        if intent == "out_of_scope":
            return self._understood(f"{say.OUT_OF_SCOPE} {self._question()}", "out_of_scope")
        if intent is not None:
            self._slots.update(found)  # an answer to a question not asked yet still counts
            return self._understood(self._question(), "ask_slot")
        return self._not_understood(tools, self._question())

    def _on_confirm(self, text: str, intent: str | None, tools: Tools) -> PolicyReply:
        assert self._task is not None
        lead = _lead(text)
        # A leading "yes" wins over the model, which reads "yes, the credit card" as a card
        # request and "yes, thanks" as a goodbye; a "no" anywhere in view still blocks it.
        if (intent == "affirm" and lead != "deny") or (lead == "affirm" and intent != "deny"):
            found = self._extract(self._task, _strip_lead(text), awaiting="confirm")
            if any(self._slots.get(k) != v for k, v in found.items()):
                return self._correct(found, tools)  # "yes, but make it 100"
            return self._execute(tools)
        if intent == "deny" or lead == "deny":
            rest = _strip_lead(text)
            _, _, rest_intent = self._classify(rest)
            if rest and rest_intent in say.TASKS and rest_intent != self._task:
                return self._start(rest_intent, rest, tools)
            found = self._extract(self._task, rest, awaiting="confirm") if rest else {}
            return self._correct(found, tools) if found else self._cancel()
        if intent in say.TASKS and intent != self._task:
            return self._start(intent, text, tools)
        found = self._extract(self._task, text, awaiting="confirm")
        if found:
            return self._correct(found, tools)  # "the credit card" while confirming debit
        if intent == "goodbye":
            return self._end(say.GOODBYE)
        return self._not_understood(tools, f"Please say yes or no. {self._question()}")

    # ----------------------------------------------------------------------- tasks

    def _extract(
        self, task: str, text: str, awaiting: str | None = None, intent: str | None = None
    ) -> dict[str, Any]:
        """The slots of ``task`` in ``text`` (only those found)."""
        found: dict[str, Any] = {}
        if task in ("freeze_card", "reset_pin"):
            found["card"] = sl.extract_card(text)
        elif task == "get_balance":
            found["account"] = sl.extract_account(text)
        elif task == "transfer_funds":
            found["amount"] = sl.extract_amount(text)
            source, target = sl.extract_transfer_accounts(text)
            account = sl.extract_account(text)
            # A bare "savings" answers the question asked: which side it is depends on it.
            if source is None and account is not None and awaiting == "from_account":
                source, target = account, sl.other_account(account)
            elif source is None and account is not None and awaiting == "to_account":
                source, target = sl.other_account(account), account
            found.update(from_account=source, to_account=target)
        elif task == "dispute_charge":
            found["amount"] = sl.extract_amount(text)
            merchant = sl.extract_merchant(text, self._policy.merchants)
            # "it was delta airlines" can look like a "yes" to the model; yes-words are not
            # merchant words, so only a competing request blocks the free-text answer.
            if merchant is None and awaiting == "merchant" and intent in (None, task, "affirm"):
                merchant = sl.merchant_phrase(text)
            found["merchant"] = merchant
        return say.clean_slots(found)

    def _start(self, task: str, text: str, tools: Tools) -> PolicyReply:
        self._task, self._awaiting, self._failures = task, None, 0
        self._slots = self._extract(task, text)
        return self._advance(tools)

    def _correct(self, found: dict[str, Any], tools: Tools) -> PolicyReply:
        self._slots.update(found)
        self._failures = 0
        return self._advance(tools)

    def _advance(self, tools: Tools) -> PolicyReply:
        assert self._task is not None
        spec = say.SPECS[self._task]
        missing = next((s for s in spec.required if s not in self._slots), None)
        if missing is not None:
            self._awaiting = missing
            return self._reply(self._question(), "ask_slot")
        if self._task in say.SENSITIVE and self._policy.confirm_sensitive:
            self._awaiting = "confirm"
            return self._reply(self._question(), "confirm")
        return self._execute(tools)

    def _execute(self, tools: Tools) -> PolicyReply:
        assert self._task is not None
        task, slots, spec = self._task, dict(self._slots), say.SPECS[self._task]
        result = tools.call(spec.tool, {k: slots[k] for k in spec.slots if k in slots})
        self._task, self._slots, self._awaiting, self._failures = None, {}, None, 0
        self._shown, self._ran = slots, self._ran + 1
        facts = {**slots, **result.result}
        if result.ok and (task != "get_balance" or isinstance(facts.get("balance"), int | float)):
            return self._reply(say.done(task, facts), "execute")
        return self._reply(say.failed(task, slots, result.error), "tool_failed")

    def _cancel(self) -> PolicyReply:
        self._task, self._slots, self._awaiting = None, {}, None
        return self._understood(say.CANCELLED, "cancel")

    # ----------------------------------------------------------------------- replies

    def _question(self) -> str:
        """What the caller is being asked right now (repeated after a repair or a silence)."""
        if self._task is not None and self._awaiting == "confirm":
            return say.confirm(self._task, self._slots)
        if self._task is not None and self._awaiting is not None:
            return say.QUESTIONS[(self._task, self._awaiting)]
        return say.ANYTHING_ELSE if self._ran else "How can I help you today?"

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
        if not tools.call("transfer_to_human", {"reason": reason}).ok:
            return self._reply(say.TRANSFER_FAILED, "goodbye", end_call=True)
        text = say.TRANSFER_ON_REQUEST if reason == "caller_request" else say.TRANSFER_ON_FAILURES
        return self._reply(text, "transfer", end_call=True, transferred=True)

    def _end(self, text: str) -> PolicyReply:
        self._ended = True
        return self._reply(text, "goodbye", end_call=True)

    def _reply(
        self, text: str, action: str, *, end_call: bool = False, transferred: bool = False
    ) -> PolicyReply:
        intent, confidence = self._heard
        return PolicyReply(
            text=say.redact(text),
            action=action,
            intent=intent,
            intent_confidence=confidence,
            slots=say.clean_slots(dict(self._slots if self._task else self._shown)),
            end_call=end_call,
            transferred=transferred,
        )
