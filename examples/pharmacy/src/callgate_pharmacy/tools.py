"""The pharmacy tool backend: eight tools over one call's state (see the README).

Tools never raise on bad input: a wrong argument is a ``ToolResult(ok=False)`` whose ``error`` the
agent can read to the caller ("the Riverside store is closed on Sundays"). When the error is about
one argument, ``result["field"]`` names it, so the agent can ask for that one again instead of
starting over. Every tool that reads or changes a prescription needs the patient verified first,
as a real pharmacy system would refuse it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from callgate.agents.policy import JSON, ToolResult, ToolSchema
from callgate.agents.tooling import ToolRefused, dispatch

from callgate_pharmacy.dates import WEEKDAYS, parse_date_of_birth, resolve_day
from callgate_pharmacy.understanding import best_match

OPEN_STATUSES = ("processing", "ready")


def default_state() -> JSON:
    """The example state of the README (and the suite's ``default`` fixture)."""
    return {
        "today": "2026-11-24",
        "patient": {
            "name": "Jordan Rivera",
            "date_of_birth": "1984-03-12",
            "address": "41 Elm Street",
            "verified": False,
        },
        "prescriptions": {
            "RX1001": _rx("Lisinopril", "10 mg", 3, "2026-10-20"),
            "RX1002": _rx("Metformin", "500 mg", 0, "2026-11-01"),
            "RX1003": _rx("Atorvastatin", "20 mg", 5, "2026-10-28"),
            "RX1004": _rx("Albuterol", "90 mcg", 2, "2026-09-15"),
            "RX1005": _rx("Amoxicillin", "500 mg", 0, "2026-06-02", status="expired"),
            "RX1006": _rx("Sertraline", "50 mg", 1, "2026-10-23"),
        },
        "pharmacies": {
            "Downtown": {"hours": "8 a.m. to 9 p.m., every day", "closed": []},
            "Riverside": {"hours": "9 a.m. to 6 p.m., Monday to Saturday", "closed": ["sunday"]},
            "Lakeview": {
                "hours": "10 a.m. to 7 p.m., Monday to Friday",
                "closed": ["saturday", "sunday"],
            },
        },
        "delivery": {"closed": ["sunday"]},
        "refill_orders": [
            _order("R-101", "RX1006", "Sertraline", "ready", pharmacy="Downtown", day="2026-11-23"),
            _order("R-102", "RX1003", "Atorvastatin", "processing", "Riverside", "2026-11-26"),
        ],
        "deliveries": [],
        "handoff": None,
    }


def _rx(drug: str, strength: str, refills: int, last: str, status: str = "active") -> JSON:
    return {
        "drug": drug,
        "strength": strength,
        "refills_left": refills,
        "status": status,
        "last_filled": last,
    }


def _order(order_id: str, rx: str, drug: str, status: str, pharmacy: str, day: str) -> JSON:
    return {
        "order_id": order_id,
        "rx_number": rx,
        "drug": drug,
        "fulfilment": "pickup",
        "pharmacy": pharmacy,
        "pickup_date": day,
        "status": status,
    }


def _schema(name: str, description: str, properties: JSON, required: list[str]) -> ToolSchema:
    parameters = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return ToolSchema(name=name, description=description, parameters=parameters)


_TEXT = {"type": "string", "minLength": 1}
_DAY = {"type": "string", "description": "today, tomorrow, a weekday, or YYYY-MM-DD"}
_WHICH_RX = {"rx_number": _TEXT, "drug": _TEXT}  # one of the two is needed
_WHICH_ORDER = {"order_id": _TEXT, "drug": _TEXT}

SCHEMAS = [
    _schema(
        "verify_patient",
        "Check the caller's date of birth against the patient on file.",
        {"date_of_birth": {"type": "string", "format": "date"}},
        ["date_of_birth"],
    ),
    _schema("lookup_prescription", "Find a prescription by drug name.", {"drug": _TEXT}, ["drug"]),
    _schema(
        "request_refill",
        "Order a refill for pickup at a store on a day.",
        {**_WHICH_RX, "pharmacy": _TEXT, "pickup_date": _DAY},
        ["pharmacy", "pickup_date"],
    ),
    _schema(
        "schedule_delivery",
        "Order a refill delivered to the address on file.",
        {**_WHICH_RX, "delivery_date": _DAY},
        ["delivery_date"],
    ),
    _schema("cancel_refill", "Cancel an open refill order.", dict(_WHICH_ORDER), []),
    _schema("check_order_status", "The latest refill order of a drug.", dict(_WHICH_ORDER), []),
    _schema("get_store_hours", "Opening hours of a store.", {"pharmacy": _TEXT}, ["pharmacy"]),
    _schema("connect_pharmacist", "Hand the call to a pharmacist.", {"reason": _TEXT}, ["reason"]),
]
SENSITIVE = ("request_refill", "cancel_refill", "schedule_delivery")
HANDOFF_TOOL = "connect_pharmacist"


def _order_number(order_id: Any) -> int:
    digits = "".join(c for c in str(order_id) if c.isdigit())
    return int(digits) if digits else 0


class _Refused(ToolRefused):
    """Raised inside a tool; :meth:`PharmacyTools.call` turns it into ``ToolResult(ok=False)``."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Refused(f"{what} must be a non-empty string", what)
    return value.strip()


class PharmacyTools:
    """A ``ToolBackend`` over a deep copy of ``initial_state`` (``None``/``{}``: the example).

    ``require_verification=False`` lets a deployment without identity checks run the same tools.
    """

    def __init__(
        self, initial_state: JSON | None = None, require_verification: bool = True
    ) -> None:
        state = copy.deepcopy(initial_state) if initial_state else default_state()
        for key in ("prescriptions", "pharmacies", "patient"):
            state.setdefault(key, {})
        for key in ("refill_orders", "deliveries"):
            state.setdefault(key, [])
        state.setdefault("handoff", None)
        state.setdefault("today", default_state()["today"])
        self._state: JSON = state
        self._require_verification = bool(require_verification)
        self._tools: dict[str, Callable[..., JSON]] = {
            "verify_patient": self._verify_patient,
            "lookup_prescription": self._lookup_prescription,
            "request_refill": self._request_refill,
            "schedule_delivery": self._schedule_delivery,
            "cancel_refill": self._cancel_refill,
            "check_order_status": self._check_order_status,
            "get_store_hours": self._get_store_hours,
            "connect_pharmacist": self._connect_pharmacist,
        }

    def schemas(self) -> list[ToolSchema]:
        return list(SCHEMAS)

    def state(self) -> JSON:
        return copy.deepcopy(self._state)

    def call(self, name: str, args: JSON) -> ToolResult:
        try:
            return dispatch(SCHEMAS, self._tools, name, args)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A fixture of the wrong shape is a suite bug, but the call must still end cleanly
            # so the failure shows up in its trace instead of killing the run.
            return ToolResult(ok=False, error=f"the pharmacy system failed: {exc!r}")

    # ----------------------------------------------------------------------- lookups

    def _verified(self) -> None:
        if self._require_verification and self._state["patient"].get("verified") is not True:
            raise _Refused("the patient is not verified yet", "date_of_birth")

    def _prescription(self, rx_number: Any = None, drug: Any = None) -> tuple[str, JSON]:
        prescriptions: JSON = self._state["prescriptions"]
        if rx_number is not None:
            number = _text(rx_number, "rx_number").upper()
            if number in prescriptions:
                return number, prescriptions[number]
            raise _Refused(f"there is no prescription {number}", "rx_number")
        heard = _text(drug, "drug")
        by_name = {str(rx.get("drug")): key for key, rx in prescriptions.items()}
        exact = [n for n in by_name if n.lower() == heard.lower()]
        name = exact[0] if exact else best_match(heard, list(by_name), 0.75)
        if name is None:
            raise _Refused(f"there is no prescription for {heard} on file", "drug")
        return by_name[name], prescriptions[by_name[name]]

    def _pharmacy(self, value: Any) -> tuple[str, JSON]:
        heard = _text(value, "pharmacy")
        stores: JSON = self._state["pharmacies"]
        exact = [n for n in stores if n.lower() == heard.lower()]
        name = exact[0] if exact else best_match(heard, list(stores), 0.8)
        if name is None:
            raise _Refused(f"there is no {heard} store", "pharmacy")
        return name, stores[name]

    def _date(self, value: Any, field: str, closed: list[str], what: str) -> str:
        today = dt.date.fromisoformat(self._state["today"])
        day = resolve_day(today, _text(value, field))
        if day is None:
            raise _Refused(f"{value!r} is not a day I know", field)
        if day < today:
            raise _Refused("that day has already passed", field)
        weekday = WEEKDAYS[day.weekday()]
        if weekday in closed:
            raise _Refused(f"{what} closed on {weekday.title()}s", field)
        return day.isoformat()

    def _open_order(self, rx_number: str) -> JSON | None:
        orders = self._state["refill_orders"]
        mine = [o for o in orders if o.get("rx_number") == rx_number]
        return next((o for o in mine if o.get("status") in OPEN_STATUSES), None)

    def _find_order(self, order_id: Any = None, drug: Any = None) -> JSON:
        orders: list[JSON] = [o for o in self._state["refill_orders"] if isinstance(o, dict)]
        if order_id is not None:
            wanted = _text(order_id, "order_id").upper()
            found = [o for o in orders if str(o.get("order_id", "")).upper() == wanted]
            if not found:
                raise _Refused(f"there is no order {wanted}", "order_id")
            return found[0]
        if drug is None:
            raise _Refused("an order_id or a drug is needed", "drug")
        rx_number, rx = self._prescription(drug=drug)
        mine = [o for o in orders if o.get("rx_number") == rx_number]
        if not mine:
            raise _Refused(f"there is no refill order for {rx['drug']}")
        # The open order if there is one, else the latest: "is it ready?" is about the live one.
        open_orders = [o for o in mine if o.get("status") in OPEN_STATUSES]
        return (open_orders or mine)[-1]

    def _refillable(self, rx_number: str, rx: JSON) -> None:
        if rx.get("status") != "active":
            raise _Refused(f"the {rx['drug']} prescription is {rx.get('status')}")
        if int(rx.get("refills_left", 0)) <= 0:
            raise _Refused(f"there are no refills left on {rx['drug']}")
        if self._open_order(rx_number) is not None:
            raise _Refused(f"there is already an open refill order for {rx['drug']}")

    def _new_order(self, rx_number: str, rx: JSON, **fields: Any) -> JSON:
        orders = self._state["refill_orders"]
        numbers = [_order_number(o.get("order_id")) for o in orders]
        order = {
            "order_id": f"R-{max([100, *numbers]) + 1}",
            "rx_number": rx_number,
            "drug": rx["drug"],
            **fields,
            "status": "processing",
        }
        orders.append(order)
        rx["refills_left"] = int(rx.get("refills_left", 0)) - 1
        return order

    # ----------------------------------------------------------------------- the tools

    def _verify_patient(self, date_of_birth: Any) -> JSON:
        # The spoken forms too: an LLM agent may pass "March 12, 1984" rather than an ISO date.
        given = parse_date_of_birth(_text(date_of_birth, "date_of_birth"))
        patient = self._state["patient"]
        if given is None:
            raise _Refused("the date of birth must be a date", "date_of_birth")
        if given != patient.get("date_of_birth"):
            # Never say what is on file: the caller might not be the patient.
            raise _Refused("the date of birth does not match our records", "date_of_birth")
        patient["verified"] = True
        return {"verified": True, "name": patient.get("name")}

    def _lookup_prescription(self, drug: Any) -> JSON:
        self._verified()
        rx_number, rx = self._prescription(drug=drug)
        return {"rx_number": rx_number, **rx}

    def _request_refill(
        self, pharmacy: Any, pickup_date: Any, rx_number: Any = None, drug: Any = None
    ) -> JSON:
        self._verified()
        number, rx = self._prescription(rx_number, drug)
        self._refillable(number, rx)
        store, info = self._pharmacy(pharmacy)
        closed = [str(d).lower() for d in info.get("closed", [])]
        day = self._date(pickup_date, "pickup_date", closed, f"the {store} store is")
        order = self._new_order(number, rx, fulfilment="pickup", pharmacy=store, pickup_date=day)
        return dict(order)

    def _schedule_delivery(
        self, delivery_date: Any, rx_number: Any = None, drug: Any = None
    ) -> JSON:
        self._verified()
        number, rx = self._prescription(rx_number, drug)
        self._refillable(number, rx)
        closed = [str(d).lower() for d in self._state.get("delivery", {}).get("closed", [])]
        day = self._date(delivery_date, "delivery_date", closed, "deliveries are")
        if day == self._state["today"]:
            raise _Refused("the earliest delivery is tomorrow", "delivery_date")
        order = self._new_order(number, rx, fulfilment="delivery", delivery_date=day)
        address = self._state["patient"].get("address")
        self._state["deliveries"].append(
            {"order_id": order["order_id"], "drug": rx["drug"], "address": address, "date": day}
        )
        return dict(order)

    def _cancel_refill(self, order_id: Any = None, drug: Any = None) -> JSON:
        self._verified()
        order = self._find_order(order_id, drug)
        if order.get("status") not in OPEN_STATUSES:
            raise _Refused(f"the {order.get('drug')} refill is already {order.get('status')}")
        order["status"] = "cancelled"
        rx = self._state["prescriptions"].get(order.get("rx_number"))
        if isinstance(rx, dict):
            rx["refills_left"] = int(rx.get("refills_left", 0)) + 1  # the refill is not used
        for delivery in self._state["deliveries"]:
            if delivery.get("order_id") == order.get("order_id"):
                delivery["cancelled"] = True
        return dict(order)

    def _check_order_status(self, order_id: Any = None, drug: Any = None) -> JSON:
        self._verified()
        return dict(self._find_order(order_id, drug))

    def _get_store_hours(self, pharmacy: Any) -> JSON:
        store, info = self._pharmacy(pharmacy)
        return {"pharmacy": store, "hours": info.get("hours"), "closed": info.get("closed", [])}

    def _connect_pharmacist(self, reason: Any) -> JSON:
        self._state["handoff"] = {"reason": _text(reason, "reason")}
        return {"reason": self._state["handoff"]["reason"]}
