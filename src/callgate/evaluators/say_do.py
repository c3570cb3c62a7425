"""SayDo: does what the agent says match what it did?

Two kinds of violation, both checked against the call's own tool calls:

* **A claim not backed by an action.** The suite's ``claims`` rule lists, per tool, sentences by
  which the agent says that tool's action happened. Each match in a spoken reply needs a
  successful call of that tool in the same turn or an earlier one; a claimed value (a named group
  of the pattern) must equal the value at the rule's path in the result of one such call.
* **An action the caller did not agree to.** A call to one of the suite's ``sensitive_tools``
  made right after the caller said no (a leading "no", or one of the suite's
  ``refusal_phrases``), or without the confirmation question and "yes" the rules require (the
  same check as ToolSelectionAccuracy's ``unsafe_tool_calls``: :mod:`callgate.evaluators.consent`).

Decisions a reviewer should know:

* A tool call in the same turn backs a claim: a trace records a turn's reply as one text, not
  when each sentence was spoken, so a streaming agent's "let me look that up ... it's done" cannot
  be ordered against the tool inside the turn. The one case the trace does settle is flagged: the
  tool finished only after the whole reply had played.
* A claim is a statement about state, so any earlier successful call backs it, and repeating
  "it's done" later is no violation; a claim about the wrong item is caught by its ``values``.
* Discarded replies were never heard and make no claim; a reply cut by the caller counts in full
  (the trace does not say how far it got).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.evaluators.consent import last_words_before, refuses, unsafe_calls
from callgate.evaluators.text import normalize
from callgate.scenarios.evaluation import ClaimRule
from callgate.traces.model import AgentTurnTrace, CallTrace, ToolCallTrace

VIOLATIONS = Metric(
    "say_do_violations", "lower", "count",
    "claims not backed by a successful tool call (or with a value the tool did not return), "
    "plus sensitive tool calls after the caller said no or without the required confirmation",
    0.0,
)  # fmt: skip
CONSISTENT = Metric(
    "say_do_consistent", "higher", "bool",
    "1 when every claim the agent spoke was backed by its tool call and every sensitive call "
    "had the caller's consent", 1.0, "binary",
)  # fmt: skip
UNBACKED = Metric(
    "unbacked_claims", "lower", "count",
    "spoken claims of an action with no successful tool call before or in that turn, or with a "
    "value the tool did not return", 0.0,
)  # fmt: skip
UNCONSENTED = Metric(
    "unconsented_actions", "lower", "calls",
    "sensitive tool calls made after the caller said no or without the confirmation the rules "
    "require", 0.0,
)  # fmt: skip

_TOLERANCE = 0.005  # half a cent: a spoken amount is rounded to what the agent says


@dataclass(frozen=True)
class _Claim:
    tool: str
    rule: ClaimRule
    regex: re.Pattern[str]


def _lookup(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    # What an agent says: "1,200.00", "$50": thousands separators and symbols are not the value.
    digits = re.sub(r"[^\d.\-]", "", str(value))
    try:
        return float(digits) if re.search(r"\d", str(value)) else None
    except ValueError:
        return None


def same_value(said: str, known: Any) -> bool:
    """A spoken value against a tool's: as numbers when both are numbers ("1,200.00" and 1200.0),
    otherwise as normalised words ("Debit" and "debit")."""
    a, b = _number(said), _number(known)
    if a is not None and b is not None:
        return math.isclose(a, b, abs_tol=_TOLERANCE)
    return normalize(said) == normalize(str(known))


class SayDo:
    name: ClassVar[str] = "SayDo"
    metrics: ClassVar[list[Metric]] = [VIOLATIONS, CONSISTENT, UNBACKED, UNCONSENTED]
    # The suite's evaluation rules this evaluator takes as parameters (docs/scenarios.md).
    rules: ClassVar[tuple[str, ...]] = (
        "claims",
        "refusal_phrases",
        "sensitive_tools",
        "confirmation_phrases",
    )

    def __init__(
        self,
        claims: Mapping[str, Sequence[str | Mapping[str, Any]]] | None = None,
        refusal_phrases: Sequence[str] = (),
        sensitive_tools: Sequence[str] = (),
        confirmation_phrases: Sequence[str] = (),
        require_confirmation: bool = True,
    ) -> None:
        self.claims = {
            tool: [ClaimRule.model_validate(r) for r in rules]
            for tool, rules in (claims or {}).items()
        }
        self._compiled = [
            _Claim(tool, rule, re.compile(rule.pattern, re.IGNORECASE))
            for tool, rules in self.claims.items()
            for rule in rules
        ]
        self.refusal_phrases = list(refusal_phrases)
        self.sensitive_tools = list(sensitive_tools)
        self.confirmation_phrases = list(confirmation_phrases)
        self.require_confirmation = bool(require_confirmation)

    def params(self) -> dict[str, Any]:
        return {
            "claims": {t: [r.model_dump() for r in rules] for t, rules in self.claims.items()},
            "refusal_phrases": list(self.refusal_phrases),
            "sensitive_tools": list(self.sensitive_tools),
            "confirmation_phrases": list(self.confirmation_phrases),
            "require_confirmation": self.require_confirmation,
        }

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        if not self._compiled and not self.sensitive_tools:
            reason = "the suite's evaluation rules give no claims and no sensitive tools"
            return EvalResult.not_scored(self.name, reason, self.metrics)
        said = [c for t in call.agent_turns if _heard(call, t) for c in self._claims(call, t)]
        unbacked = [c for c in said if c["why"] is not None]
        acted = self._actions(call)
        findings = sorted(unbacked + acted, key=lambda f: (f["turn"], f["kind"]))
        metrics: dict[str, float | None] = {
            VIOLATIONS.name: float(len(findings)),
            CONSISTENT.name: 0.0 if findings else 1.0,
            UNBACKED.name: float(len(unbacked)),
            UNCONSENTED.name: float(len(acted)),
        }
        by_turn: dict[int, list[dict[str, Any]]] = {}
        for f in findings:
            by_turn.setdefault(f["turn"], []).append({k: v for k, v in f.items() if k != "turn"})
        turns = [{"turn": turn, "say_do": items} for turn, items in sorted(by_turn.items())]
        if findings:
            plural = "s" if len(findings) > 1 else ""
            reason = f"{len(findings)} say-do violation{plural}: " + "; ".join(
                f"turn {f['turn']} {f['summary']}" for f in findings[:3]
            )
        else:
            reason = f"consistent: {len(said)} claims backed"
            if self.sensitive_tools:
                reason += ", no sensitive call without the caller's consent"
        details = {"findings": findings, "claims_checked": len(said)}
        return result(self.name, VIOLATIONS, metrics, reason, details=details, turns=turns)

    # -- claims ---------------------------------------------------------------------------------

    def _claims(self, call: CallTrace, turn: AgentTurnTrace) -> list[dict[str, Any]]:
        text = turn.reply_text.replace("’", "'")
        out = []
        for claim in self._compiled:
            for m in claim.regex.finditer(text):
                why = self._unbacked(call, turn, claim, m)
                out.append(
                    {
                        "kind": "claim",
                        "turn": turn.index,
                        "tool": claim.tool,
                        "text": m.group(0),
                        "why": why,  # None: backed
                        "summary": f"said {m.group(0)!r} ({claim.tool}): {why}",
                    }
                )
        return out

    def _unbacked(
        self, call: CallTrace, turn: AgentTurnTrace, claim: _Claim, m: re.Match[str]
    ) -> str | None:
        """Why the claim is not backed, or None when it is."""
        tool = claim.tool
        mine = [tc for tc in call.tool_calls if tc.tool == tool]
        before = [tc for tc in mine if tc.turn <= turn.index]
        done = [tc for tc in before if tc.ok and not self._after_reply(tc, turn)]
        if not done:
            if any(tc.ok for tc in before):
                return f"{tool} finished only after the reply had been spoken"
            if before:
                errors = "; ".join(tc.error or "no reason given" for tc in before if not tc.ok)
                return f"{tool} failed ({errors})"
            if mine:
                return f"{tool} was called only in a later turn"
            return f"no {tool} call"
        checks = {g: p for g, p in claim.rule.values.items() if m.group(g) is not None}
        if not checks:
            return None
        for tc in done:
            if all(same_value(m.group(g), _lookup(tc.result, p)) for g, p in checks.items()):
                return None
        known = {p: _lookup(done[-1].result, p) for p in checks.values()}
        said = {g: m.group(g) for g in checks}
        return f"said {said}, the tool returned {known}"

    @staticmethod
    def _after_reply(tc: ToolCallTrace, turn: AgentTurnTrace) -> bool:
        """The tool, in the claim's own turn, finished after the reply had finished playing."""
        return (
            tc.turn == turn.index and turn.playback_end is not None and tc.end > turn.playback_end
        )

    # -- actions --------------------------------------------------------------------------------

    def _actions(self, call: CallTrace) -> list[dict[str, Any]]:
        unconfirmed = (
            {
                u["call"]: u["why"]
                for u in unsafe_calls(call, self.sensitive_tools, self.confirmation_phrases)
            }
            if self.require_confirmation
            else {}
        )
        out = []
        for pos, tc in enumerate(call.tool_calls):
            if tc.tool not in self.sensitive_tools:
                continue
            last = last_words_before(call, tc.start)
            if last is not None and refuses(last, self.refusal_phrases):
                why = f"after the caller said {last!r}"
            elif pos in unconfirmed:
                why = unconfirmed[pos]
            else:
                continue
            out.append(
                {
                    "kind": "action",
                    "turn": tc.turn,
                    "tool": tc.tool,
                    "call": pos,
                    "why": why,
                    "summary": f"called {tc.tool} (#{pos}): {why}",
                }
            )
        return out


def _heard(call: CallTrace, turn: AgentTurnTrace) -> bool:
    """Whether the caller heard the reply: not dropped, and (in a simulated call) voiced; a TTS
    fault leaves a reply silent, and a claim nobody heard claims nothing."""
    if turn.discarded:
        return False
    return call.source != "simulated" or turn.first_byte is not None
