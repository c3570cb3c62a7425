"""Tuning job ``prompt``: edit an LLM policy's system prompt, scored by replaying dev scenarios.

For a pipeline agent whose policy is ``llm`` (any OpenAI-compatible endpoint). The edits tried:

* two general rules: act with a tool rather than promise to, and ask again rather than guess;
* few-shot examples mined from failed dev calls: the caller's first words, and the tool call the
  scenario expected (the same correction ``callgate export-training`` writes);
* the rules and the examples together.

Each prompt is scored by replaying the distinct dev scenarios as text through the policy and the
tools (the oracle replay: the scripted caller, perfect hearing, no clock), judged by the same
evaluators as a real call. It is a dev-split simulation of the dialogue, not of the audio: ASR
is what the other jobs tune. The best prompt is proposed when it passes at least ``min_gain``
more of the scenarios than the current one. The endpoint must be up while the job runs; replies
come from the policy's cache when the same request was sent before.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from callgate.agents.voice import AgentUnavailable
from callgate.errors import UsageError
from callgate.inspection.attribution import oracle_passed
from callgate.simulation.oracle import replay
from callgate.training.correction import fill_args
from callgate.tuning.folds import two_folds
from callgate.tuning.jobs import Proposal, TuneCall, TuneContext, require_agent
from callgate.variants.model import AgentSpec, Variant

ACT = (
    "When the caller asks for something one of your tools does, call that tool with the details "
    "they gave, then say what happened; never only promise to do it."
)
ASK_AGAIN = (
    "If you are not sure what the caller said or wants, ask them to say it again instead of "
    "guessing."
)


class PromptJob:
    def __init__(self, shots: int = 3, min_gain: float = 0.05, max_scenarios: int = 40) -> None:
        if shots < 0 or not 0.0 <= min_gain < 1.0 or max_scenarios < 1:
            raise UsageError(
                "shots at least 0, min_gain in [0, 1), max_scenarios at least 1", field="--param"
            )
        self.shots, self.min_gain, self.max_scenarios = shots, min_gain, max_scenarios

    def check(self, agent: dict[str, Any]) -> None:
        require_agent(agent, "prompt tunes the system prompt of the llm policy", policy="llm")

    def propose(self, ctx: TuneContext) -> Proposal:
        from callgate.agents.policies.llm import DEFAULT_PROMPT

        params = (ctx.agent.get("policy") or {}).get("params") or {}
        base = str(params.get("system_prompt") or DEFAULT_PROMPT)
        calls = self._one_call_per_scenario(ctx)
        if not calls:
            raise UsageError("the run stored no dev scenarios to replay (an imported run?)")
        examples = self._examples(ctx.failed(), ctx)
        scores = self._scores(ctx, calls, base)
        # A prompt no fold could build examples for was not measured: it is not proposed.
        prompts = {n: p for n, p in _prompts(base, examples).items() if n in scores}
        figures: dict[str, Any] = {
            "scenarios": len(calls),
            "pass_rate": scores,
            "examples": examples,
            "prompts": prompts,
        }
        best = max(prompts, key=lambda n: (scores[n], -len(prompts[n])))
        table = ", ".join(f"{n} {scores[n]:.0%}" for n in prompts)
        if best == "current" or scores[best] - scores["current"] < self.min_gain:
            return Proposal(
                rationale=[
                    f"no prompt edit passed {self.min_gain:.0%} more of {len(calls)} dev "
                    f"scenarios replayed as text ({table})"
                ],
                figures=figures,
            )
        figures["chosen"] = best
        return Proposal(
            patch={"policy": {"params": {"system_prompt": prompts[best]}}},
            rationale=[
                f"system prompt {best}: dev scenarios replayed as text pass "
                f"{scores['current']:.0%} -> {scores[best]:.0%} ({len(calls)} scenarios)",
                table,
            ],
            figures=figures,
        )

    def _scores(self, ctx: TuneContext, calls: list[TuneCall], base: str) -> dict[str, float]:
        """Pass rate of every prompt. A prompt with examples is scored out of fold: examples from
        one half of the dev scenarios, replayed on the other half, both ways (:mod:`folds`); an
        example scored on its own scenario would only show that the model can copy."""
        folds = two_folds((c.trace.scenario_id for c in calls), ctx.seed)
        passed: dict[str, int] = {}
        scored: dict[str, int] = {}
        plain = _prompts(base, [])
        for i, (name, prompt) in enumerate(plain.items(), start=1):
            passed[name] = self._passed(ctx, calls, prompt, f"prompt {i}/{len(plain)}")
            scored[name] = len(calls)
        for k, test in enumerate(folds):
            train = [c for c in ctx.failed() if c.trace.scenario_id not in test]
            tested = [c for c in calls if c.trace.scenario_id in test]
            for name, prompt in _prompts(base, self._examples(train, ctx)).items():
                if name in plain or not tested:
                    continue
                label = f"fold {k + 1}/2, {name}"
                passed[name] = passed.get(name, 0) + self._passed(ctx, tested, prompt, label)
                scored[name] = scored.get(name, 0) + len(tested)
        return {n: passed[n] / scored[n] for n in passed if scored[n]}

    def _examples(self, failed: list[TuneCall], ctx: TuneContext) -> list[str]:
        """One example per failed dev scenario: what the caller said first, the call expected."""
        out: list[str] = []
        seen: set[str] = set()
        for call in failed:
            if len(out) >= self.shots:
                break
            trace = call.trace
            expected = (trace.expectation or {}).get("tools") or []
            if trace.scenario_id in seen or not expected or not trace.caller_turns:
                continue
            scenario = ctx.scenarios.get(trace.scenario_id)
            if scenario is None:
                continue
            first = scenario.expect.tools[0]
            args = fill_args(first)
            if args is None:
                continue
            seen.add(trace.scenario_id)
            said = trace.caller_turns[0].text
            out.append(f'Caller: "{said}" -> call {first.tool} with {json.dumps(args)}')
        return out

    def _one_call_per_scenario(self, ctx: TuneContext) -> list[TuneCall]:
        first: dict[str, TuneCall] = {}
        for call in ctx.calls:
            if call.trace.scenario_id in ctx.scenarios:
                first.setdefault(call.trace.scenario_id, call)
        calls = [first[k] for k in sorted(first)]
        if len(calls) > self.max_scenarios:
            rng = np.random.default_rng([ctx.seed, 0x9E])
            keep = sorted(rng.choice(len(calls), self.max_scenarios, replace=False).tolist())
            calls = [calls[i] for i in keep]
        return calls

    def _passed(self, ctx: TuneContext, calls: list[TuneCall], prompt: str, label: str) -> int:
        block = {**ctx.agent}
        policy = dict(block["policy"])
        policy["params"] = {**(policy.get("params") or {}), "system_prompt": prompt}
        block["policy"] = policy
        variant = Variant(
            schema_version=2, name="prompt-trial", agent=AgentSpec.model_validate(block)
        )
        passed = 0
        for done, call in enumerate(calls, start=1):
            ctx.progress(f"prompt: replaying dev scenarios, {label}", done, len(calls))
            trace = call.trace
            try:
                oracle = replay(
                    ctx.scenarios[trace.scenario_id],
                    variant,
                    trace.initial_state,
                    ctx.reactions,
                    ctx.env.models_dir,
                    trace.seed,
                )
            except AgentUnavailable as exc:
                raise UsageError(f"prompt: the policy's endpoint is not answering: {exc}") from None
            passed += oracle_passed(trace, oracle)
        return passed


def _prompts(base: str, examples: list[str]) -> dict[str, str]:
    prompts = {"current": base, "+act": f"{base} {ACT}", "+ask again": f"{base} {ASK_AGAIN}"}
    if examples:
        shots = "\n".join(examples)
        prompts["+examples"] = f"{base}\nExamples from earlier calls:\n{shots}"
        prompts["+act+examples"] = f"{base} {ACT}\nExamples from earlier calls:\n{shots}"
    return prompts
