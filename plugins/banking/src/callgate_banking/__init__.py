"""callgate's reference banking domain, packaged as a plugin like any outside domain.

The policy, the tool set and the suite (with its variants) register through entry points (see
``pyproject.toml``); nothing in callgate imports this package by name.
"""

from pathlib import Path

from callgate_banking.dialogue import DEFAULT_MERCHANTS, BankingPolicy, BankingSession
from callgate_banking.nlu import IntentModel, cache_key, known_datasets, load_dataset
from callgate_banking.tools import SCHEMAS, BankingTools, default_state

SUITE = Path(__file__).parent / "suite" / "suite.yaml"
"""The banking suite (its baseline and candidate variants are named in it)."""

__all__ = [
    "DEFAULT_MERCHANTS",
    "SCHEMAS",
    "SUITE",
    "BankingPolicy",
    "BankingSession",
    "BankingTools",
    "IntentModel",
    "cache_key",
    "default_state",
    "known_datasets",
    "load_dataset",
]
