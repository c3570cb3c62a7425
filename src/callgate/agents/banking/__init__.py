"""The reference banking agent's text brain: intent model, slot extraction, tools and policy.

Importing this package registers the ``banking`` dialogue policy and the ``banking`` tool set.
"""

from callgate.agents.banking.dialogue import DEFAULT_MERCHANTS, BankingPolicy, BankingSession
from callgate.agents.banking.nlu import IntentModel, cache_key, known_datasets, load_dataset
from callgate.agents.banking.tools import SCHEMAS, BankingTools, default_state

__all__ = [
    "DEFAULT_MERCHANTS",
    "SCHEMAS",
    "BankingPolicy",
    "BankingSession",
    "BankingTools",
    "IntentModel",
    "cache_key",
    "default_state",
    "known_datasets",
    "load_dataset",
]
