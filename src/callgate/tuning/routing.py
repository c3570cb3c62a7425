"""Tuning job ``routing``: give the cohort that falls behind its own ASR, or a human sooner.

1. By each piece of line metadata a pipeline agent can route on (``locale``, ``channel``), find
   the value whose dev calls complete the task least often. It must trail the other calls by at
   least ``min_gap`` with at least ``min_calls`` calls, or there is nothing to route.
2. For that cohort, try other ASR configurations on its own dev turns (re-transcribed from the
   audio the agent heard): hints mined from the cohort's own failed calls, and any
   ``asr_options`` given (another engine or model). The hints are measured out of fold: mined
   from half the cohort's dev scenarios, heard on the other half's turns.
3. If one lowers the cohort's WER by at least ``min_gain``, route the cohort to it. Otherwise the
   audio path cannot be fixed this way, and those callers are handed to a human after one
   failure instead of ``routing.transfer_after_failures``: a dead end reached sooner.

Only the routed cohort changes, so the hints may lean on its words without biasing everyone.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import numpy as np

from callgate.agents.pipeline_config import ROUTE_KEYS, PipelineConfig
from callgate.errors import UsageError
from callgate.evaluators.text import Spellings
from callgate.tuning.asr_terms import (
    HeardTurn,
    domain_vocabulary,
    heard_turns,
    missed_terms,
    priming_sentences,
)
from callgate.tuning.folds import two_folds
from callgate.tuning.jobs import Proposal, TuneCall, TuneContext, require_agent
from callgate.tuning.retranscribe import transcripts, wer_of


class RoutingJob:
    def __init__(
        self,
        keys: list[str] | None = None,
        min_gap: float = 0.15,
        min_calls: int = 10,
        min_gain: float = 0.05,
        sample: int = 80,
        max_terms: int = 12,
        prompt_words: int = 40,
        asr_options: list[dict[str, Any]] | None = None,
    ) -> None:
        self.keys = list(keys or ROUTE_KEYS)
        unknown = sorted(set(self.keys) - set(ROUTE_KEYS))
        if unknown:
            raise UsageError(
                f"routing keys must be among {', '.join(ROUTE_KEYS)}, not {', '.join(unknown)}",
                field="--param",
            )
        if not 0 < min_gap < 1 or min_calls < 1 or not 0 <= min_gain < 1 or sample < 10:
            raise UsageError(
                "min_gap in (0, 1), min_calls at least 1, min_gain in [0, 1), sample at least 10",
                field="--param",
            )
        if asr_options is not None and not all(isinstance(o, dict) for o in asr_options):
            raise UsageError("asr_options must be a list of asr blocks", field="--param")
        self.min_gap, self.min_calls, self.min_gain = min_gap, min_calls, min_gain
        self.sample, self.max_terms, self.prompt_words = sample, max_terms, prompt_words
        self.asr_options = list(asr_options or [])

    def check(self, agent: dict[str, Any]) -> None:
        require_agent(agent, "routing adds rules to the pipeline agent's routes")

    def propose(self, ctx: TuneContext) -> Proposal:
        found = self._worst_cohort(ctx)
        figures: dict[str, Any] = {"completion": found["table"]}
        if found["key"] is None:
            return Proposal(
                rationale=[
                    f"no {'/'.join(self.keys)} cohort trails the other dev calls by "
                    f"{self.min_gap:.0%} or more: nothing to route"
                ],
                figures=figures,
            )
        key, value = found["key"], found["value"]
        cohort = [c for c in ctx.calls if c.trace.cohort.get(key) == value]
        figures["cohort"] = {key: value, "calls": len(cohort)}
        where = f"{key}={value}"
        options = self._options(ctx, cohort)
        measured = self._measure(ctx, cohort, options)
        figures["wer"] = measured
        current = measured["current"]["wer"]
        best = min(
            (n for n in options if n != "current" and measured[n]["wer"] is not None),
            key=lambda n: measured[n]["wer"],
            default=None,
        )
        lead = (
            f"{where} completes {found['completion']:.0%} of its {len(cohort)} dev calls, the "
            f"others {found['others']:.0%}"
        )
        if (
            best is not None
            and current is not None
            and current - measured[best]["wer"] >= self.min_gain
        ):
            route: dict[str, Any] = {"when": {key: [value]}, "asr": options[best]}
            return Proposal(
                patch={"routes": [route, *ctx.agent.get("routes", [])]},  # first match wins
                rationale=[
                    f"route {where} to {best}: its dev turns' WER {current:.3f} -> "
                    f"{measured[best]['wer']:.3f} ({measured[best]['turns']} turns)",
                    lead,
                ],
                figures=figures,
            )
        failures = int((ctx.agent.get("routing") or {}).get("transfer_after_failures", 2))
        if failures <= 1:
            return Proposal(
                rationale=[lead, "no ASR option helped and the hand-off is already immediate"],
                figures=figures,
            )
        route = {"when": {key: [value]}, "transfer_after_failures": 1}  # a human sooner
        tried = ", ".join(
            f"{n} {measured[n]['wer']:.3f}" for n in measured if measured[n]["wer"] is not None
        )
        return Proposal(
            patch={"routes": [route, *ctx.agent.get("routes", [])]},
            rationale=[
                f"hand {where} to a human after 1 failure instead of {failures}: no ASR option "
                f"lowered its WER by {self.min_gain} ({tried})",
                lead,
            ],
            figures=figures,
        )

    def _worst_cohort(self, ctx: TuneContext) -> dict[str, Any]:
        table: dict[str, dict[str, Any]] = {}
        worst: dict[str, Any] = {"key": None, "value": None, "gap": 0.0}
        scored = [
            (c, v)
            for c in ctx.calls
            if c.scores is not None and (v := c.scores.metrics.get("task_completion")) is not None
        ]
        for key in self.keys:
            groups: dict[str, list[float]] = defaultdict(list)
            for c, done in scored:
                groups[str(c.trace.cohort.get(key))].append(float(done))
            for value, dones in sorted(groups.items()):
                others = [d for v, ds in groups.items() if v != value for d in ds]
                rate = statistics.fmean(dones)
                table[f"{key}={value}"] = {"calls": len(dones), "completion": round(rate, 4)}
                if len(dones) < self.min_calls or not others:
                    continue
                gap = statistics.fmean(others) - rate
                if gap >= self.min_gap and gap > worst["gap"]:
                    worst = {
                        "key": key,
                        "value": value,
                        "gap": gap,
                        "completion": rate,
                        "others": statistics.fmean(others),
                    }
        return {**worst, "table": table}

    def _options(self, ctx: TuneContext, cohort: list[TuneCall]) -> dict[str, dict[str, Any]]:
        """ASR blocks to try for the cohort, by name; ``current`` is the variant's own."""
        # What these calls run with now: a route of the base may already give them an ASR.
        config = PipelineConfig.model_validate(ctx.agent)
        current = config.routed(dict(cohort[0].trace.cohort))[1].asr.model_dump(mode="json")
        options: dict[str, dict[str, Any]] = {"current": current}
        spellings = Spellings(ctx.rules.spellings)
        traces = [c.trace for c in cohort]
        failed = heard_turns(c.trace for c in cohort if c.scores is not None and c.scores.failed)
        misses = missed_terms(failed, domain_vocabulary(ctx.rules, traces), spellings)
        old = list((current.get("hints") or {}).get("vocabulary") or [])
        terms = [w for w, _ in misses.most_common() if w not in old][: self.max_terms]
        if terms:
            prompt = " ".join(priming_sentences(heard_turns(traces), terms, self.prompt_words))
            hints = {"vocabulary": [*old, *terms], "prompt": prompt}
            options["cohort hints"] = {**current, "hints": hints}
        for i, option in enumerate(self.asr_options):
            options[f"asr option {i + 1} ({option.get('engine', current.get('engine'))})"] = {
                **current,
                **option,
            }
        return options

    def _measure(
        self, ctx: TuneContext, cohort: list[TuneCall], options: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Cohort WER of each option, out of fold: the cohort's own hints are mined from half its
        dev scenarios and heard on the other half's turns, both ways (:mod:`folds`); the other
        options, fixed, are heard on the same turns."""
        spellings = Spellings(ctx.rules.spellings)
        folds = two_folds((c.trace.scenario_id for c in cohort), ctx.seed)
        pooled: dict[str, list[tuple[list[HeardTurn], list[str | None]]]] = {}
        for k, test in enumerate(folds):
            train = [c for c in cohort if c.trace.scenario_id not in test]
            fold_options = self._options(ctx, train) if train else {}
            turns = heard_turns(c.trace for c in cohort if c.trace.scenario_id in test)
            rng = np.random.default_rng([ctx.seed, 0x40, k])
            size = self.sample // 2
            if len(turns) > size:
                turns = [turns[i] for i in sorted(rng.choice(len(turns), size, replace=False))]
            # An option this fold's failures gave no hint of its own is not heard here.
            blocks = {name: fold_options[name] for name in options if name in fold_options}
            for name, heard in transcripts(ctx, blocks, turns, f"routing: fold {k + 1}/2").items():
                pooled.setdefault(name, []).append((turns, heard))
        out: dict[str, dict[str, Any]] = {}
        for name in options:
            turns_all = [t for turns, _ in pooled.get(name, []) for t in turns]
            heard_all = [h for _, heard in pooled.get(name, []) for h in heard]
            wer, n = wer_of(turns_all, heard_all, spellings)
            out[name] = {"wer": wer, "turns": n}
        return out
