"""The ``pipecat`` agent kind: a user's Pipecat pipeline under callgate's streaming driver.

Importing this module does not import Pipecat, so the kind can be listed and its check can say
which extra is missing; the pipeline code loads when a call opens. The factory contract is in
:mod:`callgate.agents.pipecat.config`. A Pipecat bot cannot replay a call as text, so its failed
calls are "not attributable".
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callgate.agents.env import CallEnv
from callgate.agents.pipecat.config import PipecatConfig
from callgate.agents.streaming import StreamingCall, check_tools, load_factory, open_tools
from callgate.agents.voice import AgentCall, AgentKind, CallSetup
from callgate.errors import UsageError
from callgate.speech.engines import package_version
from callgate.traces.recorder import CallRecorder


class PipecatAgent:
    kind = "pipecat"

    def __init__(self, config: PipecatConfig, env: CallEnv) -> None:
        self.config = config
        self.env = env
        self.factory = _factory(config)

    def engines(self) -> dict[str, str]:
        c = self.config
        return {
            "pipeline": f"pipecat {c.pipeline}",
            "params": json.dumps(c.params, sort_keys=True, default=str),
            "tools": f"{c.tools.toolset}/{c.tools.schema_version}",
            "framework": f"pipecat-ai {package_version('pipecat-ai')}",
        }

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall:
        from callgate.agents.pipecat.adapter import PipecatAdapter

        c = self.config
        adapter = PipecatAdapter(
            self.factory,
            dict(c.params),
            call_id=setup.call_id,
            measured=c.stream.clock == "measured",
        )
        backend = open_tools(c.tools, setup)
        call = StreamingCall(adapter, c.stream, backend, recorder, self.env, "pipecat", setup.line)
        adapter.prepare(call)
        return call


def _factory(config: PipecatConfig) -> Callable[..., Any]:
    from callgate.agents.pipecat.logs import quiet_pipecat

    quiet_pipecat()  # before the user's module imports Pipecat: that import logs a banner
    return load_factory(config.pipeline, "pipeline")


def _takes(factory: Callable[..., Any], config: PipecatConfig) -> None:
    """The factory accepts ``transport=``, ``tools=`` and the variant's params."""
    try:
        signature = inspect.signature(factory)
    except ValueError:  # no readable signature (a builtin): the first call will tell
        return
    params = signature.parameters.values()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        named = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
        if not {"transport", "tools"} <= named:
            raise UsageError(
                f"{config.pipeline} must take the keyword arguments transport and tools",
                field="pipeline",
            )
    try:
        signature.bind(transport=None, tools=None, **config.params)
    except TypeError as exc:
        raise UsageError(f"{config.pipeline} does not take these: {exc}", field="params") from None


def check(config: PipecatConfig, models_dir: Path | None) -> None:
    """Pipecat is installed, the factory resolves and takes the params, the tool set builds."""
    if importlib.util.find_spec("pipecat") is None:
        raise UsageError(
            "the pipecat agent kind needs Pipecat: pip install 'callgate[pipecat]'", field="kind"
        )
    _takes(_factory(config), config)
    check_tools(config.tools)


PIPECAT = AgentKind(
    config_model=PipecatConfig,
    create=PipecatAgent,
    check=check,
    description="a Pipecat pipeline from a factory, fed the simulated caller as streamed audio",
    fault_stages=("tool",),  # callgate runs the tool backend of every call
)
