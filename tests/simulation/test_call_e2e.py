"""End-to-end simulated calls with the real speech stack (slow: real TTS and ASR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.store.blobs import BlobStore
from callgate.store.db import Store
from callgate.traces.model import CallTrace
from callgate.variants import load_variants

pytestmark = pytest.mark.slow


def run_calls(
    root: Path,
    scenarios: list[str],
    variants: list[str],
    executor: str = "inline",
    cohort: tuple[str, ...] = (),
    seed: int = 0,
) -> list[CallTrace]:
    suite = load_suite("banking")
    loaded = load_variants(variants, suite)
    p = plan(RunRequest(suite, loaded, scenarios=scenarios, cohort=list(cohort), seed=seed))
    store = Store.open(root)
    outcome = execute(store, p, executor=executor, workers=2)
    assert not outcome.failed, outcome.failed
    return list(store.calls(p.run_id))


def test_barge_in_cuts_agent_audio_within_stop_time(shared_store: Path) -> None:
    traces = run_calls(
        shared_store, ["multi-barge-in-balance-then-freeze"], ["baseline"], cohort=("voice=us-joe",)
    )
    (trace,) = traces
    cut_turns = [t for t in trace.agent_turns if t.interrupted]
    assert cut_turns, "the caller interrupts the balance answer"
    turn = cut_turns[0]
    barge = next(e for e in trace.events if e.kind == "barge_in" and e.turn == turn.index)
    cut = next(e for e in trace.events if e.kind == "agent_cut" and e.turn == turn.index)
    stop_s = 0.150  # baseline.yaml turn.barge_in_stop_ms
    assert cut.t - barge.t == pytest.approx(stop_s, abs=1e-6)
    assert turn.playback_end == pytest.approx(cut.t, abs=1e-6)
    assert turn.reply_audio is not None and turn.first_byte is not None
    # The reply was longer than what was played: it really was cut.
    assert turn.first_byte + turn.reply_audio.duration_s > cut.t + 0.5
    # And the agent track is silent after the cut until the agent's next reply starts.
    agent = BlobStore(shared_store / "blobs").get(trace.agent_audio)  # type: ignore[arg-type]
    nxt = min(t.first_byte for t in trace.agent_turns if t.first_byte and t.first_byte > cut.t)
    a, b = round((cut.t + 0.02) * agent.sample_rate), round(nxt * agent.sample_rate)
    assert b > a and float(np.max(np.abs(agent.samples[a:b]))) < 1e-3
    # The caller's interrupting request was still served.
    assert [c.tool for c in trace.tool_calls] == ["get_balance", "freeze_card"]


def test_same_seed_gives_identical_traces(tmp_path: Path) -> None:
    # Two stores, so nothing is shared through the speech cache; one inline, one in worker
    # processes, so process boundaries cannot hide nondeterminism either.
    ids = ["freeze-debit-simple", "freeze-pause-i-want-to"]
    clean = ("noise=clean",)
    a = run_calls(tmp_path / "a", ids, ["baseline"], executor="inline", cohort=clean)
    b = run_calls(tmp_path / "b", ids, ["baseline"], executor="local", cohort=clean)
    assert len(a) == len(b) == 4
    for ta, tb in zip(a, b, strict=True):
        assert ta.deterministic_view() == tb.deterministic_view()
    assert any(t.measured for t in a)  # compute times are recorded, just not compared
    c = run_calls(tmp_path / "c", ids[:1], ["baseline"], seed=1, cohort=clean)
    assert c[0].seed != a[0].seed
