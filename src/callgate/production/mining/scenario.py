"""One imported call as a regression scenario: its caller's turns, its cohort, what it did.

The scenario is written for a person to confirm, not trusted as it stands: the expected tools and
outcome are what the call did (its successful tool calls and whether it was handed over), which for
a failed call may be the very mistake. A call whose log carried labels (``expect``) keeps those.

Personal data is redacted under the suite's rules plus the built-in ones, in the caller's words,
the tags and the tool arguments. Audio cannot be redacted, so a turn whose words (or what the ASR
heard of them) hold personal data loses its recording and is synthesised from the redacted text.
A tool argument is judged with its name too ("security_code is 4821" reads "security code is
4821"), because a rule for a secret code or a birth date needs the word beside the number; a
redacted argument is expected present, with any value.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from callgate.production.mining.suite import Dimensions
from callgate.scenarios.model import RESERVED_TAGS, Expectation, Scenario
from callgate.traces.model import AgentTurnTrace, AudioRef, CallerUtteranceTrace, CallTrace
from callgate.training.redact import Hits, Redactor

AUDIO_DIR = "audio"
# Margin kept around a turn cut from the caller track: logged turn bounds are the ASR's word
# timings, which clip the first and last phoneme.
CUT_MARGIN_S = 0.1
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Clip:
    """Where a turn's recording comes from: its own clip, or a span of the caller track."""

    name: str  # file name under audio/
    ref: AudioRef
    span: tuple[float, float] | None = None  # None: the whole blob


@dataclass
class MinedScenario:
    scenario: Scenario
    data: dict[str, Any]  # what is written: the scenario as a person would write it
    call_id: str
    log_call_id: str  # redacted
    release: str
    reason: str  # failed / low_confidence, as the comment says it
    comment: list[str]
    expect_comment: list[str]
    clips: list[Clip]
    hits: Hits = field(default_factory=Hits)
    synthesised: Counter[str] = field(default_factory=Counter)  # why a turn has no recording
    no_reference: int = 0  # turns whose words are the ASR's, not a transcript


def slug(text: str, limit: int = 30) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-") or "call"


def heard_by(trace: CallTrace, turn: CallerUtteranceTrace) -> AgentTurnTrace | None:
    """The agent turn that answered this caller turn (its heard span holds the turn)."""
    for agent in trace.agent_turns:
        if agent.heard_start is None or agent.heard_end is None:
            continue
        if agent.heard_start <= turn.start and turn.end <= agent.heard_end:
            return agent
    return None


def lowest_confidence(trace: CallTrace) -> float | None:
    """The lowest ASR confidence any caller turn got (each agent turn logs its heard turns')."""
    known = [a.asr.confidence for a in trace.agent_turns if a.asr and a.asr.confidence is not None]
    return min(known) if known else None


def mine_call(
    trace: CallTrace,
    reason: str,
    *,
    redactor: Redactor,
    dims: Dimensions,
    split: str,
    fixture: str = "default",
) -> MinedScenario | None:
    """The scenario for ``trace``; None when the caller said nothing, or the log holds what no
    scenario can (the caller is then left out, and counted)."""
    hits = Hits()
    imported = trace.imported
    log_id = redactor.text(imported.log_call_id if imported else trace.call_id, hits)
    release = redactor.text(trace.variant, hits)
    cohort = {k: redactor.text(v, hits) for k, v in trace.cohort.items()}
    label = trace.scenario_id if imported and trace.scenario_id != imported.log_call_id else None
    call_type = cohort.pop("call_type", None) or redactor.text(label or "mined", hits)
    sid = f"mined-{slug(call_type)}-{trace.call_id[:8]}"

    turns, clips, synthesised, no_reference = _turns(trace, sid, redactor, hits)
    if not turns:
        return None
    expect, labelled = _expectation(trace, redactor, hits)
    placement = dims.place(cohort)
    tags = {k: v for k, v in cohort.items() if k not in RESERVED_TAGS} | placement.tags
    tags |= {
        "mined_from": log_id,
        "mined_release": release,
        "review": "labelled" if labelled else "unconfirmed",
    }
    data: dict[str, Any] = {
        "id": sid,
        "call_type": call_type,
        "split": split,
        "tags": tags,
    }
    if fixture != "default":
        data["fixture"] = fixture
    if trace.initial_state:
        data["state"] = redactor.value(trace.initial_state, hits)
    data["grid"] = [placement.block]
    data["caller"] = {
        "goal": f"Replay production call {log_id} (release {release}) and reach its outcome.",
        "turns": turns,
        "max_turns": min(60, len(turns) + 4),  # room for repeats the agent asks for
    }
    data["expect"] = expect
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError:
        return None  # a log value no scenario can hold: a caller who said only "$hangup"
    what = (
        "the labels its log carried"
        if labelled
        else "what the call did (its successful tool calls, and whether it was transferred)"
    )
    comment = [f"Mined from production call {log_id}, release {release}: {reason}."]
    silent = sum(1 for t in trace.caller_turns if not t.text.strip())
    if silent:
        comment.append(f"{silent} caller turn(s) without words left out.")
    if no_reference:
        comment.append(
            f"{no_reference} turn(s) had no reference transcript: `say` is what the ASR heard, "
            "check the words against the recording."
        )
    expect_comment = [
        f"UNCONFIRMED: the expected tools and outcome are {what}."
        if not labelled
        else f"The expected tools and outcome are {what}.",
    ]
    if not labelled:
        expect_comment.append(
            "A failed call may have done the wrong thing: confirm or fix this block, then set "
            "the tag `review: confirmed`."
        )
    return MinedScenario(
        scenario=scenario,
        data=data,
        call_id=trace.call_id,
        log_call_id=log_id,
        release=release,
        reason=reason,
        comment=comment,
        expect_comment=expect_comment,
        clips=clips,
        hits=hits,
        synthesised=synthesised,
        no_reference=no_reference,
    )


