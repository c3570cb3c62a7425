"""The transport a user's pipeline is given: the simulated caller in, the bot's audio out.

Put ``transport.input()`` first and ``transport.output()`` after the TTS, as with any Pipecat
transport. Like a telephony transport it fires ``on_client_connected`` once the pipeline has
started (bots greet there) and ``on_client_disconnected`` when callgate hangs up.
"""

from __future__ import annotations

from pipecat.frames.frames import InputAudioRawFrame, OutputAudioRawFrame, StartFrame
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams


class CallerInput(BaseInputTransport):
    def __init__(self, params: TransportParams) -> None:
        super().__init__(params, name="callgate-caller-in")
        self.started = False

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        self.started = True

    async def feed(self, pcm16: bytes) -> None:
        """One frame of the caller's audio, 16-bit mono at :attr:`sample_rate`."""
        frame = InputAudioRawFrame(audio=pcm16, sample_rate=self.sample_rate, num_channels=1)
        await self.push_audio_frame(frame)


class AgentOutput(BaseOutputTransport):
    """Takes every audio chunk; the chunks reach callgate as the frames this processor pushes
    on after writing them, in order with the frames that end an utterance."""

    def __init__(self, params: TransportParams) -> None:
        super().__init__(params, name="callgate-agent-out")

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        return True


class CallgateTransport(BaseTransport):
    def __init__(self, client: str) -> None:
        super().__init__(name="callgate")
        self.client = client  # what the client events receive: the call id
        # No trailing silence after the goodbye: the line is callgate's to keep open.
        params = TransportParams(
            audio_in_enabled=True, audio_out_enabled=True, audio_out_end_silence_secs=0
        )
        self._input = CallerInput(params)
        self._output = AgentOutput(params)
        self._register_event_handler("on_client_connected")
        self._register_event_handler("on_client_disconnected")

    def input(self) -> CallerInput:
        return self._input

    def output(self) -> AgentOutput:
        return self._output

    async def connect(self) -> None:
        await self._call_event_handler("on_client_connected", self.client)

    async def disconnect(self) -> None:
        await self._call_event_handler("on_client_disconnected", self.client)

    def get_client_id(self, client: object) -> str:
        return str(client)
