"""A tiny hand-built scored store (six calls, three pairs) shared by report, web and browser tests.

Pair "freeze": the baseline passes, the candidate fails (a regression) and its transcript, tool
argument and reason carry an HTML injection. Pair "balance": both fail (policy, timing). Pair
"transfer": both pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callgate.speech.audio import Audio
from callgate.store.blobs import BlobStore
from callgate.store.db import Store
from callgate.store.records import CallScores
from callgate.traces.model import CallTrace
from factories import agent, call, caller, event, tool

EVIL = "<script>alert(1)</script>"
RUN = "hand0001run"


@dataclass
class Hand:
    root: Path
    run_id: str
    regressed: str  # the candidate call that regressed
    gate: dict[str, Any]
    traces: dict[str, CallTrace]


def _audio(freq: float, seconds: float = 0.3) -> Audio:
    t = np.arange(int(16000 * seconds)) / 16000
    return Audio((0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)


def _trace(cid: str, scenario: str, variant: str, voice: str, said: str, heard: str, **kw: Any):
    accent = "scottish" if voice == "scottish" else "us"
    return call(
        call_id=cid,
        run_id=RUN,
        scenario_id=scenario,
        variant=variant,
        cohort_id=f"voice={voice}|noise=clean|channel=phone",
        cohort={"voice": voice, "accent": accent, "channel": "phone", "call_type": scenario},
        goal=f"goal of {scenario}: {said}",
        expectation={"tools": [{"tool": "freeze_card", "args": {"card": {"equals": "debit"}}}]},
        caller_turns=[caller(0, said, 4.0, 6.0)],
        agent_turns=[
            agent(0, "Hello, how can I help?", first_audible=0.4, playback_end=3.0),
            agent(
                1,
                kw.pop("reply", "Done."),
                heard=(4.0, 6.0),
                asr=heard,
                reference=said,
                first_audible=7.2,
                playback_end=9.0,
                tool_calls=[0] if kw.get("tool_calls") else [],
                interrupted=kw.pop("interrupted", False),
            ),
        ],
        events=[
            event(0.0, "call_start"),
            event(6.8, "end_of_turn", 1),
            event(9.0, "call_end"),
            *kw.pop("events", []),
        ],
        duration_s=9.5,
        **kw,
    )


def _scores(trace: CallTrace, failed: bool, cause: str | None, reason: str) -> CallScores:
    doc = {
        "metrics": {
            "task_completion": 0.0 if failed else 1.0,
            "tool_selection_accuracy": 0.0 if failed else 1.0,
            "asr_wer": 0.5 if failed else 0.0,
            "ttfa_p50_s": 1.2,
        },
        "reasons": {"TaskCompletion": reason},
        "details": {
            "ToolSelectionAccuracy": {
                "path": {
                    "expected": [
                        {
                            "tool": "freeze_card",
                            "expected_args": {"card": {"equals": "debit"}},
                            "call": 0 if trace.tool_calls else None,
                            "args_ok": not failed,
                            "arg_results": {"card": {"ok": not failed, "reason": reason}},
                        }
                    ],
                    "calls": [
                        {"index": c.index, "tool": c.tool, "args": c.args, "ok": c.ok}
                        for c in trace.tool_calls
                    ],
                    "extra_calls": [],
                    "forbidden_calls": [],
                    "duplicate_calls": [],
                    "order_ok": True,
                }
            },
        },
        "turns": [{"turn": 1, "ttfa_s": 1.2 if trace.variant == "baseline" else 0.9}],
        "attribution": {"cause": cause, "reason": reason},
    }
    return CallScores.model_validate(doc | {"schema_version": 2})


def gate_check(metric: str, slice_: str, delta: float | None, **kw: Any) -> dict[str, Any]:
    """A gate.json check (every field of callgate.gate.model.GateCheck), around a delta."""
    n = kw.pop("n", 40)
    doc = {
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
        "baseline": 0.8,
        "candidate": None if delta is None else 0.8 + delta,
        "delta": delta,
        "ci_low": None if delta is None else delta - 0.05,
        "ci_high": None if delta is None else delta + 0.05,
        "method": "mcnemar",
        "discordant_worse": None,
        "discordant_better": None,
        "margin": 0.0,
        "required_improvement": None,
        "min_calls": 30,
        "required": False,
        "p_worse": None,
        "p_adjusted": None,
        "p_better": None,
        "mde": None,
        "verdict": "no detectable change",
        "status": "pass",
        "note": "",
    }
    unknown = set(kw) - set(doc)
    assert not unknown, f"not gate check fields: {unknown}"
    return doc | kw


def gate_report(**kw: Any) -> dict[str, Any]:
    """A gate.json document (every field of callgate.gate.model.GateReport) with no check."""

    def side(variant: str) -> dict[str, Any]:
        label = f"{RUN}:{variant}"
        return {"label": label, "origin": "run", "variant": variant, "calls": 3, "run_ids": [RUN]}

    doc = {
        "schema_version": 1,
        "decision": "PROMOTE",
        "policy": "default.yaml",
        "policy_sha256": "0" * 64,
        "alpha": 0.05,
        "multiplicity": "holm",
        "confidence": 0.95,
        "seed": 0,
        "resamples": 2000,
        "baseline": side("baseline"),
        "candidate": side("candidate"),
        "paired": True,
        "pairing": "paired by scenario, cohort and repeat: 3 pairs",
        "family_size": 0,
        "reasons": [],
        "warnings": [],
        "notes": [],
        "checks": [],
    }
    unknown = set(kw) - set(doc)
    assert not unknown, f"not gate report fields: {unknown}"
    return doc | kw


def gate_doc() -> dict[str, Any]:
    return gate_report(
        decision="BLOCK",
        family_size=3,
        reasons=[
            {
                "kind": "harm",
                "metric": "task_completion",
                "slice": "accent=us",
                "message": f"task_completion worse in accent=us {EVIL}",
            }
        ],
        warnings=["accent=scottish: too few calls to tell"],
        checks=[
            gate_check("task_completion", "all", -0.02),
            gate_check("task_completion", "accent=us", -0.2, status="block", verdict="worse"),
            gate_check(
                "task_completion", "accent=scottish", None, n=3, status="warn", note="too few"
            ),
            gate_check(
                "ttfa_p50_s",
                "all",
                -0.3,
                statistic="p95",
                direction="lower",
                kind="continuous",
                unit="s",
                margin=0.25,
                method="bootstrap-paired",
            ),
        ],
    )


def make_store(root: Path, *, with_audio: bool = True) -> Hand:
    store = Store.open(root)
    blobs = BlobStore(root / "blobs")
    store.ensure_run(
        RUN,
        {"suite": "banking", "grid": "hand", "seed": 0, "variants": ["baseline", "candidate"]},
        planned=6,
    )
    spec = store.set_evaluation(RUN, [{"name": "Hand"}])
    rows = [
        (
            "fb01",
            "freeze",
            "baseline",
            "us-joe",
            "freeze my debit card",
            "freeze my debit card",
            False,
            None,
            "task completed",
            {"tool_calls": [tool(0, "freeze_card", {"card": "debit"}, 6.9)]},
        ),
        (
            "fc01",
            "freeze",
            "candidate",
            "us-joe",
            f"freeze my card {EVIL}",
            f"fees my card {EVIL}",
            True,
            "asr",
            f"misheard {EVIL}",
            {"tool_calls": [tool(0, "freeze_card", {"card": EVIL}, 6.9, ok=False)]},
        ),
        (
            "bb01",
            "balance",
            "baseline",
            "scottish",
            "what is my balance",
            "what is my balance",
            True,
            "policy",
            "policy failed",
            {},
        ),
        (
            "bc01",
            "balance",
            "candidate",
            "scottish",
            "what is my balance",
            "what is my balance",
            True,
            "timing",
            "talked over the caller",
            {"interrupted": True, "events": [event(8.5, "barge_in", 1)]},
        ),
        (
            "tb01",
            "transfer",
            "baseline",
            "us-joe",
            "move fifty dollars",
            "move fifty dollars",
            False,
            None,
            "ok",
            {},
        ),
        (
            "tc01",
            "transfer",
            "candidate",
            "us-joe",
            "move fifty dollars",
            "move fifty dollars",
            False,
            None,
            "ok",
            {},
        ),
    ]
    traces = {}
    for i, (cid, scen, variant, voice, said, heard, failed, cause, reason, kw) in enumerate(rows):
        audio = {}
        if with_audio:
            audio = {
                "caller_audio": blobs.put(_audio(200 + 40 * i)),
                "agent_audio": blobs.put(_audio(500 + 40 * i)),
            }
        trace = _trace(cid, scen, variant, voice, said, heard, **audio, **kw)
        store.put_call(trace)
        store.put_scores(RUN, spec, cid, _scores(trace, failed, cause, reason))
        traces[cid] = trace
    store.mark_finished(RUN)
    store.close()
    return Hand(root, RUN, "fc01", gate_doc(), traces)
