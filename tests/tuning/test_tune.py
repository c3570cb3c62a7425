"""`tune`: one candidate per job, an explicit combination, and a record of every call read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callgate.errors import UsageError
from callgate.store.db import Store
from callgate.store.run_spec import RunSpec
from callgate.tuning.jobs import TUNING_JOBS, Proposal, TuneContext
from callgate.tuning.tune import TuneRequest, tune
from callgate.variants.load import load_variant
from factories import call

AGENT = {
    "kind": "pipeline",
    "turn": {"end_of_turn_silence_ms": 800},
    "policy": {"name": "banking", "params": {"training": ["intents"]}},
    "tools": {"toolset": "banking"},
}
SEEN: list[list[str]] = []


class Patching:
    def __init__(self, patch: dict[str, Any] | None = None) -> None:
        self.patch = patch or {}

    def check(self, agent: dict[str, Any]) -> None:
        return None

    def propose(self, ctx: TuneContext) -> Proposal:
        SEEN.append([c.trace.call_id for c in ctx.calls])
        return Proposal(patch=self.patch, rationale=["because"], figures={"n": len(ctx.calls)})


@pytest.fixture(autouse=True)
def jobs() -> Iterator[None]:
    SEEN.clear()
    TUNING_JOBS.register("t-turn")(lambda: Patching({"turn": {"end_of_turn_silence_ms": 600}}))
    TUNING_JOBS.register("t-hints")(lambda: Patching({"asr": {"hints": {"prompt": "freeze"}}}))
    TUNING_JOBS.register("t-turn2")(lambda: Patching({"turn": {"end_of_turn_silence_ms": 500}}))
    TUNING_JOBS.register("t-none")(Patching)
    route = {"when": {"locale": ["en-GB"]}, "asr": {"engine": "whisper"}}
    TUNING_JOBS.register("t-route")(lambda: Patching({"routes": [route]}))
    yield
    for name in ("t-turn", "t-hints", "t-turn2", "t-none", "t-route"):
        TUNING_JOBS.unregister(name)


def store_with_calls(root: Path) -> Store:
    spec = RunSpec(
        suite="s",
        variants={"baseline": "h"},
        variant_specs={"baseline": {"name": "baseline", "agent": AGENT}},
    )
    store = Store.open(root)
    store.ensure_run("run1", spec, planned=4)
    for i, split in enumerate(["dev", "dev", "holdout", "holdout"]):
        store.put_call(
            call(
                call_id=f"c{i}", run_id="run1", variant="baseline", split=split, scenario_id=f"s{i}"
            )
        )
    return store


def request(out: Path, *jobs: str, combine: bool = False) -> TuneRequest:
    return TuneRequest("run1", "baseline", list(jobs), {}, out, combine)


def test_one_candidate_per_job_and_an_explicit_combination(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    records = tune(store, request(tmp_path / "out", "t-turn", "t-hints", combine=True))
    assert [r.kind for r in records] == ["t-turn", "t-hints", "combined"]
    assert SEEN == [["c0", "c1"], ["c0", "c1"]]  # dev calls only, for every job
    turn, hints, both = records
    assert turn.changes == ["turn.end_of_turn_silence_ms"]
    assert both.combines == ["t-turn", "t-hints"]
    assert set(both.changes) == {"turn.end_of_turn_silence_ms", "asr.hints.prompt"}
    combined = load_variant(str(both.candidate)).variant.agent.config()
    assert combined["turn"]["end_of_turn_silence_ms"] == 600
    assert combined["asr"]["hints"]["prompt"] == "freeze"
    alone = load_variant(str(turn.candidate)).variant.agent.config()
    assert alone["asr"]["hints"]["prompt"] == ""  # one change per candidate
    assert (tmp_path / "out/t-turn/tuning.json").is_file()
    assert store.tuned_on(["run1"]) == sorted([(turn.job, 2, 2), (hints.job, 2, 2)])


def test_two_jobs_changing_one_block_field_are_not_combined(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    *alone, both = tune(store, request(tmp_path / "out", "t-turn", "t-turn2", combine=True))
    assert all(r.candidate for r in alone) and both.candidate is None
    assert both.rationale == [
        "not combined: t-turn and t-turn2 both change turn.end_of_turn_silence_ms"
    ]
    assert not (tmp_path / "out/combined/candidate.yaml").exists()


def test_a_job_that_now_proposes_nothing_leaves_no_old_candidate(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    out = tmp_path / "out"
    tune(store, request(out, "t-turn", "t-hints", combine=True))
    assert (out / "t-turn/candidate.yaml").is_file() and (out / "combined/candidate.yaml").is_file()
    TUNING_JOBS.unregister("t-turn")
    TUNING_JOBS.register("t-turn")(Patching)  # the same job, no change this time
    tune(store, request(out, "t-turn", "t-hints", combine=True))
    assert not (out / "t-turn/candidate.yaml").exists()
    assert not (out / "combined").exists() or not any((out / "combined").iterdir())


def test_an_unwritable_out_is_refused_before_any_read(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="--out: cannot write here"):
        tune(store, request(tmp_path / "file" / "out", "t-turn"))
    assert store.tuned_on(["run1"]) == []


def test_a_job_without_a_change_leaves_a_record_and_no_candidate(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    (record,) = tune(store, request(tmp_path / "out", "t-none"))
    assert record.candidate is None and record.rationale == ["because"]
    assert not (tmp_path / "out/t-none/candidate.yaml").exists()
    assert record.calls_read == ["c0", "c1"] and record.split == "dev"


def test_combine_with_fewer_than_two_changes_writes_no_combination(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    store_with_calls(tmp_path / "store").close()
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "tune", "run1", "--store", str(tmp_path / "store"), "--out", str(out),
        "-j", "t-turn", "-j", "t-none", "--combine",
    )  # fmt: skip
    assert code == 0, stdout + stderr
    assert "nothing to combine: 1 job(s) proposed a change" in stdout
    assert (out / "t-turn/candidate.yaml").is_file() and not (out / "combined").exists()


def test_a_combination_says_when_a_route_shadows_another_asr_change(tmp_path: Path) -> None:
    store = store_with_calls(tmp_path / "store")
    *_, both = tune(store, request(tmp_path / "out", "t-hints", "t-route", combine=True))
    assert both.combines == ["t-hints", "t-route"]
    assert any("t-hints's ASR change does not reach calls matching" in r for r in both.rationale)
