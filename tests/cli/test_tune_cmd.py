"""`callgate tune` refuses bad input with one line and exit 2, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.store.db import Store
from callgate.store.run_spec import RunSpec
from factories import call

AGENT = {"kind": "pipeline", "policy": {"name": "banking"}, "tools": {"toolset": "banking"}}


def make_store(root: Path, split: str = "dev", agent: dict | None = None) -> str:  # type: ignore[type-arg]
    spec = RunSpec(
        suite="s",
        variants={"baseline": "h"},
        variant_specs={"baseline": {"name": "baseline", "agent": agent or AGENT}},
    )
    store = Store.open(root)
    store.ensure_run("run1", spec, planned=1)
    store.put_call(call(call_id="c1", run_id="run1", variant="baseline", split=split))
    store.close()
    return "run1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-j", "no-such-job"], "--job: unknown tuning job 'no-such-job'"),
        (["-j", "end-of-turn", "-p", "waits_ms=[1]"], "--param: expected JOB.NAME=VALUE"),
        (["-j", "end-of-turn", "-p", "asr-hints.sample=10"], "parameters for job 'asr-hints'"),
        (["-j", "end-of-turn", "-p", "end-of-turn.waits_ms=[1]"], "waits_ms must be between"),
        (["-j", "end-of-turn", "-p", "end-of-turn.nope=1"], "unexpected keyword argument"),
        (["-j", "end-of-turn", "-v", "other"], "has no variant 'other' (it has: baseline)"),
        (["-j", "end-of-turn", "--combine"], "needs at least two jobs to combine"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    make_store(tmp_path / "store")
    out = tmp_path / "tuned"
    code, stdout, stderr = cli("tune", "--store", str(tmp_path / "store"), "--out", str(out), *args)
    assert code == 2, stdout + stderr
    assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr and not out.exists()


def test_a_run_without_dev_calls_cannot_be_tuned(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    make_store(tmp_path / "store", split="holdout")
    code, _, stderr = cli("tune", "--store", str(tmp_path / "store"), "-j", "end-of-turn")
    assert code == 2 and "no dev-split calls of variant 'baseline'" in stderr


def test_a_job_refuses_an_agent_kind_it_cannot_tune(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    make_store(tmp_path / "store", agent={"kind": "websocket", "url": "ws://127.0.0.1:1"})
    code, _, stderr = cli("tune", "--store", str(tmp_path / "store"), "-j", "asr-hints")
    assert code == 2 and "asr-hints tunes the pipeline agent's asr.hints" in stderr


def test_no_store_is_one_line(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, _, stderr = cli("tune", "--store", str(tmp_path / "none"), "-j", "asr-hints")
    assert code == 2 and "no callgate store here" in stderr
    assert not (tmp_path / "none").exists()
