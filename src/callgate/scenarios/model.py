"""The scenario file format (schema version 1).

A *suite* file defines the cohort dimensions (caller voices, noises, channels), named cohort grids,
tool-state fixtures, default caller reactions and a list of scenarios. Each scenario is a caller
with a goal, scripted utterances and reactions, plus the expected tool path and outcome. The suite
fans each scenario out over a grid (voices x noises x channels) without copying text.

See ``docs/scenarios.md`` for the documented format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from callgate.scenarios.evaluation import EvaluationRules
from callgate.scenarios.faults import NO_FAULT, FaultSpec, check_profiles

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- cohort dimensions


class VoiceSpec(_Strict):
    """A caller voice: which TTS engine and voice speaks, and the tags it gives the cohort."""

    engine: str
    voice: str
    locale: str = "en-US"
    accent: str = "us"
    rate: float = Field(1.0, gt=0.3, le=3.0)


class NoiseSpec(_Strict):
    type: Literal["none", "white", "pink", "babble"] = "none"
    snr_db: float | None = Field(None, ge=-10, le=60)

    @model_validator(mode="after")
    def _snr_needed(self) -> NoiseSpec:
        if self.type != "none" and self.snr_db is None:
            raise ValueError("snr_db is required when type is not 'none'")
        if self.type == "none" and self.snr_db is not None:
            raise ValueError("snr_db makes no sense with type 'none'")
        return self


class TransformRef(_Strict):
    """A channel transform by registered name (or ``module:attr``) and its parameters."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class ChannelSpec(_Strict):
    """How the caller's audio reaches the agent."""

    type: Literal["wideband", "telephony"] = "wideband"
    codec: Literal["pcm", "mulaw"] = "pcm"
    sample_rate: int = Field(16000, ge=8000, le=48000)
    packet_loss: float = Field(0.0, ge=0.0, le=0.5)
    packet_ms: int = Field(20, ge=5, le=100)
    transforms: list[TransformRef] = Field(
        default_factory=list, description="registered channel transforms applied after the line"
    )


class Grid(_Strict):
    """Names of voices, noises and channels to cross. A named grid is a list of these blocks, so a
    grid can be a union of crosses (clean wideband for every voice, plus noise for two of them)."""

    voice: list[str] = Field(min_length=1)
    noise: list[str] = Field(default_factory=lambda: ["clean"], min_length=1)
    channel: list[str] = Field(default_factory=lambda: ["wideband"], min_length=1)
    fault: list[str] = Field(
        default_factory=lambda: [NO_FAULT],
        min_length=1,
        description="provider fault profiles of the suite's `faults`, or none",
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description="only scenarios whose tags match (tag: [values]; call_type, split, ...)",
    )


# --------------------------------------------------------------------------- the caller


class Pause(_Strict):
    """A silence inside an utterance, after the given words (tests end-of-turn settings)."""

    after: str = Field(min_length=1)
    ms: int = Field(ge=50, le=10_000)


class Utterance(_Strict):
    """One thing the caller says, with optional behaviours."""

    say: str = Field(min_length=1)
    pause: Pause | None = None
    interrupt_after_ms: int | None = Field(
        None, ge=0, le=30_000, description="start speaking this long after the agent's reply starts"
    )
    backchannel: bool = Field(
        False,
        description="a short acknowledgement (mm-hm, okay) said over the agent's reply at "
        "interrupt_after_ms: not a turn, so the caller goes on after the reply ends",
    )
    silence_before_s: float = Field(0.0, ge=0.0, le=120.0)
    rate: float = Field(1.0, gt=0.3, le=3.0)
    gain_db: float = Field(0.0, ge=-30.0, le=20.0)
    entities: list[str] = Field(default_factory=list, description="critical words in `say`")
    audio: str | None = Field(
        None,
        description="a recorded file (wav, flac, mp3, ogg; any rate and channels) played instead "
        "of synthesising `say`, which becomes its reference transcript; relative to the suite file",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"say": value} if isinstance(value, str) else value

    @field_validator("audio")
    @classmethod
    def _recording_readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Checked when the suite file is loaded (the loader passes its folder), so a bad file is
        # one error naming its line before any call runs; stored runs keep the absolute path.
        base = (info.context or {}).get("suite_dir")
        if value is None or base is None:
            return value
        path = Path(base, value).resolve()
        return str(path) if _check_recording(path) else value

    @model_validator(mode="after")
    def _pause_inside(self) -> Utterance:
        if self.pause is not None and self.pause.after.lower() not in self.say.lower():
            raise ValueError(f"pause.after {self.pause.after!r} is not part of say")
        if self.audio is not None and (self.pause is not None or self.rate != 1.0):
            # A recording is played as it was made: no synthesised pause, no speed change.
            raise ValueError("a recorded turn (audio) takes neither pause nor rate")
        if self.backchannel and self.interrupt_after_ms is None:
            raise ValueError("a backchannel is said over the agent: give interrupt_after_ms")
        return self


