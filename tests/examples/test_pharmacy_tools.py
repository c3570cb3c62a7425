"""The pharmacy tool backend, table-driven: every tool's results, refusals and state changes."""

from __future__ import annotations

from typing import Any

import pytest
from callgate_pharmacy import SCHEMAS, SENSITIVE, PharmacyTools, default_state

from callgate.agents.policy import ToolBackend

DOB = "1984-03-12"


def verified(**changes: Any) -> PharmacyTools:
    state = default_state()
    state.update(changes)
    tools = PharmacyTools(state)
    assert tools.call("verify_patient", {"date_of_birth": DOB}).ok
    return tools


def test_protocol_and_schemas() -> None:
    tools = PharmacyTools()
    assert isinstance(tools, ToolBackend)
    names = [s.name for s in tools.schemas()]
    assert names == [s.name for s in SCHEMAS]
    assert set(SENSITIVE) <= set(names) and "connect_pharmacist" in names
    assert "transfer_to_human" not in names  # the hand-off has this domain's own name
    for schema in tools.schemas():
        assert schema.parameters["type"] == "object"
        assert set(schema.parameters["required"]) <= set(schema.parameters["properties"])


@pytest.mark.parametrize("initial", [None, {}])
def test_empty_state_is_the_example(initial: dict[str, Any] | None) -> None:
    assert PharmacyTools(initial).state() == default_state()


def test_state_is_a_copy_both_ways() -> None:
    initial = default_state()
    tools = PharmacyTools(initial)
    tools.state()["patient"]["verified"] = True
    assert tools.call("lookup_prescription", {"drug": "Lisinopril"}).ok is False
    assert tools.call("verify_patient", {"date_of_birth": DOB}).ok
    assert initial["patient"]["verified"] is False


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        (DOB, True),
        ("March 12, 1984", True),  # an LLM agent may pass the spoken form
        ("03/12/1984", True),
        ("1990-06-01", False),
        ("1984-12-03", False),
        ("not a date", False),
        ("", False),
        (19840312, False),
    ],
)
def test_verify_patient(given: Any, ok: bool) -> None:
    tools = PharmacyTools()
    result = tools.call("verify_patient", {"date_of_birth": given})
    assert result.ok is ok
    assert tools.state()["patient"]["verified"] is ok
    if not ok:
        assert result.error and "1984" not in result.error  # never hints at the date on file
        assert result.result == {"field": "date_of_birth"}


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("lookup_prescription", {"drug": "Lisinopril"}),
        (
            "request_refill",
            {"rx_number": "RX1001", "pharmacy": "Downtown", "pickup_date": "friday"},
        ),
        ("schedule_delivery", {"rx_number": "RX1001", "delivery_date": "friday"}),
        ("cancel_refill", {"order_id": "R-102"}),
        ("check_order_status", {"drug": "Sertraline"}),
    ],
)
def test_prescription_tools_need_a_verified_patient(tool: str, args: dict[str, Any]) -> None:
    tools = PharmacyTools()
    before = tools.state()
    result = tools.call(tool, args)
    assert not result.ok and result.error == "the patient is not verified yet"
    assert tools.state() == before
    assert PharmacyTools(require_verification=False).call(tool, args).ok


@pytest.mark.parametrize(
    ("heard", "rx_number"),
    [
        ("Lisinopril", "RX1001"),
        ("lisinopril", "RX1001"),
        ("lysinopril", "RX1001"),  # ASR spellings still find the patient's own drug
        ("Atorvastatine", "RX1003"),
        ("albuteral", "RX1004"),
        ("Ibuprofen", None),
        ("", None),
    ],
)
def test_lookup_prescription(heard: str, rx_number: str | None) -> None:
    result = verified().call("lookup_prescription", {"drug": heard})
    assert result.ok is (rx_number is not None)
    if rx_number:
        assert result.result["rx_number"] == rx_number
        assert {"drug", "strength", "refills_left", "status"} <= set(result.result)


def test_request_refill_creates_an_order() -> None:
    tools = verified()
    args = {"rx_number": "RX1001", "pharmacy": "downtown", "pickup_date": "Friday"}
    result = tools.call("request_refill", args)
    assert result.ok, result.error
    order = {
        "order_id": "R-103",
        "rx_number": "RX1001",
        "drug": "Lisinopril",
        "fulfilment": "pickup",
        "pharmacy": "Downtown",
        "pickup_date": "2026-11-27",
        "status": "processing",
    }
    assert result.result == order
    state = tools.state()
    assert state["refill_orders"][-1] == order
    assert state["prescriptions"]["RX1001"]["refills_left"] == 2


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        ({"drug": "Metformin"}, "there are no refills left on Metformin", None),
        ({"drug": "Amoxicillin"}, "the Amoxicillin prescription is expired", None),
        ({"drug": "Atorvastatin"}, "there is already an open refill order for Atorvastatin", None),
        ({"rx_number": "RX9999"}, "there is no prescription RX9999", "rx_number"),
        ({"rx_number": "RX1001", "pharmacy": "Uptown"}, "there is no Uptown store", "pharmacy"),
        (
            {"rx_number": "RX1001", "pharmacy": "Riverside", "pickup_date": "sunday"},
            "the Riverside store is closed on Sundays",
            "pickup_date",
        ),
        (
            {"rx_number": "RX1001", "pharmacy": "Lakeview", "pickup_date": "saturday"},
            "the Lakeview store is closed on Saturdays",
            "pickup_date",
        ),
        ({"rx_number": "RX1001", "pickup_date": "2026-11-01"}, "that day has already passed", None),
        ({"rx_number": "RX1001", "pickup_date": "someday"}, "'someday' is not a day I know", None),
    ],
)
def test_request_refill_refusals(args: dict[str, Any], error: str, field: str | None) -> None:
    tools = verified()
    before = tools.state()
    full = {"pharmacy": "Downtown", "pickup_date": "friday", **args}
    result = tools.call("request_refill", full)
    assert not result.ok and result.error == error
    if field is not None:
        assert result.result == {"field": field}
    assert tools.state() == before


