"""The pipeline agent's end-of-turn decision on a stretch of the line.

The VAD finds speech segments. After each one the agent waits: with ``detector: silence`` a pause
of ``end_of_turn_silence_ms`` ends the turn; with ``detector: smart-turn`` the model is asked after
a short pause (``model_wait_ms``) whether the caller is done, and the silence wait stays as the
fallback. A pause shorter than the decision joins the next segment to the same turn.

On a noisy line the VAD may hear the room as speech and never see the pause: the turn then stays
open and the agent listens on, until ``max_tail_s`` after the caller's clip, where it takes the
turn anyway, as real agents' maximum-turn timers do. ``benchmarks/end_of_turn.py`` measures
cut-offs against its added latency per noise cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

from callgate.agents.pipeline_config import TurnSpec
from callgate.agents.voice import LineAudio
from callgate.speech.audio import Audio, concat
from callgate.speech.protocols import VAD
from callgate.speech.turn_model import WINDOW_S, SmartTurn

LEAD_S = 1.0  # line the agent's VAD hears before the caller's words


@dataclass(frozen=True)
class TurnEnd:
    """One caller turn as the agent took it, in seconds from the stretch's start."""

    start: float  # its first speech
    end: float  # its last speech
    eot: float  # when the agent decided it was over


@dataclass
class EndOfTurn:
    vad: VAD
    spec: TurnSpec
    model: SmartTurn | None = None

    def turns(
        self, audio: Audio, before: float | None = None
    ) -> tuple[list[TurnEnd], tuple[float, float] | None]:
        """The turns decided in ``audio`` whose speech began before ``before`` (default: all),
        and the speech span of a last turn still open at the end of ``audio``, if any."""
        segments = self.vad.speech_segments(audio)
        limit = audio.duration if before is None else before
        decided: list[TurnEnd] = []
        turn_start: float | None = None
        for i, (a, b) in enumerate(segments):
            if turn_start is None:
                if a >= limit:
                    break
                turn_start = a
            pause = segments[i + 1][0] - b if i + 1 < len(segments) else audio.duration - b
            eot = self._decide(audio, b, pause)
            if eot is not None:
                decided.append(TurnEnd(turn_start, b, eot))
                turn_start = None
        if turn_start is None:
            return decided, None
        return decided, (turn_start, segments[-1][1] if segments else audio.duration)

    def _decide(self, audio: Audio, speech_end: float, pause: float) -> float | None:
        wait = self.spec.end_of_turn_silence_ms / 1000.0
        if self.model is not None and self.spec.detector == "smart-turn":
            ask = min(self.spec.model_wait_ms / 1000.0, wait)
            if pause >= ask and self._complete(audio, speech_end + ask):
                return speech_end + ask
        return speech_end + wait if pause >= wait else None

    def _complete(self, audio: Audio, at: float) -> bool:
        assert self.model is not None
        p = self.model.probability(audio.slice(max(0.0, at - WINDOW_S), at))
        return p >= self.spec.model_threshold


@dataclass(frozen=True)
class Heard:
    """What the agent listened to for one stretch of caller speech, and the turns it took."""

    audio: Audio
    start: float  # call time of ``audio``'s first sample
    turns: list[TurnEnd]  # seconds from ``start``
    until: float  # call time up to which the agent has listened


def listen(
    detector: EndOfTurn, line: LineAudio, words: Audio, start: float, heard_until: float
) -> Heard:
    """The caller's ``words`` (delivered from ``start``) with the line around them, as far as the
    agent listens: from a moment before the words (its VAD needs the room's level, and may take
    the room for speech) until its end-of-turn detector decides, or ``max_tail_s`` after them.

    The VAD runs once over the lead, the words and the longest tail: a VAD reads the line as it
    comes, so what it found up to the end of turn does not depend on the line after it. Speech
    it hears only in the tail is not this turn's (a turn opened by the room after the caller
    finished belongs to the line's next stretch)."""
    lead = min(LEAD_S, max(0.0, start - heard_until))
    start -= lead
    words_end = lead + words.duration  # from ``start``
    tail = detector.spec.max_tail_s
    stretch = concat(
        [line(start, start + lead), words, line(start + words_end, start + words_end + tail)]
    )
    decided, open_at = detector.turns(stretch, before=words_end)
    turns = list(decided)
    if open_at is not None:  # the VAD still hears speech: the agent's patience runs out
        turns.append(TurnEnd(open_at[0], open_at[1], stretch.duration))
    end = turns[-1].eot if turns else words_end
    return Heard(stretch.slice(0.0, end), start, turns, start + end)
