"""A pharmacy refill line for callgate: dialogue policy, tool set, suite and variants.

An outside plugin: callgate finds the policy, the tool set and the suite through entry points (see
``pyproject.toml``) and never imports this package by name, and nothing here registers itself on
import.
"""

from pathlib import Path

from callgate_pharmacy.policy import PharmacyPolicy, PharmacySession
from callgate_pharmacy.tools import SCHEMAS, SENSITIVE, PharmacyTools, default_state

SUITE = Path(__file__).parent / "suite" / "suite.yaml"
"""The pharmacy suite (its baseline and candidate variants are named in it)."""

__all__ = [
    "SCHEMAS",
    "SENSITIVE",
    "SUITE",
    "PharmacyPolicy",
    "PharmacySession",
    "PharmacyTools",
    "default_state",
]
