"""The websocket agent kind: a reference agent in its own process runs banking calls end to end;
a disconnect mid-call is a stored failed call; every protocol breach is one named failure."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from callgate.agents.env import CallEnv
from callgate.agents.voice import AgentFailure, AgentUnavailable, CallSetup
from callgate.agents.websocket.config import WebSocketConfig
from callgate.agents.websocket.kind import WEBSOCKET, WebSocketAgent
from callgate.errors import UsageError
from callgate.speech.audio import Audio
from callgate.traces.recorder import CallRecorder
from support.banking_run import run_scored

AGENT = Path(__file__).with_name("ws_reference_agent.py")
FREEZE = "freeze-debit-simple"


@contextmanager
def reference_agent(tmp_path: Path, *extra: str) -> Iterator[str]:
    """Start the reference agent as its own process; stop it by its process id."""
    port_file, log = tmp_path / f"port{len(extra)}", tmp_path / f"agent{len(extra)}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, str(AGENT), "--port-file", str(port_file), *extra],
            stdout=sink,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the reference agent did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port_file.read_text()}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def variant_file(tmp_path: Path, url: str, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"schema_version: 2\nname: {name}\nagent:\n  kind: websocket\n  url: {url}\n"
        "  tools: {toolset: banking, schema_version: banking-v1}\n",
        encoding="utf-8",
    )
    return path


def run_banking(tmp_path: Path, variant: Path) -> tuple[Any, Any]:
    evaluators = ["ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing"]
    ((trace, scores),) = run_scored(tmp_path / "store", variant, [FREEZE], evaluators)
    return trace, scores


@pytest.mark.slow
def test_a_websocket_agent_in_its_own_process_runs_a_banking_call(tmp_path: Path) -> None:
    with reference_agent(tmp_path) as url:
        trace, scores = run_banking(tmp_path, variant_file(tmp_path, url, "ws"))
    assert trace.error is None and trace.ended_by == "agent_hangup"
    greeting = trace.agent_turns[0]
    # clock: measured, so the greeting comes when the agent's compute lets it: not at 0.
    assert greeting.trigger == "start" and 0.0 <= (greeting.first_byte or -1) < 5.0
    heard = [t for t in trace.agent_turns if t.asr is not None]
    assert heard and "freeze" in heard[0].asr.text.lower()  # type: ignore[union-attr]
    assert heard[0].reference_text == "I need to freeze my debit card please."
    assert [(c.tool, c.args) for c in trace.tool_calls] == [("freeze_card", {"card": "debit"})]
    request = heard[0]
    assert request.first_audible is not None and request.heard_end is not None
    ttfa = request.first_audible - request.heard_end
    assert 0.6 <= ttfa < 5.0  # at least the agent's own 600 ms end-of-turn wait
    assert scores.metrics["task_completion"] == 1.0
    assert scores.metrics["asr_wer"] is not None
    assert trace.final_state["cards"]["debit"]["status"] == "frozen"


@pytest.mark.slow
def test_a_disconnect_mid_call_is_a_stored_failed_call(tmp_path: Path) -> None:
    with reference_agent(tmp_path, "--drop-after", "100") as url:
        trace, scores = run_banking(tmp_path, variant_file(tmp_path, url, "ws-drop"))
    assert trace.ended_by == "error"
    assert trace.error == (
        "the agent closed the connection mid-call (code 1011: reference agent dropped the call)"
    )
    assert any(e.kind == "agent_error" for e in trace.events)
    # What the agent said and did before it dropped stays in the call, each under its turn.
    assert {c.turn for c in trace.tool_calls} <= {t.index for t in trace.agent_turns}
    assert {e.turn for e in trace.events if e.kind == "agent_first_byte"} <= {
        t.index for t in trace.agent_turns
    }
    assert scores.metrics["task_completion"] == 0.0
    assert scores.attribution is not None and scores.attribution.cause == "agent"


# -- protocol breaches, against a scripted server in this process ------------------------------


@contextmanager
def scripted(on_message: Callable[[Any, Any], None]) -> Iterator[str]:
    from websockets.sync.server import serve

    def handler(ws: Any) -> None:
        for message in ws:
            on_message(ws, message)

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()


def echo_marks(ws: Any, message: Any) -> None:
    if isinstance(message, str) and json.loads(message)["type"] == "mark":
        ws.send(message)


def open_call(tmp_path: Path, url: str, **extra: Any) -> Any:
    config = WebSocketConfig(url=url, tools={"toolset": "banking"}, **extra)  # type: ignore[arg-type]
    agent = WebSocketAgent(config, CallEnv.at(tmp_path))
    return agent.open_call(CallSetup("c1", 1, {}), CallRecorder())


def test_an_agent_that_keeps_to_the_protocol_hears_the_call(tmp_path: Path) -> None:
    with scripted(echo_marks) as url:
        call = open_call(tmp_path, url, stream={"greeting_wait_s": 0.1, "reply_timeout_s": 0.2})
        assert call.start(0.0) == []
        assert call.hear(Audio.silence(0.1), 0.2) == []
        assert call.finish()["cards"]["debit"]["status"] == "active"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"type": "dance"}', "malformed message from the agent"),
        ('{"type": "tool_call", "name": "freeze_card"}', r"malformed message .*id: Field required"),
        ('{"type": "mark", "seq": 99}', "mark 99 came back while waiting for 1"),
        ('{"type": "error", "message": "LLM quota exceeded"}', "gave up: LLM quota exceeded"),
        (b"\x00", "not 16-bit PCM"),
    ],
)
def test_a_protocol_breach_fails_the_call_naming_it(
    tmp_path: Path, answer: str | bytes, reason: str
) -> None:
    def breach(ws: Any, message: Any) -> None:
        if isinstance(message, str) and json.loads(message)["type"] == "mark":
            ws.send(answer)
            ws.send(message)

    with scripted(breach) as url:
        call = open_call(tmp_path, url)
        with pytest.raises(AgentFailure, match=reason):
            call.start(0.0)
        call.finish()


def test_an_agent_that_stops_answering_fails_the_call(tmp_path: Path) -> None:
    with scripted(lambda ws, message: None) as url:
        call = open_call(tmp_path, url, response_timeout_s=0.3)
        with pytest.raises(AgentFailure, match=r"no answer to frame 1 within 0\.3 s"):
            call.start(0.0)
        call.finish()


def test_nothing_listening_leaves_the_call_for_a_rerun(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    call = open_call(tmp_path, f"ws://127.0.0.1:{port}")
    with pytest.raises(AgentUnavailable):
        call.start(0.0)


def test_the_kind_checks_its_configuration() -> None:
    assert WEBSOCKET.check is not None
    config = WEBSOCKET.configure(
        {"kind": "websocket", "url": "ws://x", "tools": {"toolset": "nope"}}
    )
    with pytest.raises(UsageError) as err:
        WEBSOCKET.check(config, None)
    assert err.value.field == "tools.toolset"


@pytest.mark.slow
def test_an_unreachable_agent_leaves_its_calls_for_a_rerun(tmp_path: Path) -> None:
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.scenarios import load_suite
    from callgate.store.db import Store
    from callgate.variants import load_variants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{s.getsockname()[1]}"
    suite = load_suite("banking")
    variants = load_variants([str(variant_file(tmp_path, url, "gone"))], suite)
    p = plan(RunRequest(suite, variants, scenarios=[FREEZE], cohort=["voice=us-joe"]))
    store = Store.open(tmp_path / "store")
    outcome = execute(store, p, executor="inline")
    assert len(outcome.failed) == len(p.jobs) > 0 and not store.stored_call_ids(p.run_id)
    reason = next(iter(outcome.failed.values()))
    assert reason.startswith(f"agent unreachable: nothing listens at {url}") and "\n" not in reason
