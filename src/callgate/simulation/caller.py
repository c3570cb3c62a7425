"""The scripted caller: decides what to say next from the agent's words.

Deterministic rules from the scenario (reactions, scripted turns, persona), so a call is
reproducible and a failure can be replayed. The caller reads the agent's intended words; whether
the agent's audio really said them is TTSAccuracy's job, not the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callgate.scenarios.model import HANGUP, NEXT, REPEAT, SILENT, Caller, Reaction, Utterance


@dataclass(frozen=True)
class Decision:
    kind: Literal["say", "hangup", "silent"]
    utterance: Utterance | None = None
    why: str = ""
    rate: float = 1.0  # multiplies the utterance's rate (frustration)
    gain_db: float = 0.0  # added to the utterance's gain


class ScriptedCaller:
    def __init__(self, caller: Caller, suite_reactions: list[Reaction]) -> None:
        self.caller = caller
        self.reactions = [*caller.reactions, *suite_reactions]
        self.used = [0] * len(self.reactions)
        self.next_turn = 0
        self.closing_said = False
        self.last: Utterance | None = None
        self.repeats = 0
        self.spoken = 0
        self.gone_silent = False

    def decide(self, agent_text: str) -> Decision:
        if self.gone_silent:
            return Decision("silent", why="silent")
        if self.spoken >= self.caller.max_turns:
            return Decision("hangup", why="max_turns")
        text = agent_text.lower()
        for i, reaction in enumerate(self.reactions):
            if self.used[i] >= reaction.max_times:
                continue
            if not any(w.lower() in text for w in reaction.when):
                continue
            self.used[i] += 1
            if reaction.expect and not all(e.lower() in text for e in reaction.expect):
                assert reaction.otherwise is not None  # the model guarantees it
                return self._resolve(reaction.otherwise, "correction")
            return self._resolve(reaction.say, f"reaction:{i}")
        return self._resolve(Utterance(say=NEXT), "script")

    def _resolve(self, utt: Utterance, why: str) -> Decision:
        if utt.say == HANGUP:
            return Decision("hangup", why="hangup")
        if utt.say == SILENT:
            self.gone_silent = True
            return Decision("silent", why="silent")
        if utt.say == REPEAT:
            base = self.last or self.caller.turns[0]
            self.repeats += 1
            frus = self.caller.persona.frustration
            if frus is not None and self.repeats >= frus.after_repeats:
                return self._say(base, "repeat", frus.rate, frus.gain_db)
            return self._say(base, "repeat")
        if utt.say == NEXT:
            if self.next_turn < len(self.caller.turns):
                self.next_turn += 1
                return self._say(self.caller.turns[self.next_turn - 1], "script")
            if not self.closing_said:
                self.closing_said = True
                return self._say(self.caller.closing, "closing")
            return Decision("hangup", why="done")
        return self._say(utt, why)

    def _say(self, utt: Utterance, why: str, rate: float = 1.0, gain_db: float = 0.0) -> Decision:
        if utt.backchannel:
            # Not a turn: it neither counts towards max_turns nor is what "say again" repeats.
            return Decision("say", utt, why, rate, gain_db)
        self.spoken += 1
        if why != "repeat":
            self.last = utt
        return Decision("say", utt, why, rate, gain_db)
