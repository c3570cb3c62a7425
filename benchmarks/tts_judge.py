"""TTSAccuracy's judge: Whisper tiny.en (the agents' model) against Whisper base, on agent audio.

Collects every distinct reply the banking reference agent gives over the banking suite (each
scenario replayed as text against the ``baseline`` variant, its real dialogue policy and tools),
synthesises each with the variant's own voice (piper ``joe``, after its lexicon respellings), and
scores them with TTSAccuracy under three judges:

- ``tiny.en beam 1``: the agent's own ASR as the baseline variant configures it;
- ``tiny.en beam 5``: TTSAccuracy's judge before it became independent;
- ``base beam 5``: the default judge now.

Printed per judge: pooled WER on the clean replies, the replies it got wrong (what it heard), mean
seconds per reply (model already loaded, one thread) and the model load time. Then planted TTS
faults: for each reply that says a number, the audio says the number with one digit swapped
(every position, each to two other digits, seeded) while the trace claims the intended text; a
fault is *caught* when the judge's transcript misses the intended number (TTSAccuracy's entity
check fails) and *missed* when the judge hears the intended number back.

Usage: python benchmarks/tts_judge.py [--faults-per-reply 3] [--seed 7] [--store DIR]
(``--store``: keep the synthesised audio in that store's speech cache, for a faster second run)
"""

from __future__ import annotations

import argparse
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callgate.agents.env import CallEnv
from callgate.evaluators.base import EvalContext
from callgate.evaluators.text import normalize, word_errors
from callgate.evaluators.tts import TTSAccuracy
from callgate.scenarios import load_suite
from callgate.simulation.oracle import replay
from callgate.speech.audio import Audio
from callgate.speech.engines import get_asr, get_tts
from callgate.speech.respell import respell_for_tts
from callgate.traces.model import AgentTurnTrace, AudioRef, CallTrace
from callgate.variants import load_variants

JUDGES = {
    "tiny.en beam 1 (agent's own)": {"model": "tiny.en", "beam_size": 1, "cpu_threads": 1},
    "tiny.en beam 5 (old judge)": {"model": "tiny.en", "beam_size": 5, "cpu_threads": 1},
    "base beam 5 (new judge)": {"model": "base", "beam_size": 5, "cpu_threads": 1},
}
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def agent_replies() -> tuple[list[str], Any, dict[str, str]]:
    """Distinct reply texts of the banking agent over the whole suite, its TTS settings and the
    suite's spellings (TTSAccuracy's normalisation rule)."""
    from callgate.agents.voice import AGENTS
    from callgate.execution.runner import RunRequest, plan

    loaded = load_suite("banking")
    variants = load_variants(["baseline"], loaded)
    variant = variants[0].variant
    seen: dict[str, None] = {}
    done: set[str] = set()
    for job in plan(RunRequest(loaded, variants)).jobs:  # one replay per scenario suffices
        if job.cell.scenario.id in done:
            continue
        done.add(job.cell.scenario.id)
        out = replay(job.cell.scenario, variant, job.initial_state, job.suite_reactions)
        for speaker, text in out.transcript:
            if speaker == "agent" and text.strip():
                seen.setdefault(text)
    config = AGENTS.get(variant.agent.kind).configure(variant.agent.config())
    spellings = loaded.suite.evaluation.rule_values().get("spellings") or {}
    return list(seen), config.tts, dict(spellings)


def trace_of(
    rows: list[tuple[str, Audio]], asr_identity: str
) -> tuple[CallTrace, dict[str, Audio]]:
    """One call whose agent said ``rows`` (claimed text, audio), as a pipeline agent records it."""
    blobs: dict[str, Audio] = {}
    turns = []
    for i, (text, audio) in enumerate(rows):
        sha = audio.content_hash()
        blobs[sha] = audio
        ref = AudioRef(sha256=sha, sample_rate=audio.sample_rate, duration_s=audio.duration)
        turns.append(AgentTurnTrace(index=i, trigger="start", reply_text=text, reply_audio=ref))
    trace = CallTrace(
        call_id="bench",
        run_id="bench",
        suite="banking",
        scenario_id="bench",
        variant="baseline",
        seed=0,
        cohort_id="bench",
        cohort={},
        agent_turns=turns,
        engines={"asr": asr_identity},
    )
    return trace, blobs


