"""The ``agent:`` block of a variant whose kind is ``pipecat``: which pipeline, and its settings.

.. code-block:: yaml

    agent:
      kind: pipecat
      pipeline: my_bot.py:create_bot      # or my_package.bot:create_bot
      params: {voice: joe}                # passed to the factory as keyword arguments
      tools: {toolset: my_domain}         # callgate's tool backend for the bot's functions
      stream: {clock: measured}           # see StreamSettings

The factory contract. callgate calls the factory once per simulated call, inside the call's event
loop, as ``factory(transport=..., tools=..., **params)``:

* ``transport`` is a :class:`~callgate.agents.pipecat.transport.CallgateTransport`, a Pipecat
  ``BaseTransport``: put ``transport.input()`` first in the pipeline and ``transport.output()``
  after the TTS. It fires ``on_client_connected`` when the call connects (greet there) and
  ``on_client_disconnected`` when callgate hangs up;
* ``tools`` is the call's tool backend: the bot's registered functions call
  ``tools.call(name, args)`` (a :class:`~callgate.agents.policy.ToolResult` comes back) instead
  of the real service, and ``tools.schemas()`` lists the tools; every call is recorded on the trace.

It returns a ``Pipeline``, a ``(Pipeline, PipelineParams)`` pair, or a ``PipelineWorker`` it built
itself (to set worker options or queue frames from event handlers); it may be ``async``. The bot
ends the call by pushing ``EndWorkerFrame`` upstream, as it would on a real line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callgate.agents.streaming import StreamSettings, ToolsRef
from callgate.plugins import is_reference


class PipecatConfig(BaseModel):
    """``agent: {kind: pipecat, ...}``: a pipeline factory and how callgate streams to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["pipecat"] = "pipecat"
    pipeline: str = Field(description="the factory: package.module:function or file.py:function")
    params: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments for the factory"
    )
    tools: ToolsRef
    stream: StreamSettings = StreamSettings()

    @field_validator("pipeline")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not is_reference(value):
            raise ValueError("must name a factory as package.module:function or file.py:function")
        return value
