"""Fault profiles in a suite: the grid's ``fault`` axis, the ``fault`` cohort tag, one plan per call
shared by every variant, and one-line errors for a bad profile or one an agent kind cannot take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callgate.agents.faults import FaultPlan
from callgate.errors import UsageError
from callgate.execution.runner import RunRequest, plan
from callgate.scenarios import expand, load_suite, parse_filters, select
from callgate.simulation.faults import plan_for
from callgate.variants import load_variants

BANKING = Path(__file__).resolve().parents[2] / "plugins/banking/src/callgate_banking/suite"

SUITE = """\
schema_version: 1
name: faulty
voices:
  a: {engine: espeak, voice: en-us}
faults:
  asr-timeout-20: [{stage: asr, kind: timeout, share: 0.2, after_s: 3.0}]
  tools-flaky:
    - {stage: tool, kind: error, share: 0.1, provider: freeze_card}
    - {stage: tool, kind: slow, share: 0.3, extra_s: 2.0}
grids:
  default:
    - {voice: [a], fault: [none, asr-timeout-20]}
  plain:
    - {voice: [a]}
  tools:
    - {voice: [a], fault: [tools-flaky]}
scenarios:
  - id: one
    call_type: balance
    caller: {goal: know balance, turns: ["what is my balance"]}
"""


def write(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_fault_axis_makes_cohorts_and_every_call_carries_its_tag(tmp_path: Path) -> None:
    suite = load_suite(str(write(tmp_path))).suite
    cells = expand(suite, "default")
    assert [c.cohort_id for c in cells] == [
        "voice=a|noise=clean|channel=wideband",  # no fault: the id (and the seed) of old runs
        "voice=a|noise=clean|channel=wideband|fault=asr-timeout-20",
    ]
    assert [c.tags["fault"] for c in cells] == ["none", "asr-timeout-20"]
    assert cells[0].faults == () and cells[1].faults == tuple(suite.faults["asr-timeout-20"])
    assert [c.tags["fault"] for c in expand(suite, "plain")] == ["none"]
    picked = select(cells, cohort=parse_filters(["fault=asr-timeout-20"]))
    assert [c.fault_name for c in picked] == ["asr-timeout-20"]


def test_baseline_and_candidate_get_the_same_plan_for_the_same_call(tmp_path: Path) -> None:
    suite = load_suite(str(write(tmp_path)))
    variants = load_variants([str(BANKING / "variants/baseline.yaml")], suite)
    variants += load_variants([str(BANKING / "variants/candidate.yaml")], suite)
    jobs = plan(RunRequest(suite, variants, repeats=3)).jobs
    by_call: dict[tuple[str, int], list[FaultPlan | None]] = {}
    for job in jobs:
        by_call.setdefault((job.cell.cohort_id, job.repeat), []).append(
            plan_for(job.cell, job.seed)
        )
    faulty = [plans for (cohort, _), plans in by_call.items() if "fault=" in cohort]
    assert len(faulty) == 3 and all(len(p) == 2 and p[0] == p[1] for p in faulty)
    assert all(p == [None, None] for (c, _), p in by_call.items() if "fault=" not in c)
    first, second = (plans[0] for plans in faulty[:2])
    assert first is not None and second is not None and first.seed != second.seed  # repeats differ


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("share: 0.2,", "share: 1.5,", "faults.asr-timeout-20[0].share: Input should be less"),
        ("kind: timeout", "kind: hang", "faults.asr-timeout-20[0].kind: Input should be"),
        ("stage: asr", "stage: stt", "faults.asr-timeout-20[0].stage: Input should be"),
        ("extra_s: 2.0}", "after_s: 2.0}", "faults.tools-flaky[1]: a slow fault needs extra_s"),
        ("0.1, provider: freeze_card", "0.9", "faults.tools-flaky: shares of tool faults add up"),
        ("fault: [tools-flaky]", "fault: [tools-flakey]", "grids.tools[0].fault: unknown fault"),
        ("  tools-flaky:\n", "  none:\n", "faults.none: 'none' is the profile without faults"),
        ("  tools-flaky:\n", "  tools|flaky:\n", "faults.tools|flaky: a profile name is letters"),
    ],
)
def test_a_bad_fault_profile_is_one_line_naming_the_field(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    assert old in SUITE
    with pytest.raises(UsageError) as info:
        load_suite(str(write(tmp_path, SUITE.replace(old, new))))
    line = info.value.one_line()
    assert needle in line and "\n" not in line and line.startswith(str(tmp_path / "suite.yaml"))


def test_the_cli_refuses_a_bad_profile_with_exit_2(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path, SUITE.replace("share: 0.2,", "share: 0,"))
    store = tmp_path / "store"
    variant = str(BANKING / "variants/baseline.yaml")
    code, _out, err = cli("run", "--suite", str(path), "-v", variant, "--store", str(store))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "faults.asr-timeout-20[0].share: Input should be greater than 0" in err
    assert "Traceback" not in err and not store.exists()


def test_a_fault_the_agent_kind_cannot_take_is_refused_before_the_run(
    tmp_path: Path, cli: Any
) -> None:
    # A websocket agent's ASR runs inside the agent: callgate cannot make it time out.
    ws = tmp_path / "ws.yaml"
    ws.write_text(
        "schema_version: 2\nname: ws\nagent:\n  kind: websocket\n  url: ws://127.0.0.1:9/\n"
        "  tools: {toolset: banking}\n",
        encoding="utf-8",
    )
    store = tmp_path / "store"
    args = ["run", "--suite", str(write(tmp_path)), "-v", str(ws), "--store", str(store)]
    code, _out, err = cli(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "faults.asr-timeout-20[0].stage: variant 'ws' is a websocket agent, which cannot " in err
    assert "take asr faults (it takes: tool)" in err and not store.exists()
    # Tool faults reach it: callgate runs its tool backend. Preflight passes that grid (the run
    # itself then fails to reach the agent, which is not what this test is about).
    from callgate.execution.preflight import check

    suite = load_suite(str(write(tmp_path)))
    variants = load_variants([str(ws)], suite)
    check(suite, variants, plan(RunRequest(suite, variants, grid="tools")))
