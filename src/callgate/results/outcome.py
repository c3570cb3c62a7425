"""When a call counts as failed: one rule for attribution, summaries, the report and the UI."""

from __future__ import annotations

from collections.abc import Mapping

FAIL_METRICS = ("task_completion", "tool_selection_accuracy")


def failed(metrics: Mapping[str, float | None]) -> bool:
    """The task was not completed, or the tools were not used as expected."""
    return any((v := metrics.get(m)) is not None and v < 1.0 for m in FAIL_METRICS)
