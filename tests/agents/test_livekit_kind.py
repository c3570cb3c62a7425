"""The LiveKit agent kind: its configuration and checks (fast), the audio-time playout of the
agent's speech (fast, LiveKit only), and a LiveKit AgentSession with an Agent and a
@function_tool answering a banking caller end to end, scored by callgate's evaluators (slow)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from callgate.agents.livekit import kind as kind_module
from callgate.agents.livekit.config import LiveKitConfig, session_options
from callgate.agents.livekit.kind import LIVEKIT
from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.speech.audio import Audio

BOT = Path(__file__).with_name("livekit_bot.py")
TOOLS = {"toolset": "banking", "schema_version": "banking-v1"}


@pytest.fixture
def livekit_kind() -> Iterator[None]:
    """The kind under its name, until pyproject.toml declares its entry point."""
    offered = "livekit" in AGENTS.names()
    if not offered:
        AGENTS.register("livekit")(LIVEKIT)
    yield
    if not offered:
        AGENTS.unregister("livekit")


def config(**block: Any) -> LiveKitConfig:
    config: LiveKitConfig = LIVEKIT.configure({"kind": "livekit", "tools": TOOLS, **block})
    return config


# -- configuration and checks (no models) ---------------------------------------------------------


def test_the_block_is_strict_and_declares_no_text_replay() -> None:
    assert LIVEKIT.text_session is None  # its calls are "not attributable"
    c = config(agent=f"{BOT}:build", params={"voice": "joe"})
    assert c.params == {"voice": "joe"} and c.stream.frame_ms == 20 and c.prices is None
    with pytest.raises(ValidationError, match="agentt"):
        config(agentt=f"{BOT}:build")
    with pytest.raises(ValidationError, match="agent"):
        config()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_module_anywhere:build", "failed to load: ModuleNotFoundError"),
        (f"{BOT}:no_such_factory", "failed to load: AttributeError"),
        (f"{BOT}:POLICY", "is a dict, not a function"),
        ("build", "not a plugin reference"),
    ],
)
def test_a_factory_that_does_not_resolve_names_the_agent_field(ref: str, message: str) -> None:
    pytest.importorskip("livekit.agents")  # the bot module imports LiveKit
    with pytest.raises(UsageError, match=message) as err:
        LIVEKIT.check(config(agent=ref), None)  # type: ignore[misc]
    assert err.value.field == "agent"


def test_without_livekit_the_check_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_module, "_has", lambda module: False)
    with pytest.raises(UsageError, match=r"callgate\[livekit\]") as err:
        LIVEKIT.check(config(agent=f"{BOT}:build"), None)  # type: ignore[misc]
    assert err.value.field == "kind"


def test_an_unknown_tool_set_names_its_field() -> None:
    pytest.importorskip("livekit.agents")
    c = LIVEKIT.configure({"kind": "livekit", "agent": f"{BOT}:build", "tools": {"toolset": "x"}})
    with pytest.raises(UsageError, match="unknown tool set 'x'") as err:
        LIVEKIT.check(c, None)  # type: ignore[misc]
    assert err.value.field == "tools.toolset"


def test_wall_clock_waits_are_off_and_the_factorys_choices_kept() -> None:

    given = {
        "vad": "my-vad",
        "max_tool_steps": 5,
        "turn_detection": "stt",
        "min_interruption_duration": 0.3,
        "min_endpointing_delay": 0.8,
        "user_away_timeout": 15.0,
        "turn_handling": {"endpointing": {"min_delay": 1.0}, "interruption": {"min_words": 2}},
    }
    out = session_options(given)
    assert out["vad"] == "my-vad" and out["max_tool_steps"] == 5
    assert "min_endpointing_delay" not in out and "turn_detection" not in out
    assert out["user_away_timeout"] is None and out["aec_warmup_duration"] is None
    assert out["session_close_transcript_timeout"] == 0.0
    handling = out["turn_handling"]
    assert handling["turn_detection"] == "stt"
    assert handling["endpointing"]["min_delay"] == 0.0 == handling["endpointing"]["max_delay"]
    interruption = handling["interruption"]
    assert interruption["mode"] == "vad" and interruption["min_words"] == 2
    assert (
        interruption["min_duration"] == 0.3 and interruption["false_interruption_timeout"] is None
    )
    assert handling["preemptive_generation"] == {"enabled": False}
    assert session_options({})["turn_handling"]["turn_detection"] == "vad"


# -- the agent's audio plays in audio time (LiveKit, no models) -----------------------------------


class _Owner:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lead = 0.0

    def agent_audio(self, audio: Audio, first: bool) -> None:
        self.seen.append(f"audio {audio.duration:.2f}{' first' if first else ''}")

    def audio_ended(self) -> None:
        self.seen.append("end")

    def interrupted(self) -> None:
        self.seen.append("interrupted")

    def computed(self) -> float:
        return self.lead


def test_a_reply_plays_out_as_caller_audio_is_pushed_and_stops_where_it_is_cut() -> None:
    pytest.importorskip("livekit.agents")
    from callgate.agents.livekit.line import AgentSpeaker
    from callgate.agents.livekit.services import to_frame

    owner = _Owner()
    finished: list[tuple[float, bool]] = []

    def on_finished(ev: Any) -> None:
        finished.append((ev.playback_position, ev.interrupted))

    async def play() -> None:
        speaker = AgentSpeaker(owner)  # type: ignore[arg-type]
        speaker.on("playback_finished", on_finished)
        owner.lead = 0.2  # the agent computed 0.2 s in the frame that made the reply
        for _ in range(2):
            await speaker.capture_frame(to_frame(Audio.silence(0.25)))
        speaker.flush()
        speaker.advance(0.3)
        speaker.advance(0.3)
        assert finished == []  # 0.4 s of a 0.5 s reply has played
        speaker.advance(0.1)
        assert finished == [(0.5, False)]
        owner.lead = 0.0
        await speaker.capture_frame(to_frame(Audio.silence(1.0)))
        speaker.advance(0.4)
        speaker.clear_buffer()  # the caller talked over it, before all of it was captured
        await speaker.capture_frame(to_frame(Audio.silence(1.0)))  # never played
        speaker.flush()
        assert finished[1] == (pytest.approx(0.4), True)

    asyncio.run(play())
    assert owner.seen == [
        "audio 0.25 first",
        "audio 0.25",
        "end",
        "audio 1.00 first",
        "interrupted",
    ]


# -- failures of the agent under test fail the call (LiveKit, no models) ---------------------------


class _Link:
    """The driver's side, recording what the adapter reports."""

    tools: Any = None

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self.seen.append(name)