def swapped(text: str, rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """Up to ``n`` (number, faulty number, faulty text) with one digit of one number changed."""
    out = []
    for m in _NUMBER.finditer(text):
        number = m.group(0)
        for pos in (i for i, ch in enumerate(number) if ch.isdigit()):
            for new in rng.sample([d for d in "0123456789" if d != number[pos]], 2):
                bad = number[:pos] + new + number[pos + 1 :]
                if bad.lstrip("0,.") and not bad.startswith("0"):
                    out.append((number, bad, text[: m.start()] + bad + text[m.end() :]))
    rng.shuffle(out)
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faults-per-reply", type=int, default=3)
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    replies, spec, spellings = agent_replies()
    tts = get_tts(spec.engine, **spec.params)

    env = CallEnv.at(args.store) if args.store else None

    def say(text: str) -> Audio:  # as the pipeline agent speaks: respelled, stored as 16-bit
        respelled = respell_for_tts(text, spec.lexicon)
        if env is not None:
            return env.cache.synthesize(tts, respelled, spec.voice, spec.rate)[0]
        return tts.synthesize(respelled, spec.voice, spec.rate).quantised()

    clean = [(t, say(t)) for t in replies]
    speech_s = sum(a.duration for _, a in clean)
    print(f"{len(replies)} distinct banking agent replies, {speech_s:.1f} s of piper speech")
    agent_identity = get_asr("whisper", model="tiny.en", beam_size=1).identity()

    rng = random.Random(args.seed)
    faults: list[Fault] = []
    for i, (text, _) in enumerate(clean):
        for number, bad, bad_text in swapped(text, rng, args.faults_per_reply):
            faults.append(Fault(i, text, number, bad, bad_text, say(bad_text)))
    print(f"{len(faults)} planted digit swaps over {len({f.reply for f in faults})} replies")

    summary, heard = [], {}
    for label, params in JUDGES.items():
        row, heard[label] = judge_all(label, params, clean, faults, spellings, agent_identity)
        summary.append(row)
    print("\n| judge | WER | replies with an error | entity accuracy | s per reply | RTF | load s "
          "| swaps shown in the score | swaps flagged by the entity check | swaps heard back as "
          "the claimed text |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in summary:
        print("| " + " | ".join(row) + " |")
    own, _old, base = list(JUDGES)
    print(f"\nClean replies where {own} and {base} hear different words:")
    for i, (text, _) in enumerate(clean):
        a, b = heard[own][i], heard[base][i]
        if normalize(a) != normalize(b):
            print(f"  said  {text!r}\n  own   {a!r}\n  base  {b!r}")


@dataclass(frozen=True)
class Fault:
    reply: int  # index of the clean reply
    text: str  # what the trace claims the agent said
    number: str
    bad: str
    bad_text: str  # what the audio says
    audio: Audio


def judge_all(
    label: str,
    params: dict[str, Any],
    clean: list[tuple[str, Audio]],
    faults: list[Fault],
    spellings: dict[str, str],
    agent_identity: str,
) -> tuple[list[str], list[str]]:
    """One judge over the clean replies and the planted faults: its summary row, and what it heard
    in each clean reply."""
    judge = get_asr("whisper", **params)
    t0 = time.perf_counter()
    judge.load()  # type: ignore[attr-defined]
    load_s = time.perf_counter() - t0
    ev = TTSAccuracy(engine_params=params, spellings=spellings)
    trace, blobs = trace_of(clean, agent_identity)
    t0 = time.perf_counter()
    res = ev.score_call(trace, EvalContext(load_audio=blobs.__getitem__))
    per_reply = (time.perf_counter() - t0) / len(clean)
    speech_s = sum(a.duration for _, a in clean)
    turns = res.turns
    print(f"\n{label}: shares the agent's model: {res.details['judge_shares_agent_model']}")
    for r in turns:
        if r["tts_wer"]:
            print(f"  said  {r['intended']!r}\n  heard {r['heard']!r}")
    shown = flagged = healed = 0
    for f in faults:
        one, one_blobs = trace_of([(f.text, f.audio)], agent_identity)
        got = ev.score_call(one, EvalContext(load_audio=one_blobs.__getitem__))
        heard_f = got.turns[0]["heard"]
        clean_wer = turns[f.reply]["tts_wer"] or 0.0
        entity = got.metrics["tts_entity_accuracy"]
        flagged += entity is not None and entity < 1.0
        shown += (got.metrics["tts_wer"] or 0.0) > clean_wer or (entity is not None and entity < 1)
        # Heard back: the transcript is closer to the claim than to what the voice said.
        to_claim = word_errors(f.text, heard_f).errors
        to_audio = word_errors(f.bad_text, heard_f).errors
        if to_claim < to_audio:
            healed += 1
            print(f"  heard back {f.number} -> {f.bad}: {heard_f!r}")
        elif entity is not None and entity >= 1.0:
            print(f"  entity check missed {f.number} -> {f.bad}: {heard_f!r}")
    n = len(faults)
    row = [
        label,
        f"{res.metrics['tts_wer']:.4f}",
        f"{sum(1 for r in turns if r['tts_wer'])}/{len(turns)}",
        f"{res.metrics['tts_entity_accuracy']:.3f}",
        f"{per_reply:.2f}",
        f"{per_reply * len(clean) / speech_s:.3f}",
        f"{load_s:.2f}",
        f"{shown}/{n}",
        f"{flagged}/{n}",
        f"{healed}/{n}",
    ]
    return row, [str(r["heard"]) for r in turns]


if __name__ == "__main__":
    main()
