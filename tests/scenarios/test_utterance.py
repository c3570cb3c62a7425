"""Utterance options that need a partner field or a place in the caller."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from callgate.scenarios.model import Caller, Utterance

BACKCHANNEL = {"say": "Mm-hm.", "backchannel": True, "interrupt_after_ms": 1200}


def test_a_backchannel_is_timed_over_the_agent() -> None:
    assert Utterance.model_validate(BACKCHANNEL).backchannel
    with pytest.raises(ValidationError, match="give interrupt_after_ms"):
        Utterance.model_validate({"say": "Mm-hm.", "backchannel": True})


@pytest.mark.parametrize(
    ("caller", "where"),
    [
        ({"reactions": [{"when": ["balance is"], "say": BACKCHANNEL}]}, "only in scripted turns"),
        (
            {
                "reactions": [
                    {"when": ["ok?"], "expect": ["x"], "say": "yes", "otherwise": BACKCHANNEL}
                ]
            },
            "only in scripted turns",
        ),
        ({"closing": BACKCHANNEL}, "closing: backchannel works only in scripted turns"),
    ],
)
def test_a_backchannel_is_a_scripted_turn_only(caller: dict[str, Any], where: str) -> None:
    # A reaction would match the same agent words again after it and acknowledge in a loop.
    with pytest.raises(ValidationError, match=where):
        Caller.model_validate({"goal": "g", "turns": ["hi"], **caller})
    assert Caller.model_validate({"goal": "g", "turns": ["hi", BACKCHANNEL]}).turns[1].backchannel
