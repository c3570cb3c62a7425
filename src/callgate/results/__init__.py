"""The results table: one row per call (scenario, variant, repeat, cohort tags, every metric) and
one row per turn, built from stored traces and scores, exported as CSV, Parquet or JSONL."""

from callgate.results.table import CALL_COLUMNS, TURN_COLUMNS, call_rows, turn_rows

__all__ = ["CALL_COLUMNS", "TURN_COLUMNS", "call_rows", "turn_rows"]