def _turns(
    trace: CallTrace, sid: str, redactor: Redactor, hits: Hits
) -> tuple[list[dict[str, Any] | str], list[Clip], Counter[str], int]:
    turns: list[dict[str, Any] | str] = []
    clips: list[Clip] = []
    synthesised: Counter[str] = Counter()
    no_reference = 0
    for turn in trace.caller_turns:
        said = " ".join(turn.text.split())
        if not said:
            continue  # nothing to say or to score against: a scenario turn needs words
        agent = heard_by(trace, turn)
        heard = agent.asr.text if agent is not None and agent.asr is not None else ""
        if agent is not None and agent.reference_text is None:
            no_reference += 1  # the log gave what the ASR heard, not what was said
        say = redactor.text(said, hits)
        # What the ASR heard may hold a number the reference spells otherwise: either keeps the
        # recording out, since the audio says it.
        private = say != said or bool(redactor.matches(heard))
        clip = None if private else _clip(trace, turn, f"{sid}-{len(turns) + 1}.wav")
        if private:
            synthesised["personal data"] += 1
        elif clip is None:
            synthesised["no recording"] += 1
        if clip is None:
            turns.append(say)
        else:
            clips.append(clip)
            turns.append({"say": say, "audio": f"{AUDIO_DIR}/{clip.name}"})
    return turns, clips, synthesised, no_reference


def _clip(trace: CallTrace, turn: CallerUtteranceTrace, name: str) -> Clip | None:
    if turn.clean_audio is not None:
        return Clip(name, turn.clean_audio)
    track = trace.caller_audio
    if track is None:
        return None
    start = max(0.0, turn.start - CUT_MARGIN_S)
    end = min(track.duration_s, turn.end + CUT_MARGIN_S)
    return Clip(name, track, (start, end)) if end > start else None


def _expectation(trace: CallTrace, redactor: Redactor, hits: Hits) -> tuple[dict[str, Any], bool]:
    """The expect block, and whether it came from the log's labels."""
    if trace.expectation:
        labelled = dict(trace.expectation)
        labelled["tools"] = [
            {**call, "args": _args(call.get("args") or {}, redactor, hits, constraints=True)}
            for call in labelled.get("tools") or []
            if isinstance(call, dict)
        ]
        try:
            expectation = Expectation.model_validate(labelled)
        except ValidationError:
            pass  # labels this format cannot hold: fall back to what the call did
        else:
            return expectation.model_dump(mode="json", exclude_defaults=True), True
    tools = [
        {"tool": c.tool, "args": _args(c.args, redactor, hits)} if c.args else {"tool": c.tool}
        for c in trace.tool_calls
        if c.ok
    ]
    expect: dict[str, Any] = {"tools": tools} if tools else {}
    if trace.transferred:
        expect |= {"transferred": True, "label": "transferred"}
    return expect, False


def _args(
    args: dict[str, Any], redactor: Redactor, hits: Hits, *, constraints: bool = False
) -> dict[str, Any]:
    """Argument constraints from argument values (or, labelled, from constraints); one that held
    personal data is only expected to be present."""
    out: dict[str, Any] = {}
    for name, value in args.items():
        if value is None:
            continue  # `equals: null` cannot be expected
        judged = value
        if constraints and isinstance(value, dict):
            judged = [v for k, v in value.items() if k not in ("tol", "any")]
        if _private(name, judged, redactor, hits):
            out[name] = {"any": True}
        elif isinstance(value, dict | list) and not constraints:
            out[name] = {"equals": value}  # a bare mapping would read as a constraint
        else:
            out[name] = value
    return out


def _private(name: str, value: Any, redactor: Redactor, hits: Hits) -> bool:
    """Whether an argument value holds personal data, on its own or said with its name."""
    if redactor.value(value, hits) != value:
        return True
    if isinstance(value, list):
        return any(_private(name, v, redactor, hits) for v in value)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    lead = f"{name.replace('_', ' ').replace('-', ' ')} is "
    rules = [rule.name for _, end, rule in redactor.matches(f"{lead}{value}") if end > len(lead)]
    hits.add(rules)
    return bool(rules)
