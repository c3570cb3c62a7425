"""Which calls an export takes, and the behaviours each example shows.

A call is *failed* under callgate's one failure rule (``task_completion`` or
``tool_selection_accuracy`` below 1, :func:`callgate.store.records.failed`); a call neither metric
scored cannot be told apart and is left out. Behaviours are read from the part of the call the
example holds (a corrected example stops at its wrong step):

* ``success``: the call did not fail; ``failed_corrected``: it failed and ends in a correction;
* ``repair``: the agent said it did not understand (policy action ``repair``), or the caller
  repeated or corrected themselves (utterance ``why`` ``repeat`` or ``correction``);
* ``interruption``: the caller talked over the agent (``interrupting``), or a reply was cut
  (``interrupted``);
* ``transfer``: the agent handed the call to a human, or the correction does;
* ``silence``: the agent answered the caller's silence (a turn triggered by ``silence``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from callgate.store.records import CallScores
from callgate.traces.model import CallTrace
from callgate.training.records import Behaviour

REPAIR_ACTIONS = ("repair",)
REPAIR_WHY = ("repeat", "correction")


def failed(scores: CallScores | None) -> bool | None:
    """True or False under the failure rule; None when unscored or neither metric was scored."""
    return None if scores is None else scores.failed


def behaviours(
    trace: CallTrace,
    turns: Sequence[int],
    until: float,
    corrected_tools: Sequence[str],
    handoff_tools: Sequence[str],
) -> tuple[list[Behaviour], Counter[str]]:
    """(behaviours in a fixed order, turns per behaviour) of the example holding agent ``turns``
    and the caller's utterances that started before ``until``."""
    held = set(turns)
    agent = [a for a in trace.agent_turns if a.index in held]
    caller = [u for u in trace.caller_turns if u.start < until]
    counts: Counter[str] = Counter()
    counts["repair"] = sum(
        a.policy is not None and a.policy.action in REPAIR_ACTIONS for a in agent
    )
    counts["repair"] += sum(u.why in REPAIR_WHY for u in caller)
    counts["interruption"] = sum(u.interrupting for u in caller)
    counts["interruption"] += sum(a.interrupted for a in agent)
    counts["silence"] = sum(a.trigger == "silence" for a in agent)
    counts["transfer"] = sum(a.transferred for a in agent)
    counts["transfer"] += sum(t in handoff_tools for t in corrected_tools)
    labels: list[Behaviour] = ["failed_corrected" if corrected_tools else "success"]
    order: tuple[Behaviour, ...] = ("repair", "interruption", "transfer", "silence")
    labels += [b for b in order if counts[b] > 0]
    return labels, +counts
