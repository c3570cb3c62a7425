"""Scenarios and call datasets: the suite format, cohort grids and dev / holdout splits."""

from callgate.scenarios.cohorts import Cell, expand, parse_filters, select
from callgate.scenarios.load import LoadedSuite, installed_suites, load_suite
from callgate.scenarios.model import Scenario, Suite, Utterance

__all__ = [
    "Cell",
    "LoadedSuite",
    "Scenario",
    "Suite",
    "Utterance",
    "expand",
    "installed_suites",
    "load_suite",
    "parse_filters",
    "select",
]