def _check_recording(path: Path) -> bool:
    import soundfile as sf

    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # libsndfile's errors carry no stable type across versions
        reason = str(exc).split(": ", 1)[-1].strip() or exc.__class__.__name__
        raise ValueError(f"cannot read audio file {path.name}: {reason}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"audio file {path.name} holds no audio")
    return True


# Special replies a reaction can give instead of new words.
REPEAT = "$repeat"  # say the last utterance again (frustration may raise rate and loudness)
NEXT = "$next"  # say the next scripted utterance, or `closing` if none is left
HANGUP = "$hangup"  # end the call
SILENT = "$silent"  # say nothing; the agent's no-input timeout decides what happens
SPECIAL_REPLIES = (REPEAT, NEXT, HANGUP, SILENT)


class Reaction(_Strict):
    """When the agent says something matching ``when``, the caller answers with ``say``.

    ``when`` matches if any of its phrases occurs in the agent's words (case-insensitive). If
    ``expect`` is given, all of its phrases must also occur, otherwise the caller answers
    ``otherwise`` instead (that is how a caller corrects a misheard confirmation).
    """

    when: list[str] = Field(min_length=1)
    expect: list[str] = Field(default_factory=list)
    say: Utterance
    otherwise: Utterance | None = None
    max_times: int = Field(3, ge=1, le=20)

    @model_validator(mode="after")
    def _otherwise_needs_expect(self) -> Reaction:
        if self.expect and self.otherwise is None:
            raise ValueError("a reaction with expect needs otherwise")
        if self.say.backchannel or (self.otherwise is not None and self.otherwise.backchannel):
            # After a backchannel the caller answers the same agent words again: the reaction
            # would match them again and acknowledge in a loop.
            raise ValueError("backchannel works only in scripted turns")
        return self


class Frustration(_Strict):
    """After this many repeats the caller speaks faster and louder."""

    after_repeats: int = Field(1, ge=1, le=10)
    rate: float = Field(1.2, gt=0.3, le=3.0)
    gain_db: float = Field(6.0, ge=0.0, le=20.0)


class Persona(_Strict):
    name: str = "calm"
    response_delay_ms: int = Field(350, ge=0, le=10_000)
    response_jitter_ms: int = Field(150, ge=0, le=5_000)
    frustration: Frustration | None = None


class Caller(_Strict):
    goal: str = Field(min_length=1)
    persona: Persona = Persona()
    turns: list[Utterance] = Field(min_length=1)
    reactions: list[Reaction] = Field(default_factory=list)
    closing: Utterance = Utterance(say="no, that's all, thank you")
    max_turns: int = Field(12, ge=1, le=60)

    @model_validator(mode="after")
    def _specials_only_in_reactions(self) -> Caller:
        for i, turn in enumerate([*self.turns, self.closing]):
            if turn.say in SPECIAL_REPLIES:
                where = f"turns[{i}]" if i < len(self.turns) else "closing"
                raise ValueError(f"{where}: {turn.say} works only in reactions")
        if self.closing.backchannel:
            raise ValueError("closing: backchannel works only in scripted turns")
        return self


# --------------------------------------------------------------------------- expectations


class ArgConstraint(_Strict):
    """A constraint on one tool argument. A bare scalar in YAML means ``equals``."""

    equals: Any = None
    approx: float | None = None
    tol: float = Field(0.01, ge=0.0)
    one_of: list[Any] | None = None
    contains: str | None = None
    any: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_scalar(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        return {"equals": value}

    @model_validator(mode="after")
    def _exactly_one(self) -> ArgConstraint:
        given = [
            self.equals is not None,
            self.approx is not None,
            self.one_of is not None,
            self.contains is not None,
            self.any,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of equals, approx, one_of, contains, any")
        return self


class ExpectedToolCall(_Strict):
    tool: str
    args: dict[str, ArgConstraint] = Field(default_factory=dict)


class StatePredicate(_Strict):
    """A predicate on the final tool state, addressed by a dotted path (``cards.debit.status``)."""

    path: str = Field(min_length=1)
    equals: Any = None
    approx: float | None = None
    tol: float = Field(0.01, ge=0.0)
    length: int | None = Field(None, ge=0)
    exists: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StatePredicate:
        given = [
            self.equals is not None,
            self.approx is not None,
            self.length is not None,
            self.exists is not None,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of equals, approx, length, exists")
        return self


class Expectation(_Strict):
    tools: list[ExpectedToolCall] = Field(default_factory=list, description="in order")
    forbidden_tools: list[str] = Field(default_factory=list)
    outcome: list[StatePredicate] = Field(default_factory=list)
    transferred: bool = False
    label: str = Field("resolved", description="expected-outcome cohort tag")
    agent_says: list[str] = Field(
        default_factory=list,
        description="phrases some agent reply must contain (normalised, case-insensitive)",
    )


# --------------------------------------------------------------------------- scenarios and suites


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    call_type: str
    split: Literal["dev", "holdout"] = "dev"
    tags: dict[str, str] = Field(default_factory=dict)
    fixture: str = "default"
    state: dict[str, Any] = Field(default_factory=dict, description="deep-merged over the fixture")
    caller: Caller
    expect: Expectation = Expectation()
    grid: list[Grid] | None = Field(None, description="overrides the suite grid for this scenario")
    critical_entities: list[str] = Field(default_factory=list)

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(tags) & set(RESERVED_TAGS))
        if clash:
            raise ValueError(f"tags may not redefine built-in cohort tags: {', '.join(clash)}")
        return tags


RESERVED_TAGS = (
    "locale",
    "voice",
    "accent",
    "noise",
    "snr_db",
    "channel",
    "fault",
    "call_type",
    "tool_path",
    "outcome",
    "split",
)


def _default_fixtures() -> dict[str, dict[str, Any]]:
    return {"default": {}}


class Suite(_Strict):
    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    voices: dict[str, VoiceSpec] = Field(min_length=1)
    noises: dict[str, NoiseSpec] = Field(default_factory=lambda: {"clean": NoiseSpec()})
    channels: dict[str, ChannelSpec] = Field(default_factory=lambda: {"wideband": ChannelSpec()})
    faults: dict[str, list[FaultSpec]] = Field(
        default_factory=dict, description="provider fault profiles, the grid's `fault` axis"
    )
    grids: dict[str, list[Grid]] = Field(min_length=1)
    fixtures: dict[str, dict[str, Any]] = Field(default_factory=_default_fixtures)
    reactions: list[Reaction] = Field(
        default_factory=list, description="tried after each scenario's own reactions"
    )
    scenarios: list[Scenario] = Field(min_length=1)
    evaluation: EvaluationRules = EvaluationRules()
    variants: dict[str, str] = Field(
        default_factory=dict,
        description="variant files by name, relative to the suite file (`-v baseline`)",
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> Suite:
        check_profiles(self.faults)
        for gname, blocks in self.grids.items():
            for j, grid in enumerate(blocks):
                _check_names(f"grids.{gname}[{j}]", grid, self)
        seen: set[str] = set()
        for i, sc in enumerate(self.scenarios):
            if sc.id in seen:
                raise ValueError(f"scenarios[{i}].id: duplicate id {sc.id!r}")
            seen.add(sc.id)
            if sc.fixture not in self.fixtures:
                raise ValueError(f"scenarios[{i}].fixture: unknown fixture {sc.fixture!r}")
            for j, grid in enumerate(sc.grid or []):
                _check_names(f"scenarios[{i}].grid[{j}]", grid, self)
        return self


def _check_names(where: str, grid: Grid, suite: Suite) -> None:
    for dim, table in (
        ("voice", suite.voices),
        ("noise", suite.noises),
        ("channel", suite.channels),
        ("fault", {NO_FAULT: [], **suite.faults}),
    ):
        for name in getattr(grid, dim):
            if name not in table:
                known = ", ".join(sorted(table))
                raise ValueError(f"{where}.{dim}: unknown {dim} {name!r} (known: {known})")
