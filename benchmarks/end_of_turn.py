"""End-of-turn options on a continuous noisy line: caller turns cut off against added latency.

Every scripted caller line of a suite (the banking suite by default: its pauses mid-sentence are
the hard cases) is said in a cohort voice on a line with the room's noise over the whole call
(clean, babble 10 dB and babble 5 dB by default, sent down a phone line), and given to exactly the
code the pipeline agent runs to end a turn (:func:`callgate.agents.end_of_turn.listen`), for every
end-of-turn option: each VAD with a silence wait, and with the smart-turn model. It prints, per
noise cohort and option:

* cut-off: the agent ended the turn before the caller's last word (it would answer a half
  sentence), or never heard the words at all (missed);
* false: the agent took the room's noise for a turn before the caller spoke;
* latency: from the caller's last word to the end of turn (median and 90th percentile), for the
  turns not cut off; forced: the share where the VAD kept hearing speech in the noise and the agent
  took the turn only at its ``max_tail_s`` limit.

Usage: python benchmarks/end_of_turn.py [--suite banking] [--voice us-joe --voice scottish]
       [--noise clean --noise babble-10 --noise babble-5] [--channel phone] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.agents.end_of_turn import EndOfTurn, listen
from callgate.agents.env import CallEnv
from callgate.agents.pipeline_config import TurnSpec
from callgate.scenarios import load_suite
from callgate.scenarios.model import Utterance
from callgate.simulation.line import Line
from callgate.simulation.speaker import speak
from callgate.speech.engines import get_vad
from callgate.speech.turn_model import smart_turn

LEAD_IN_S = 3.0  # line before the words: the agent listened to the call before


@dataclass(frozen=True)
class Option:
    label: str
    vad: dict[str, Any]  # engine and its params
    turn: dict[str, Any]


def _smart(**extra: Any) -> dict[str, Any]:
    # Asked after a short pause; a long silence stays the fallback (Pipecat's default is 3 s).
    return {"detector": "smart-turn", "model_wait_ms": 200, "end_of_turn_silence_ms": 2000, **extra}


# A noise floor from a higher percentile of the line's frames sits in the room's noise rather than
# in its quietest moments; with a smaller margin it still hears quiet speech above it, and a
# longer minimum of speech keeps short bursts of the room from opening a turn.
ADAPTED = {"engine": "energy", "floor_percentile": 40.0, "margin_db": 6.0}
ADAPTED_150 = {**ADAPTED, "min_speech_ms": 150.0}
ADAPTED_25 = {"engine": "energy", "floor_percentile": 25.0}
OPTIONS = [
    Option("energy, wait 800 ms", {"engine": "energy"}, {"end_of_turn_silence_ms": 800}),
    Option("energy, wait 500 ms", {"engine": "energy"}, {"end_of_turn_silence_ms": 500}),
    Option("energy p25, wait 800 ms", ADAPTED_25, {"end_of_turn_silence_ms": 800}),
    Option("energy p40 6 dB, wait 800 ms", ADAPTED, {"end_of_turn_silence_ms": 800}),
    Option("energy p40 6 dB 150 ms, wait 800", ADAPTED_150, {"end_of_turn_silence_ms": 800}),
    Option("silero, wait 800 ms", {"engine": "silero"}, {"end_of_turn_silence_ms": 800}),
    Option(
        "silero 0.8, wait 800 ms",
        {"engine": "silero", "threshold": 0.8},
        {"end_of_turn_silence_ms": 800},
    ),
    Option("energy + smart-turn", {"engine": "energy"}, _smart()),
    Option("energy p40 6 dB 150 ms + smart-turn", ADAPTED_150, _smart()),
    Option("silero + smart-turn", {"engine": "silero"}, _smart()),
]


def utterances(suite: Any) -> list[Utterance]:
    """Each distinct scripted caller line, the ones with a pause first."""
    seen: dict[str, Utterance] = {}
    for sc in suite.scenarios:
        for utt in sc.caller.turns:
            if utt.audio is None and utt.interrupt_after_ms is None:
                seen.setdefault(utt.say, utt)
    return sorted(seen.values(), key=lambda u: (u.pause is None, u.say))


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    loaded = load_suite(args.suite)
    suite = loaded.suite
    lines = utterances(suite)[: args.limit]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = CallEnv.at(Path(tmp))
        for voice_name in args.voice:
            voice = suite.voices[voice_name]
            spoken = [speak(env, voice, u, 1.0, 0.0, dict(suite.evaluation.lexicon)) for u in lines]
            for noise_name in args.noise:
                for option in OPTIONS:
                    t0 = time.perf_counter()
                    outcome = [
                        _one(env, suite, voice, noise_name, args.channel, s, u.say, i, option)
                        for i, (s, u) in enumerate(zip(spoken, lines, strict=True))
                    ]
                    rows.append(
                        _row(voice_name, noise_name, option, outcome, time.perf_counter() - t0)
                    )
                    _print(rows[-1])
    return rows


def _one(
    env: CallEnv,
    suite: Any,
    voice: Any,
    noise_name: str,
    channel_name: str,
    spoken: Any,
    words: str,
    index: int,
    option: Option,
) -> dict[str, Any]:
    line = Line(suite.noises[noise_name], suite.channels[channel_name], voice, 1000 + index, env)
    delivered = line.utterance(spoken.audio, LEAD_IN_S, words, 0).audio
    speech_start = LEAD_IN_S + spoken.pieces[0][1]
    speech_end = LEAD_IN_S + spoken.pieces[-1][2]
    turn = TurnSpec(**option.turn)
    model = smart_turn() if turn.detector == "smart-turn" else None
    vad = dict(option.vad)
    detector = EndOfTurn(get_vad(vad.pop("engine"), **vad), turn, model)
    heard = listen(detector, line.background, delivered, LEAD_IN_S, 0.0)
    turns = [(heard.start + t.start, heard.start + t.end, heard.start + t.eot) for t in heard.turns]
    false = any(eot < speech_start for _, _, eot in turns)
    on_words = [t for t in turns if t[2] >= speech_start and t[0] < speech_end]
    if not on_words:
        return {"missed": True, "cut": True, "false": false}
    cut = on_words[0][2] < speech_end - 0.02
    forced = heard.until >= LEAD_IN_S + delivered.duration + turn.max_tail_s - 1e-6
    latency = None if cut else on_words[0][2] - speech_end
    return {"missed": False, "cut": cut, "false": false, "latency": latency, "forced": forced}


def _row(
    voice: str, noise: str, option: Option, outcome: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    n = len(outcome)
    latencies = sorted(o["latency"] for o in outcome if o.get("latency") is not None)

    def share(key: str) -> float:
        return round(sum(bool(o.get(key)) for o in outcome) / n, 4)

    return {
        "voice": voice,
        "noise": noise,
        "option": option.label,
        "turns": n,
        "cut_off": share("cut"),
        "missed": share("missed"),
        "false_turn": share("false"),
        "forced": share("forced"),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p90_s": round(latencies[int(0.9 * (len(latencies) - 1))], 3)
        if latencies
        else None,
        "seconds": round(seconds, 2),
    }


def _print(r: dict[str, Any]) -> None:
    def pct(x: float) -> str:
        return f"{100 * x:5.1f}%"

    lat = (
        f"{r['latency_p50_s']:.2f} / {r['latency_p90_s']:.2f} s"
        if r["latency_p50_s"] is not None
        else "-"
    )
    print(
        f"{r['voice']:<10} {r['noise']:<10} {r['option']:<36} n={r['turns']:<3} "
        f"cut-off {pct(r['cut_off'])} (missed {pct(r['missed'])})  false {pct(r['false_turn'])}"
        f"  latency p50/p90 {lat}  forced {pct(r['forced'])}  [{r['seconds']:.1f} s]",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="banking")
    p.add_argument("--voice", action="append", help="cohort voices (default us-joe, scottish)")
    p.add_argument("--noise", action="append", help="default clean, babble-10, babble-5")
    p.add_argument("--channel", default="phone")
    p.add_argument("--limit", type=int, default=None, help="at most this many caller lines")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args()
    args.voice = args.voice or ["us-joe", "scottish"]
    args.noise = args.noise or ["clean", "babble-10", "babble-5"]
    rows = measure(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
