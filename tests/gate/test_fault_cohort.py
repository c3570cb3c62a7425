"""Acceptance (slow: real speech): with 20% of ASR requests timing out, the banking agent with a
fallback ASR completes more calls than the same agent without one, and the gate shows the
difference in the fault cohort and none in the cohort without faults.

Measured (seed 0, 5 scenarios x 4 repeats per cohort, 2026-12): in ``fault=asr-timeout-20`` the
agent without a fallback completes 15 of 20 calls (5 transferred after two unheard turns in a row),
the one with a fallback 20 of 20; in ``fault=none`` both complete 20 of 20 with identical calls.
Seeds 0, 1 and 2 at 6 repeats gave differences of 5, 5 and 7 calls out of 30 (docs/variants.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

pytestmark = pytest.mark.slow

BANKING = Path(__file__).resolve().parents[2] / "plugins/banking/src/callgate_banking/suite"
# Multi-turn requests: each call makes 4 to 8 ASR requests, so two faults in a row (which the
# policy answers with a hand-off) happen often enough to show in 20 calls.
IDS = [
    "multi-freeze-then-pin",
    "pin-slot-card",
    "transfer-slot-amount",
    "freeze-slot-card",
    "multi-balance-then-transfer",
]
REPEATS = 4
FAULT = "asr-timeout-20"

POLICY = """\
schema_version: 2
description: Task completion and hand-offs per fault cohort.
cohorts: {by: [fault], min_calls: 20}
metrics:
  task_completion: {non_inferiority_margin: 0.10}
  transferred: {non_inferiority_margin: 0.10}
"""


def fault_suite(folder: Path) -> Path:
    """The banking suite on a clean phone line, with a fault axis: none, and 20% ASR timeouts."""
    doc = yaml.safe_load((BANKING / "suite.yaml").read_text(encoding="utf-8"))
    doc.update(
        name="banking-faults",
        scenario_files=[str(BANKING / "scenarios.yaml")],
        variants={},
        faults={FAULT: [{"stage": "asr", "kind": "timeout", "share": 0.2, "after_s": 3.0}]},
        grids={
            "default": [
                {
                    "voice": ["us-joe"],
                    "channel": ["phone"],
                    "noise": ["clean"],
                    "fault": ["none", FAULT],
                }
            ]
        },
    )
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def variant(folder: Path, name: str, **asr: Any) -> Path:
    doc = yaml.safe_load((BANKING / "variants/baseline.yaml").read_text(encoding="utf-8"))
    doc["name"] = name
    doc["agent"]["asr"].update(asr)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_fallback_asr_saves_calls_in_the_fault_cohort_only(
    shared_store: Path, tmp_path: Path, cli: Any
) -> None:
    plain = variant(tmp_path, "no-fallback")
    # Give up on the primary after 2 s and send the same audio to whisper with another decoding.
    fallback = {"engine": "whisper", "params": {"model": "tiny.en", "beam_size": 2}}
    rescued = variant(tmp_path, "fallback", timeout_s=2.0, fallback=fallback)
    suite = load_suite(str(fault_suite(tmp_path)))
    p = plan(
        RunRequest(
            suite, load_variants([str(plain), str(rescued)], suite), scenarios=IDS, repeats=REPEATS
        )
    )
    store = Store.open(shared_store)
    assert not execute(store, p, executor="local", workers=2).failed
    evaluators = [{"name": n} for n in ("TaskCompletion", "ConversationSignals")]
    assert not score_run(store, p.run_id, evaluators, executor="local", workers=2).failed

    calls = list(store.calls(p.run_id))
    scores = store.scores(p.run_id)
    done: dict[tuple[str, str], int] = {}
    for c in calls:
        key = (c.cohort["fault"], c.variant)
        done[key] = done.get(key, 0) + int(scores[c.call_id].metrics["task_completion"] or 0)
    n = len(IDS) * REPEATS
    assert len(calls) == 4 * n
    # The fallback saves calls only where there are faults ...
    assert done[(FAULT, "fallback")] - done[(FAULT, "no-fallback")] >= 3, done
    assert done[("none", "fallback")] == done[("none", "no-fallback")], done
    # ... and, without faults, the two agents make exactly the same calls.
    by = {(c.scenario_id, c.repeat, c.cohort["fault"], c.variant): c for c in calls}
    for scenario, repeat in {(c.scenario_id, c.repeat) for c in calls}:
        one, other = (by[(scenario, repeat, "none", v)] for v in ("no-fallback", "fallback"))
        assert [t.reply_text for t in one.agent_turns] == [t.reply_text for t in other.agent_turns]
        assert [(e.kind, e.t) for e in one.events] == [(e.kind, e.t) for e in other.events]
    # Faults were met, where they belong, and the fallback answered some of them.
    faulted = [c for c in calls if any(e.kind == "provider_fault" for e in c.events)]
    assert faulted and all(c.cohort["fault"] == FAULT for c in faulted)
    assert any(
        t.asr is not None and t.asr.engine == "whisper (fallback)" and t.asr.text
        for c in faulted
        if c.variant == "fallback"
        for t in c.agent_turns
    )

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    out = tmp_path / "gate"
    code, stdout, err = cli(
        "gate",
        f"{p.run_id}:no-fallback",
        f"{p.run_id}:fallback",
        "--policy",
        str(policy),
        "--store",
        str(shared_store),
        "--out",
        str(out),
    )
    report = json.loads((out / "gate.json").read_text(encoding="utf-8"))
    assert code in (0, 1, 3) and report["decision"] in stdout, err

    def check(metric: str, slice_: str) -> dict[str, Any]:
        return next(c for c in report["checks"] if c["metric"] == metric and c["slice"] == slice_)

    faulty, clean = (
        check("task_completion", f"fault={FAULT}"),
        check("task_completion", "fault=none"),
    )
    assert faulty["n"] == clean["n"] == n and report["paired"] is True
    assert faulty["delta"] >= 3 / n and faulty["candidate"] > faulty["baseline"]
    assert clean["delta"] == 0 and clean["candidate"] == clean["baseline"]
    assert check("transferred", f"fault={FAULT}")["delta"] < 0  # fewer hand-offs with a fallback
    assert check("transferred", "fault=none")["delta"] == 0
    assert f"fault={FAULT}" in (out / "gate.md").read_text(encoding="utf-8")