@pytest.mark.parametrize(
    ("day", "ok", "date"),
    [
        ("tomorrow", True, "2026-11-25"),
        ("saturday", True, "2026-11-28"),
        ("today", False, None),  # the earliest delivery is tomorrow
        ("sunday", False, None),
    ],
)
def test_schedule_delivery(day: str, ok: bool, date: str | None) -> None:
    tools = verified()
    result = tools.call("schedule_delivery", {"drug": "Albuterol", "delivery_date": day})
    assert result.ok is ok, result.error
    state = tools.state()
    if ok:
        assert result.result["fulfilment"] == "delivery" and result.result["delivery_date"] == date
        assert state["deliveries"] == [
            {"order_id": "R-103", "drug": "Albuterol", "address": "41 Elm Street", "date": date}
        ]
        assert state["prescriptions"]["RX1004"]["refills_left"] == 1
    else:
        assert result.result == {"field": "delivery_date"} and state["deliveries"] == []


@pytest.mark.parametrize(
    "args", [{"order_id": "R-102"}, {"order_id": "r-102"}, {"drug": "atorvastatin"}]
)
def test_cancel_refill_returns_the_refill(args: dict[str, Any]) -> None:
    tools = verified()
    result = tools.call("cancel_refill", args)
    assert result.ok and result.result["status"] == "cancelled"
    state = tools.state()
    assert state["refill_orders"][1]["status"] == "cancelled"
    assert state["prescriptions"]["RX1003"]["refills_left"] == 6
    again = tools.call("cancel_refill", args)
    assert not again.ok and again.error == "the Atorvastatin refill is already cancelled"


def test_cancelling_a_delivery_marks_it() -> None:
    tools = verified()
    order = tools.call("schedule_delivery", {"rx_number": "RX1001", "delivery_date": "friday"})
    assert tools.call("cancel_refill", {"order_id": order.result["order_id"]}).ok
    assert tools.state()["deliveries"][0]["cancelled"] is True


@pytest.mark.parametrize(
    ("args", "status", "error"),
    [
        ({"drug": "Sertraline"}, "ready", None),
        ({"drug": "atorvastatin"}, "processing", None),
        ({"order_id": "R-101"}, "ready", None),
        ({"drug": "Lisinopril"}, None, "there is no refill order for Lisinopril"),
        ({"drug": "Ibuprofen"}, None, "there is no prescription for Ibuprofen on file"),
        ({"order_id": "R-999"}, None, "there is no order R-999"),
        ({}, None, "an order_id or a drug is needed"),
    ],
)
def test_check_order_status(args: dict[str, Any], status: str | None, error: str | None) -> None:
    result = verified().call("check_order_status", args)
    assert result.ok is (status is not None)
    assert result.error == error
    if status:
        assert result.result["status"] == status


@pytest.mark.parametrize(
    ("store", "name"), [("Riverside", "Riverside"), ("lake view", "Lakeview"), ("Uptown", None)]
)
def test_get_store_hours_needs_no_verification(store: str, name: str | None) -> None:
    result = PharmacyTools().call("get_store_hours", {"pharmacy": store})
    assert result.ok is (name is not None)
    if name:
        assert result.result["pharmacy"] == name and "a.m." in result.result["hours"]


def test_connect_pharmacist() -> None:
    tools = PharmacyTools()
    assert tools.call("connect_pharmacist", {"reason": "caller_request"}).ok
    assert tools.state()["handoff"] == {"reason": "caller_request"}
    assert not tools.call("connect_pharmacist", {"reason": "  "}).ok


@pytest.mark.parametrize(
    ("name", "args", "error"),
    [
        ("transfer_to_human", {"reason": "x"}, "unknown tool 'transfer_to_human'"),
        ("verify_patient", ["1984-03-12"], "arguments must be an object"),
        ("verify_patient", {}, "missing argument 'date_of_birth'"),
        ("get_store_hours", {"pharmacy": "Downtown", "x": 1}, "unexpected argument 'x'"),
    ],
)
def test_bad_calls(name: str, args: Any, error: str) -> None:
    result = PharmacyTools().call(name, args)
    assert not result.ok and result.error == error


@pytest.mark.parametrize("junk", [None, 0, 1.5, True, [], {}, "", "   ", "R-", {"a": 1}])
def test_no_tool_raises_on_junk(junk: Any) -> None:
    tools = verified()
    for schema in SCHEMAS:
        for arg in schema.parameters["properties"]:
            result = tools.call(schema.name, {arg: junk})
            assert isinstance(result.ok, bool)


def test_a_malformed_fixture_fails_the_call_not_the_run() -> None:
    state = {
        "today": "not a date",
        "patient": {"verified": True},
        "prescriptions": {"RX1": {"drug": "Aspirin", "refills_left": 1, "status": "active"}},
        "pharmacies": {"Main": {"closed": []}},
    }
    result = PharmacyTools(state).call(
        "request_refill", {"drug": "Aspirin", "pharmacy": "Main", "pickup_date": "friday"}
    )
    assert not result.ok and result.error and "failed" in result.error
