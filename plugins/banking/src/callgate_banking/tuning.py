"""Tuning job ``intent-retrain`` for the banking agent: retrain its intent model on what its ASR
really produced on dev calls, not only on clean text.

Each dev turn the agent heard gives a pair (ASR transcript, intent). The intent is the one the
agent's own model gives the caller's real words (the reference), kept only when that model is
confident: the label comes from clean text, the input from the noisy cohorts, repair turns and
repeats as the agent heard them. Transcripts further than ``max_wer`` from the caller's words are
left out: they are noise, and a model trained to act on noise acts where it should ask again.
The pairs go to a JSONL file beside the candidate, and the candidate trains on the agent's
datasets plus that file.

What is measured is agreement with those labels on the ASR transcripts of scenarios the model
did not train on (dev scenarios in two folds, each scored by a model trained on the other fold
and the base data): how well the ASR text is understood. A candidate is proposed only when the
retrained model agrees more often than the current one.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from callgate.errors import UsageError
from callgate.evaluators.text import word_errors
from callgate.files import atomic_write
from callgate.tuning.jobs import Proposal, TuneContext, require_agent
from callgate_banking.nlu import NO_INTENT, IntentModel, load_dataset

Pair = tuple[str, str]


class IntentRetrainJob:
    def __init__(
        self, min_label_confidence: float = 0.6, min_pairs: int = 10, max_wer: float = 0.5
    ) -> None:
        if not 0.0 <= min_label_confidence <= 1.0 or max_wer < 0.0:
            raise UsageError(
                "min_label_confidence must be in [0, 1] and max_wer at least 0", field="--param"
            )
        self.max_wer = max_wer
        if min_pairs < 1:
            raise UsageError("min_pairs must be at least 1", field="--param")
        self.min_label_confidence = min_label_confidence
        self.min_pairs = min_pairs

    def check(self, agent: dict[str, Any]) -> None:
        require_agent(
            agent, "intent-retrain retrains the banking policy's intent model", policy="banking"
        )

    def propose(self, ctx: TuneContext) -> Proposal:
        policy = ctx.agent["policy"]
        training = list(policy.get("params", {}).get("training") or ["intents"])
        teacher = IntentModel.load_or_train(training, ctx.env.models_dir)
        by_scenario: dict[str, list[Pair]] = {}
        clean: dict[str, list[Pair]] = {}
        skipped = garbled = 0
        for done, call in enumerate(ctx.calls, start=1):
            ctx.progress("intent-retrain: labelling dev turns", done, len(ctx.calls))
            for turn in call.trace.agent_turns:
                if turn.asr is None or not (turn.reference_text or "").strip():
                    continue
                intent, confidence = teacher.predict(turn.reference_text or "")
                if intent == NO_INTENT or confidence < self.min_label_confidence:
                    skipped += 1
                    continue
                wer = word_errors(turn.reference_text or "", turn.asr.text).wer
                if wer is None or wer > self.max_wer:
                    # Beyond this the transcript is noise, not a confusion to learn: training a
                    # model to act on it makes the agent act where it should ask again.
                    garbled += 1
                    continue
                sid = call.trace.scenario_id
                by_scenario.setdefault(sid, []).append((turn.asr.text.strip(), intent))
                clean.setdefault(sid, []).append((turn.reference_text or "", intent))
        pairs = sorted({p for ps in by_scenario.values() for p in ps if p[0]})
        if len(pairs) < self.min_pairs:
            return Proposal(
                rationale=[
                    f"only {len(pairs)} labelled dev turns (min_pairs {self.min_pairs}): too few "
                    "to retrain"
                ]
            )
        base = [p for name in training for p in load_dataset(name)]
        figures = self._cross_validate(ctx, base, teacher, by_scenario, clean)
        figures.update(
            {
                "pairs": len(pairs),
                "skipped_unsure_labels": skipped,
                "skipped_garbled": garbled,
                "intents": dict(Counter(i for _, i in pairs).most_common()),
            }
        )
        before, after = figures["asr_agreement_before"], figures["asr_agreement_after"]
        summary = (
            f"agreement with the labels on the ASR text of unseen dev scenarios (turns within "
            f"WER {self.max_wer:g}) {before:.1%} -> {after:.1%}; on the callers' own words the "
            f"retrained model keeps {figures['clean_agreement_after']:.1%}"
        )
        if after <= before:
            return Proposal(rationale=[f"no gain from retraining: {summary}"], figures=figures)
        path = _write_pairs(ctx.out_dir, pairs)
        return Proposal(
            patch={
                "policy": {
                    "version": f"{policy.get('version', '1.0')}+dev-asr",
                    "params": {"training": [*training, str(path)]},
                }
            },
            rationale=[
                f"retrain the intent model with {len(pairs)} ASR transcripts of dev turns: "
                + summary,
                "labels are the current model's intents for the callers' real words, so "
                "agreement measures how well the ASR text is understood, not whether the label "
                "is right",
            ],
            figures=figures,
            files=[path],
        )

    def _cross_validate(
        self,
        ctx: TuneContext,
        base: list[Pair],
        teacher: IntentModel,
        by_scenario: dict[str, list[Pair]],
        clean: dict[str, list[Pair]],
    ) -> dict[str, Any]:
        scenarios = sorted(
            by_scenario, key=lambda s: hashlib.sha256(f"{ctx.seed}|{s}".encode()).hexdigest()
        )
        folds = [scenarios[0::2], scenarios[1::2]]
        hits = {"asr_before": 0, "asr_after": 0, "clean_before": 0, "clean_after": 0}
        counts = {"asr": 0, "clean": 0}
        for k, test in enumerate(folds):
            train = folds[1 - k]
            model = IntentModel.fit(base + [p for s in train for p in by_scenario[s] if p[0]])
            ctx.progress("intent-retrain: cross-validation", k + 1, 2)
            for kind, source in (("asr", by_scenario), ("clean", clean)):
                for s in test:
                    for text, label in source[s]:
                        counts[kind] += 1
                        hits[f"{kind}_before"] += teacher.predict(text)[0] == label
                        hits[f"{kind}_after"] += model.predict(text)[0] == label
        # The labels are the teacher's own predictions on the real words: its agreement there is
        # 100% by construction, so only the retrained model's is reported.
        return {
            "asr_agreement_before": hits["asr_before"] / max(1, counts["asr"]),
            "asr_agreement_after": hits["asr_after"] / max(1, counts["asr"]),
            "clean_agreement_after": hits["clean_after"] / max(1, counts["clean"]),
            "scored_turns": counts["asr"],
            "folds": [len(f) for f in folds],
        }


def _write_pairs(out_dir: Path, pairs: list[Pair]) -> Path:
    text = "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in pairs)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = (out_dir / f"intents-dev-asr-{digest}.jsonl").resolve()
    atomic_write(path, text)
    return path
