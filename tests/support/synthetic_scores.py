"""Scores and gate.json of the synthetic run (:mod:`support.synthetic`), in the stored
formats: the scores as the store's record, the gate as ``callgate gate`` writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callgate.store.records import Attribution, CallScores, Cause
from callgate.traces.model import CallTrace

RUN_ID = "5e1f0000synth"


def call_scores(trace: CallTrace, fail: bool, cause: Cause | None) -> CallScores:
    turn = trace.agent_turns[1]
    ttfa = (turn.first_audible or 0.0) - (turn.heard_end or 0.0)
    wer = 0.4 if fail and cause == "asr" else 0.0
    metrics = {
        "task_completion": 0.0 if fail else 1.0,
        "tool_selection_accuracy": 0.0 if fail else 1.0,
        "asr_wer": wer,
        "ttfa_p50_s": round(ttfa, 6),
        "dead_air_max_s": 1.0,
        "safety_violations": 0.0,
    }
    path = {
        "expected": [
            {
                "tool": trace.expectation["tools"][0]["tool"] if trace.expectation else "?",
                "expected_args": {},
                "call": None if fail else 0,
                "args_ok": not fail,
                "arg_results": {},
            }
        ],
        "calls": [
            {"index": c.index, "tool": c.tool, "args": c.args, "ok": c.ok} for c in trace.tool_calls
        ],
        "extra_calls": [],
        "forbidden_calls": [],
        "duplicate_calls": [],
        "order_ok": True,
    }
    attribution = Attribution(
        cause if fail else None,
        f"{cause}: synthetic failure" if fail else "passed",
        cause != "policy" if fail else None,
    )
    return CallScores(
        metrics=metrics,
        reasons={"TaskCompletion": "task not completed" if fail else "task completed"},
        details={"ToolSelectionAccuracy": {"path": path}},
        turns=[
            {
                "turn": 1,
                "reference": turn.reference_text,
                "hypothesis": turn.asr.text if turn.asr else "",
                "ttfa_s": round(ttfa, 6),
            }
        ],
        attribution=attribution,
    )


def _check(
    metric: str, slice_: str, base: list[bool], cand: list[bool], margin: float
) -> dict[str, Any]:
    n = len(base)
    b, c = 1 - sum(base) / n, 1 - sum(cand) / n
    delta = c - b
    half = 1.96 * max(0.01, (b * (1 - b) / n + c * (1 - c) / n) ** 0.5)
    status = "block" if delta + half < -margin else "warn" if n < 30 else "pass"
    verdict = "worse" if status == "block" else "no detectable change"
    return {
        "metric": metric,
        "statistic": "mean",
        "direction": "higher",
        "kind": "binary",
        "unit": "bool",
        "slice": slice_,
        "paired": True,
        "n": n,
        "n_baseline": n,
        "n_candidate": n,
        "baseline": b,
        "candidate": c,
        "delta": delta,
        "ci_low": delta - half,
        "ci_high": delta + half,
        "method": "mcnemar",
        "discordant_worse": None,
        "discordant_better": None,
        "margin": margin,
        "required_improvement": None,
        "min_calls": 30,
        "required": False,
        "p_worse": None,
        "p_adjusted": None,
        "p_better": None,
        "mde": None,
        "verdict": verdict,
        "status": status,
        "note": "too few calls" if n < 30 else "",
    }


def gate_doc(
    outcomes: dict[str, list[bool]], cohorts: list[tuple[str, str, str, str]]
) -> dict[str, Any]:
    base, cand = outcomes["baseline"], outcomes["candidate"]
    checks = [_check("task_completion", "all", base, cand, 0.0)]
    for tag, pos in (("accent", 1), ("channel", 3)):
        for value in dict.fromkeys(c[pos] for c in cohorts):
            idx = [i for i in range(len(base)) if cohorts[i][pos] == value]
            if idx:
                checks.append(
                    _check(
                        "task_completion",
                        f"{tag}={value}",
                        [base[i] for i in idx],
                        [cand[i] for i in idx],
                        0.0,
                    )
                )
    blocking = [c for c in checks if c["status"] == "block"]

    def side(variant: str) -> dict[str, Any]:
        return {
            "label": f"{RUN_ID}:{variant}",
            "origin": "run",
            "variant": variant,
            "calls": len(base),
            "run_ids": [RUN_ID],
        }

    return {
        "schema_version": 1,
        "decision": "BLOCK" if blocking else "PROMOTE",
        "policy": "synthetic",
        "policy_sha256": "0" * 64,
        "alpha": 0.05,
        "multiplicity": "holm",
        "confidence": 0.95,
        "seed": 0,
        "resamples": 0,
        "baseline": side("baseline"),
        "candidate": side("candidate"),
        "paired": True,
        "pairing": f"paired by scenario, cohort and repeat: {len(base)} pairs",
        "family_size": len(checks),
        "reasons": [
            {
                "kind": "harm",
                "metric": c["metric"],
                "slice": c["slice"],
                "message": f"{c['metric']} is worse in {c['slice']}",
            }
            for c in blocking
        ],
        "warnings": [],
        "notes": [],
        "checks": checks,
    }


def write_gate(doc: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gate.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path