def _boom(call: Any) -> Any:
    raise RuntimeError("no agent today")


def _not_an_agent(call: Any) -> Any:
    return "hello"


def _spinning(call: Any) -> Any:
    from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, Agent, llm

    class Spin(llm.LLM):
        def chat(self, *, chat_ctx: Any, tools: Any = None, **_: Any) -> llm.LLMStream:
            return Spinning(
                self, chat_ctx=chat_ctx, tools=[], conn_options=DEFAULT_API_CONNECT_OPTIONS
            )

    class Spinning(llm.LLMStream):
        async def _run(self) -> None:
            while True:  # never answers, never waits: a hung agent
                await asyncio.sleep(0)

    class Greeter(Agent):
        async def on_enter(self) -> None:
            self.session.generate_reply()

    return Greeter(instructions="greet"), {"llm": Spin(), "vad": None}


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        (_boom, "bot raised RuntimeError: no agent today"),
        (_not_an_agent, "bot returned str: expected an Agent or"),
        (_spinning, r"still busy 0.5 s \(wall\) after starting the session \(agent thinking"),
    ],
)
def test_an_agent_that_fails_or_hangs_fails_the_call_naming_why(
    tmp_path: Path, factory: Any, reason: str
) -> None:
    pytest.importorskip("livekit.agents")
    from callgate.agents.env import CallEnv
    from callgate.agents.livekit.adapter import LiveKitAdapter
    from callgate.agents.voice import AgentFailure

    adapter = LiveKitAdapter(factory, {}, CallEnv.at(tmp_path), "bot", timeout_s=0.5)
    adapter.prepare(tools=None)  # type: ignore[arg-type]
    link = _Link()
    with pytest.raises(AgentFailure, match=reason):
        adapter.open(link)
    adapter.close()
    assert link.seen == []


# -- end to end (slow: real VAD, ASR and TTS) -----------------------------------------------------

VARIANT = """\
schema_version: 2
name: livekit-bot
agent:
  kind: livekit
  agent: {bot}:build
  params: {{voice: joe, asr_model: tiny.en}}
  tools: {{toolset: banking, schema_version: banking-v1}}
  prices: {{llm_input_per_million: 2.5, llm_output_per_million: 10.0}}
"""


