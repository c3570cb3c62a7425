"""The banking tool backend: six tools over one call's state (see ``docs/banking-agent.md``).

Tools never raise on bad input: a wrong argument is a :class:`ToolResult` with ``ok=False`` and an
``error`` short enough for the agent to read to the caller ("insufficient funds in checking"). The
final state is what a scenario's expected outcome is checked against.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from callgate.agents.policy import JSON, ToolResult, ToolSchema
from callgate.agents.tooling import ToolRefused, dispatch
from callgate.errors import UsageError
from callgate_banking.slots import ACCOUNTS, CARDS, best_merchant


def default_state() -> JSON:
    """The example state of the contract (and the banking suite's ``default`` fixture)."""
    return {
        "customer": {"name": "Alex Morgan"},
        "accounts": {"checking": {"balance": 1200.0}, "savings": {"balance": 5000.0}},
        "cards": {
            "debit": {"status": "active", "last4": "4821", "pin_reset": False},
            "credit": {"status": "active", "last4": "9934", "pin_reset": False},
        },
        "transactions": [
            {"id": "t1", "merchant": "Amazon", "amount": 89.99, "date": "2026-11-20"},
            {"id": "t2", "merchant": "Uber", "amount": 23.5, "date": "2026-11-21"},
            {"id": "t3", "merchant": "Netflix", "amount": 15.49, "date": "2026-11-18"},
            {"id": "t4", "merchant": "Walmart", "amount": 142.1, "date": "2026-11-22"},
            {"id": "t5", "merchant": "Starbucks", "amount": 6.75, "date": "2026-11-23"},
        ],
        "disputes": [],
        "transfers": [],
        "handoff": None,
    }


def _schema(name: str, description: str, properties: JSON, required: list[str]) -> ToolSchema:
    parameters = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return ToolSchema(name=name, description=description, parameters=parameters)


_ACCOUNT = {"type": "string", "enum": list(ACCOUNTS)}
_CARD = {"type": "string", "enum": list(CARDS)}
_AMOUNT = {"type": "number", "exclusiveMinimum": 0}

SCHEMAS = [
    _schema("get_balance", "Read the balance of one account.", {"account": _ACCOUNT}, ["account"]),
    _schema("freeze_card", "Freeze a lost or stolen card.", {"card": _CARD}, ["card"]),
    _schema(
        "transfer_funds",
        "Move money between the caller's own accounts.",
        {"amount": _AMOUNT, "from_account": _ACCOUNT, "to_account": _ACCOUNT},
        ["amount", "from_account", "to_account"],
    ),
    _schema(
        "dispute_charge",
        "Open a dispute on a charge, found by merchant (and amount when given).",
        {"merchant": {"type": "string", "minLength": 1}, "amount": _AMOUNT},
        ["merchant"],
    ),
    _schema(
        "reset_pin", "Reset the PIN of a card; a new PIN is mailed.", {"card": _CARD}, ["card"]
    ),
    _schema(
        "transfer_to_human",
        "Hand the call to a human agent.",
        {"reason": {"type": "string", "minLength": 1}},
        ["reason"],
    ),
]

# API v2 of the bank's back end: a dispute is opened on a transaction id, which a new tool finds
# by merchant (and amount); the back end no longer guesses the charge. An agent moved to v2 must
# look the charge up first.
_FIND = _schema(
    "find_transactions",
    "List the charges from a merchant (and of an amount, when given), newest first.",
    {"merchant": {"type": "string", "minLength": 1}, "amount": _AMOUNT},
    ["merchant"],
)
SCHEMAS_V2 = [
    _schema(
        "dispute_charge",
        "Open a dispute on one transaction, by its id (see find_transactions).",
        {"transaction_id": {"type": "string", "minLength": 1}},
        ["transaction_id"],
    )
    if s.name == "dispute_charge"
    else s
    for s in SCHEMAS
] + [_FIND]
APIS = {"v1": SCHEMAS, "v2": SCHEMAS_V2}


class _BadArgs(ToolRefused):
    """Raised inside a tool and turned into ``ToolResult(ok=False)`` by :meth:`call`."""


def _amount(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _BadArgs("the amount must be a number")
    if value <= 0:
        raise _BadArgs("the amount must be more than zero")
    return round(float(value), 2)


def _choice(value: Any, options: tuple[str, ...], what: str) -> str:
    if value not in options:
        raise _BadArgs(f"{what} must be one of {', '.join(options)}")
    return str(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadArgs(f"{what} must be a non-empty string")
    return value.strip()


class BankingTools:
    """A :class:`~callgate.agents.policy.ToolBackend` over a deep copy of ``initial_state``.

    ``None`` or ``{}`` means :func:`default_state`, so a suite without fixtures still has a bank.
    ``api`` picks the back end's tool schemas (``v1``, or ``v2``: disputes by transaction id,
    found with ``find_transactions``); a variant sets it with ``tools: {toolset: banking,
    params: {api: v2}}``.
    """

    def __init__(self, initial_state: JSON | None = None, api: str = "v1") -> None:
        if api not in APIS:
            raise UsageError(f"unknown API {api!r} (one of {', '.join(APIS)})", field="api")
        self._schemas = APIS[api]
        state = copy.deepcopy(initial_state) if initial_state else default_state()
        for key in ("transactions", "disputes", "transfers"):
            state.setdefault(key, [])
        state.setdefault("handoff", None)
        self._state: JSON = state
        self._tools: dict[str, Callable[..., JSON]] = {
            "get_balance": self._get_balance,
            "freeze_card": self._freeze_card,
            "transfer_funds": self._transfer_funds,
            "dispute_charge": self._dispute_charge if api == "v1" else self._dispute_by_id,
            "reset_pin": self._reset_pin,
            "transfer_to_human": self._transfer_to_human,
            "find_transactions": self._find_transactions,
        }

    def schemas(self) -> list[ToolSchema]:
        return list(self._schemas)

    def state(self) -> JSON:
        return copy.deepcopy(self._state)

    def call(self, name: str, args: JSON) -> ToolResult:
        return dispatch(self._schemas, self._tools, name, args)

    # ----------------------------------------------------------------------- the tools

    def _account(self, value: Any) -> tuple[str, JSON]:
        name = _choice(value, ACCOUNTS, "the account")
        account = self._state.get("accounts", {}).get(name)
        if not isinstance(account, dict):
            raise _BadArgs(f"there is no {name} account")
        return name, account

    def _card(self, value: Any) -> tuple[str, JSON]:
        name = _choice(value, CARDS, "the card")
        card = self._state.get("cards", {}).get(name)
        if not isinstance(card, dict):
            raise _BadArgs(f"there is no {name} card")
        return name, card

    def _get_balance(self, account: Any) -> JSON:
        name, acct = self._account(account)
        return {"account": name, "balance": float(acct.get("balance", 0.0))}

    def _freeze_card(self, card: Any) -> JSON:
        name, state = self._card(card)
        already = state.get("status") == "frozen"
        state["status"] = "frozen"
        return {"card": name, "status": "frozen", "last4": state.get("last4"), "already": already}

    def _transfer_funds(self, amount: Any, from_account: Any, to_account: Any) -> JSON:
        value = _amount(amount)
        source_name, source = self._account(from_account)
        target_name, target = self._account(to_account)
        if source_name == target_name:
            raise _BadArgs("the two accounts are the same")
        if float(source.get("balance", 0.0)) + 1e-9 < value:
            raise _BadArgs(f"insufficient funds in {source_name}")
        source["balance"] = round(float(source.get("balance", 0.0)) - value, 2)
        target["balance"] = round(float(target.get("balance", 0.0)) + value, 2)
        record = {"amount": value, "from_account": source_name, "to_account": target_name}
        self._state["transfers"].append(record)
        return {**record, "from_balance": source["balance"], "to_balance": target["balance"]}

    def _charges(self, merchant: Any, amount: Any = None) -> tuple[str, list[JSON]]:
        """The merchant's name as the bank knows it, and its charges (of ``amount`` if given)."""
        heard = _text(merchant, "the merchant")
        value = _amount(amount) if amount is not None else None
        transactions = [t for t in self._state["transactions"] if isinstance(t, dict)]
        names = sorted({str(t.get("merchant", "")) for t in transactions})
        exact = [n for n in names if n.lower() == heard.lower()]
        name = exact[0] if exact else best_merchant(heard, names)
        if name is None:
            raise _BadArgs(f"there is no charge from {heard}")
        matches = [t for t in transactions if t.get("merchant") == name]
        if value is not None:
            matches = [t for t in matches if abs(float(t.get("amount", 0.0)) - value) < 0.005]
            if not matches:
                raise _BadArgs(f"there is no {value:,.2f} dollar charge from {name}")
        return name, matches

    def _open_dispute(self, txn: JSON) -> JSON:
        record = {
            "transaction_id": txn.get("id"),
            "merchant": txn.get("merchant"),
            "amount": txn.get("amount"),
        }
        self._state["disputes"].append(record)
        return {**record, "date": txn.get("date")}

    def _disputed(self) -> set[Any]:
        return {d.get("transaction_id") for d in self._state["disputes"]}

    def _dispute_charge(self, merchant: Any, amount: Any = None) -> JSON:
        name, matches = self._charges(merchant, amount)
        open_matches = [t for t in matches if t.get("id") not in self._disputed()]
        if not open_matches:
            raise _BadArgs(f"the charge from {name} is already disputed")
        # Several charges from one merchant and no amount: the caller almost always means the
        # latest one, and the reply names its amount so they can object.
        return self._open_dispute(max(open_matches, key=lambda t: str(t.get("date", ""))))

    def _find_transactions(self, merchant: Any, amount: Any = None) -> JSON:
        _name, matches = self._charges(merchant, amount)
        newest = sorted(matches, key=lambda t: str(t.get("date", "")), reverse=True)
        keys = ("id", "merchant", "amount", "date")
        return {"transactions": [{k: t.get(k) for k in keys} for t in newest]}

    def _dispute_by_id(self, transaction_id: Any) -> JSON:
        wanted = _text(transaction_id, "the transaction id")
        txn = next((t for t in self._state["transactions"] if t.get("id") == wanted), None)
        if txn is None:
            raise _BadArgs(f"there is no transaction {wanted}")
        if wanted in self._disputed():
            raise _BadArgs(f"transaction {wanted} is already disputed")
        return self._open_dispute(txn)

    def _reset_pin(self, card: Any) -> JSON:
        name, state = self._card(card)
        state["pin_reset"] = True
        return {"card": name, "last4": state.get("last4")}

    def _transfer_to_human(self, reason: Any) -> JSON:
        self._state["handoff"] = {"reason": _text(reason, "the reason")}
        return {"reason": self._state["handoff"]["reason"]}
