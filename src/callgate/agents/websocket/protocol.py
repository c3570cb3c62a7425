"""``callgate-stream/1``: the messages of a call between callgate and a WebSocket agent.

One connection is one call. Binary messages carry audio: 16-bit little-endian mono PCM, caller
audio at 16 kHz, agent audio at the rate the agent announced (16 kHz unless it said otherwise).
Text messages are JSON objects with a ``type``:

callgate -> agent
    start        {call_id, protocol, sample_rate, tools: [{name, description, parameters}], context}
    mark         {seq} after every caller audio frame; the agent echoes it once it has handled the
                 frame and sent everything the frame led to (lock-step, so time stays on the
                 call's clock however fast either side computes)
    tool_result  {id, name, ok, result, error}: answer to the agent's tool_call; it comes after
                 the mark of the frame being handled, which the agent must read past
    end          {} the call is over

agent -> callgate
    audio_format {sample_rate} of the agent's audio that follows
    transcript   {text, confidence?}: what it heard (its ASR)
    turn_end     {} it took the caller's turn as finished
    reply_text   {text}: what it is about to say
    audio_end    {} the end of one reply's audio
    interrupted  {} it stopped talking because the caller spoke
    tool_call    {id, name, args}: callgate runs it on the call's tool backend and answers
    end_call     {transfer?}: the agent ends the call (or hands it to a human)
    mark         {seq}: the echo
    error        {message}: the agent gives up on the call
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL = "callgate-stream/1"


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AudioFormat(_Msg):
    type: Literal["audio_format"]
    sample_rate: int = Field(ge=8000, le=48_000)


class Transcript(_Msg):
    type: Literal["transcript"]
    text: str
    confidence: float | None = Field(None, ge=0.0, le=1.0)


class TurnEnd(_Msg):
    type: Literal["turn_end"]


class ReplyText(_Msg):
    type: Literal["reply_text"]
    text: str


class AudioEnd(_Msg):
    type: Literal["audio_end"]


class Interrupted(_Msg):
    type: Literal["interrupted"]


class ToolCall(_Msg):
    type: Literal["tool_call"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class EndCall(_Msg):
    type: Literal["end_call"]
    transfer: bool = False


class Mark(_Msg):
    type: Literal["mark"]
    seq: int


class Error(_Msg):
    type: Literal["error"]
    message: str = ""


AgentMessage = Annotated[
    AudioFormat
    | Transcript
    | TurnEnd
    | ReplyText
    | AudioEnd
    | Interrupted
    | ToolCall
    | EndCall
    | Mark
    | Error,
    Field(discriminator="type"),
]
AGENT_MESSAGE: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)
