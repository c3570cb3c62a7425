"""A multi-talker babble bed built from real synthesised voices (built once per process)."""

from __future__ import annotations

import numpy as np

from callgate.agents.env import CallEnv
from callgate.simulation.noise import babble_bed
from callgate.speech.audio import Audio
from callgate.speech.engines import get_tts

# Other people talking in the background: unrelated, everyday sentences in several voices.
_TALK = [
    "did you see the game last night it went to extra time",
    "we should pick up some bread and milk on the way home",
    "the meeting moved to three so I will be a little late",
    "can you believe how cold it got this morning",
    "my sister is visiting next week with the kids",
    "I left my umbrella at the office again",
]
_VOICES = ["en-us", "en-gb", "en-us+Annie", "en-gb-x-rp", "en-029", "en-us-nyc"]
_BED_SECONDS = 30.0
_cache: dict[str, Audio] = {}


def babble(env: CallEnv) -> Audio:
    if "bed" not in _cache:
        engine = get_tts("espeak")
        talkers = []
        for i, voice in enumerate(_VOICES):
            text = " ".join(_TALK[i:] + _TALK[:i])
            audio, _ref, _hit = env.cache.synthesize(engine, text, voice, 1.0)
            talkers.append(audio)
        _cache["bed"] = babble_bed(talkers, _BED_SECONDS, np.random.default_rng(20261125))
    return _cache["bed"]
