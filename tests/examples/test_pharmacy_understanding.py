"""Reading ASR text: dates of birth, days, drug and store names, intents and yes/no."""

from __future__ import annotations

import datetime as dt

import pytest
from callgate_pharmacy.dates import parse_date_of_birth, resolve_day, spoken_date, spoken_day
from callgate_pharmacy.understanding import (
    DEFAULT_MEDICATIONS,
    DEFAULT_STORES,
    drug_phrase,
    extract_day,
    find_name,
    lead,
    strip_lead,
    understand,
)

TODAY = dt.date(2026, 11, 24)  # a Tuesday, as in the suite's fixtures


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("March twelfth, nineteen eighty four.", "1984-03-12"),
        ("March 12, 1984.", "1984-03-12"),  # how Whisper writes it
        ("It's March 12th 1984", "1984-03-12"),
        ("the twelfth of March, 1984", "1984-03-12"),
        ("12 March 1984", "1984-03-12"),
        ("03/12/1984", "1984-03-12"),
        ("3-12-84", "1984-03-12"),
        ("1984-03-12", "1984-03-12"),
        ("It's the thirtieth of September, nineteen fifty seven.", "1957-09-30"),
        ("It's the 30th of September 1957.", "1957-09-30"),
        ("September thirtieth nineteen fifty-seven", "1957-09-30"),
        ("June first, nineteen ninety.", "1990-06-01"),
        ("May the 5th two thousand and three", "2003-05-05"),
        ("January twenty first twenty oh one", "2001-01-21"),
        ("February thirtieth 1990", None),  # no such day
        ("March 1984", None),
        ("Friday", None),
        ("match with 1984", None),  # Whisper on espeak's "March twelfth": the day is gone
    ],
)
def test_parse_date_of_birth(text: str, iso: str | None) -> None:
    assert parse_date_of_birth(text) == iso


@pytest.mark.parametrize(
    ("word", "iso"),
    [
        ("today", "2026-11-24"),
        ("tomorrow", "2026-11-25"),
        ("Friday", "2026-11-27"),
        ("tuesday", "2026-12-01"),  # a weekday is the next one, never today
        ("2026-12-24", "2026-12-24"),
        ("someday", None),
    ],
)
def test_resolve_day(word: str, iso: str | None) -> None:
    day = resolve_day(TODAY, word)
    assert (day.isoformat() if day else None) == iso


def test_spoken_dates_are_never_iso() -> None:
    assert spoken_date("2026-11-27") == "Friday, November 27"
    assert spoken_date("2026-05-04") == "Monday, May 4"
    assert (spoken_day("friday"), spoken_day("tomorrow")) == ("on Friday", "tomorrow")


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Friday, please.", "friday"),
        ("on saturdays", "saturday"),
        ("this afternoon", "today"),
        ("tomorrow would be better", "tomorrow"),
        ("not Friday, Saturday", "saturday"),
        ("Saturday instead of Friday", "saturday"),
        ("Friday or Saturday", None),
        ("the day after tomorrow", None),
        ("as soon as possible", None),
    ],
)
def test_extract_day(text: str, day: str | None) -> None:
    assert extract_day(text) == day


@pytest.mark.parametrize(
    ("text", "drug"),
    [
        ("I need to refill my lisinopril.", "Lisinopril"),
        ("Hi, I need to refill my Lisinopril", "Lisinopril"),
        ("Please cancel my Adler Rastatin refill.", "Atorvastatin"),  # Whisper tiny.en, no hints
        ("my lysinopril", "Lisinopril"),
        ("the a tor vastatin", "Atorvastatin"),
        ("levothyroxin", "Levothyroxine"),
        ("hydro chloro thiazide", "Hydrochlorothiazide"),
        ("not the metformin, the lisinopril", "Lisinopril"),
        ("metformin and lisinopril", None),  # two drugs: ask which
        ("I need a prescription refill", None),
        ("Hi, I need to refill my listenap role.", None),  # too far gone: ask again
    ],
)
def test_find_drug(text: str, drug: str | None) -> None:
    assert find_name(text, DEFAULT_MEDICATIONS) == drug


@pytest.mark.parametrize(
    ("text", "store"),
    [
        ("The Downtown store.", "Downtown"),
        ("Lake view.", "Lakeview"),
        ("Laker view.", "Lakeview"),
        ("river side please", "Riverside"),
        ("the main one", None),
    ],
)
def test_find_store(text: str, store: str | None) -> None:
    assert find_name(text, DEFAULT_STORES) == store


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("Ibuprofen.", "Ibuprofen"), ("it's the blue pills", "Blue"), ("I don't know", None)],
)
def test_drug_phrase(text: str, phrase: str | None) -> None:
    assert drug_phrase(text) == phrase


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("I need to refill my lisinopril", "refill"),
        ("Can I renew my prescription?", "refill"),
        ("I'm running low on my thyroid pills", "refill"),
        ("Hi, I need to reveal my Lisinopril.", "refill"),  # "refill" in a Caribbean voice
        ("Is my sertraline refill ready yet?", "status"),
        ("Where is my atorvastatin?", "status"),
        ("Has my lisinopril been filled yet?", "status"),
        ("Please cancel my atorvastatin refill.", "cancel"),
        ("Please, can sell my Atorvastatin revealed.", "cancel"),
        ("Can you deliver my albuterol inhaler?", "delivery"),
        ("Could you mail me my lisinopril?", "delivery"),
        ("What time do you close today?", "hours"),
        ("What are your hours at the Riverside store?", "hours"),
        ("This is ridiculous, I've called three times already!", None),
        ("lisinopril", None),  # the policy decides what a bare drug name means
    ],
)
def test_tasks(text: str, task: str | None) -> None:
    assert understand(text, DEFAULT_MEDICATIONS, DEFAULT_STORES).task == task


@pytest.mark.parametrize(
    ("text", "handoff"),
    [
        ("Can I speak to a pharmacist, please?", "caller_request"),
        ("Agent. Get me a human. Now.", "caller_request"),
        ("Pharmacist please", "caller_request"),
        ("Is it safe to drink alcohol with my lisinopril?", "medical_question"),
        ("what are the side effects of lisinopril?", "medical_question"),
        ("Can I take it with ibuprofen?", "medical_question"),
        ("My pharmacist told me to refill my lisinopril", None),
        ("I need to refill my lisinopril", None),
    ],
)
def test_handoffs(text: str, handoff: str | None) -> None:
    assert understand(text, DEFAULT_MEDICATIONS, DEFAULT_STORES).handoff == handoff


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, please.", "affirm"),
        ("Go ahead.", "affirm"),
        ("uh, yeah", "affirm"),
        ("That's right.", "affirm"),
        ("No, actually, keep it.", "deny"),
        ("Nope.", "deny"),
        ("Riverside.", None),
    ],
)
def test_lead(text: str, expected: str | None) -> None:
    assert lead(text) == expected


def test_strip_lead_and_other_signals() -> None:
    assert strip_lead("No, wait, Saturday is better.") == "saturday is better"
    heard = understand("No, that's all, thank you", DEFAULT_MEDICATIONS, DEFAULT_STORES)
    assert heard.goodbye and heard.lead == "deny" and heard.intent == "deny"
    oos = understand("Can I book a flu shot?", DEFAULT_MEDICATIONS, DEFAULT_STORES)
    assert oos.out_of_scope and oos.intent == "out_of_scope"
    covered = understand("Does insurance cover my refill?", DEFAULT_MEDICATIONS, DEFAULT_STORES)
    assert covered.task == "refill" and not covered.out_of_scope  # a task wins over the topic