@pytest.mark.slow
def test_a_livekit_session_answers_banking_callers_end_to_end(
    tmp_path: Path, shared_store: Path, livekit_kind: None
) -> None:
    pytest.importorskip("livekit.plugins.silero")
    from callgate.evaluators.suite import evaluation_spec
    from callgate.evaluators.timing import ttfa_per_turn
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.execution.scoring import score_run
    from callgate.scenarios import load_suite
    from callgate.store.db import Store
    from callgate.variants import load_variants

    variant = tmp_path / "livekit.yaml"
    variant.write_text(VARIANT.format(bot=BOT), encoding="utf-8")
    suite = load_suite("banking")
    variants = load_variants([str(variant)], suite)
    ids = ["freeze-debit-simple", "freeze-barge-in-confirmation"]
    p = plan(RunRequest(suite, variants, scenarios=ids, cohort=["voice=us-joe", "noise=clean"]))
    store = Store.open(shared_store)
    started = time.perf_counter()
    outcome = execute(store, p, executor="inline")
    wall = time.perf_counter() - started
    assert not outcome.failed, outcome.failed
    traces = {t.scenario_id: t for t in store.calls(p.run_id)}
    trace = traces["freeze-debit-simple"]
    assert trace.error is None and trace.ended_by == "agent_hangup"
    assert trace.engines["agent"] == f"livekit {BOT}:build"

    # What the caller said, as the session's STT heard it, on the turns that answer it.
    heard = [t.asr.text.lower() for t in trace.agent_turns if t.asr is not None]
    assert "freeze" in heard[0] and "debit" in heard[0] and "yes" in heard[1]
    # LiveKit ran the @function_tool, which reached callgate's tool backend.
    (tool,) = trace.tool_calls
    assert (tool.tool, tool.args, tool.ok) == ("freeze_card", {"card": "debit"}, True)
    assert trace.final_state["cards"]["debit"]["status"] == "frozen"
    answer = trace.agent_turns[tool.turn]
    assert answer.tool_calls == [tool.index] and "frozen" in answer.reply_text
    assert answer.heard_end is not None and answer.end_of_turn is not None
    assert answer.first_audible is not None and answer.playback_end is not None
    assert answer.heard_end < answer.end_of_turn <= tool.start <= answer.first_audible
    greeting = trace.agent_turns[0]
    assert greeting.trigger == "start" and greeting.first_byte is not None
    assert greeting.first_byte < 1.5  # the agent was built before the call connected
    ttfa = dict(ttfa_per_turn(trace))
    assert ttfa and all(0.0 < s < 4.0 for s in ttfa.values()), ttfa
    tokens = {c.kind: c.quantity for c in trace.cost}
    assert tokens["llm_input"] > 0 and tokens["llm_output"] > 0 and trace.cost_total > 0

    # The caller says yes over the confirmation: LiveKit stops the agent, which is cut there.
    barged = traces["freeze-barge-in-confirmation"]
    (cut,) = [t for t in barged.agent_turns if t.interrupted]
    onset = next(u.start for u in barged.caller_turns if u.interrupting)
    assert cut.playback_end is not None and onset < cut.playback_end < onset + 1.5
    assert [c.tool for c in barged.tool_calls] == ["freeze_card"]

    spec = evaluation_spec(suite.suite.evaluation)
    assert not score_run(store, p.run_id, spec, executor="inline").failed
    scores = store.scores(p.run_id)
    metrics = scores[trace.call_id].metrics
    assert metrics["task_completion"] == 1.0
    assert metrics["tool_selection_accuracy"] == 1.0 and metrics["unsafe_tool_calls"] == 0.0
    assert metrics["asr_accuracy"] is not None and metrics["asr_accuracy"] > 0.7
    assert 0.0 < (metrics["ttfa_p50_s"] or 0.0) < 4.0
    assert metrics["cost_per_call"] == trace.cost_total
    assert scores[barged.call_id].metrics["task_completion"] == 1.0
    seconds = sum(t.duration_s for t in traces.values())
    print(f"\nLiveKit calls: {seconds:.1f} s of audio in {wall:.1f} s wall; TTFA {ttfa}")


@pytest.mark.slow
def test_under_the_audio_clock_a_livekit_call_reproduces_exactly(
    tmp_path: Path, livekit_kind: None
) -> None:
    pytest.importorskip("livekit.plugins.silero")
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.scenarios import load_suite
    from callgate.store.db import Store
    from callgate.variants import load_variants

    variant = tmp_path / "livekit.yaml"
    text = VARIANT.format(bot=BOT) + "  stream: {clock: audio}\n"
    variant.write_text(text, encoding="utf-8")
    suite = load_suite("banking")
    variants = load_variants([str(variant)], suite)
    ids, cohort = ["freeze-barge-in-confirmation"], ["voice=us-joe", "noise=clean"]
    views = []
    for store_dir in ("a", "b"):  # nothing shared through a speech cache
        p = plan(RunRequest(suite, variants, scenarios=ids, cohort=cohort))
        store = Store.open(tmp_path / store_dir)
        assert not execute(store, p, executor="inline").failed
        (trace,) = store.calls(p.run_id)
        views.append(trace.deterministic_view())
    assert views[0] == views[1]
