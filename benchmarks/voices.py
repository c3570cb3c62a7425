"""WER of the agent's ASR per caller voice: how hard each voice cohort is before any agent logic.

For every caller voice of the banking suite (or those ``--voices`` names), speaks ``--lines`` of
the suite's scripted caller lines (distinct first-say lines of its scenarios, spread evenly over
the file, respelled with the suite's lexicon as callers say them) and transcribes each twice with
the banking baseline's ASR (Whisper tiny.en int8, beam 1, one thread): as synthesised (clean
wideband, 16 kHz) and through the suite's ``phone`` channel (8 kHz mu-law, 300-3400 Hz). Printed
per voice: pooled WER on both lines (text normalised as ASRAccuracy does) and the synthesis
real-time factor (on two lines, one thread, synthesised afresh even with ``--store``).

``--spanish`` measures the Spanish callers of ``examples/spanish`` the same way (every line they
can say: first turns, answers to the agent's questions, closing), with the English agent's tiny.en
and with Whisper base told the language (``language: es``), the ASR the example's candidate routes
Spanish callers to. Whisper writes amounts as digits; both sides go through the same Spanish
number words (0..999,999) first, since ASRAccuracy's normaliser reads numbers in English.

Usage: python benchmarks/voices.py [--voices us-joe,french] [--lines 20] [--store DIR] [--spanish]
(``--store``: keep audio and transcripts in that store's speech cache: a second run takes seconds)
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

from callgate.agents.env import CallEnv
from callgate.evaluators.text import corpus_wer
from callgate.scenarios import load_suite
from callgate.scenarios.model import ChannelSpec, Suite, VoiceSpec
from callgate.simulation.channel import apply_channel
from callgate.speech.audio import Audio
from callgate.speech.engines import get_asr, get_tts
from callgate.speech.protocols import ASREngine, ASRHints
from callgate.speech.respell import respell_for_tts

SPANISH_SUITE = Path(__file__).resolve().parents[1] / "examples" / "spanish" / "suite.yaml"
# The banking baseline's ASR (plugins/banking/.../variants/baseline.yaml).
BASELINE_ASR = {"model": "tiny.en", "beam_size": 1, "cpu_threads": 1}
SPANISH_ASR = {"model": "base", "beam_size": 1, "cpu_threads": 1, "language": "es"}
PHONE = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000)


def caller_lines(suite: Suite, count: int) -> list[str]:
    """``count`` distinct scripted caller lines, evenly spread over the suite's scenarios."""
    seen: dict[str, None] = {}
    for scenario in suite.scenarios:
        for turn in scenario.caller.turns:
            if turn.audio is None and not turn.backchannel and len(turn.say.split()) >= 3:
                seen.setdefault(turn.say)
                break  # one line per scenario, so every call type shows up
    lines = list(seen)
    if len(lines) <= count:
        return lines
    return [lines[round(i * (len(lines) - 1) / (count - 1))] for i in range(count)]


class Speaker:
    """Synthesis and transcription, through a store's speech cache when one is given."""

    def __init__(self, store: Path | None) -> None:
        self.env = CallEnv.at(store) if store else None

    def say(self, voice: VoiceSpec, text: str) -> Audio:
        engine = get_tts(voice.engine)
        if self.env is None:
            return engine.synthesize(text, voice.voice, voice.rate)
        return self.env.cache.synthesize(engine, text, voice.voice, voice.rate)[0]

    def hear(self, asr: ASREngine, audio: Audio) -> str:
        if self.env is None:
            return asr.transcribe(audio).text
        return self.env.cache.transcribe(asr, audio, ASRHints())[0].text


def synthesis_rtf(voice: VoiceSpec, lines: list[str]) -> float:
    """Seconds of synthesis per second of audio on two lines, never from the cache; a short
    warm-up first, so a model's loading is not counted."""
    engine = get_tts(voice.engine)
    engine.synthesize("Hello.", voice.voice, voice.rate)
    t0, seconds = time.perf_counter(), 0.0
    for text in lines[:2]:
        seconds += engine.synthesize(text, voice.voice, voice.rate).duration
    return (time.perf_counter() - t0) / seconds


def measure(
    speaker: Speaker,
    voice: VoiceSpec,
    lines: list[str],
    lexicon: dict[str, str],
    asrs: dict[str, ASREngine],
    number_words: bool = False,
) -> dict[str, float | None]:
    """Pooled WER per (ASR, line) and the synthesis real-time factor, for one voice."""
    spoken = [respell_for_tts(text, lexicon) for text in lines]
    clips = [speaker.say(voice, text) for text in spoken]
    out: dict[str, float | None] = {"rtf": synthesis_rtf(voice, spoken)}
    rng = np.random.default_rng(0)  # the phone channel has no packet loss: nothing is drawn
    phone = [apply_channel(c, PHONE, rng).audio for c in clips]
    for name, asr in asrs.items():
        for line, audios in (("wide", clips), ("phone", phone)):
            pairs = [(ref, speaker.hear(asr, a)) for ref, a in zip(lines, audios, strict=True)]
            if number_words:
                pairs = [(spanish_numbers(r), spanish_numbers(h)) for r, h in pairs]
            out[f"{name}|{line}"] = corpus_wer(pairs)
    return out


def describe(voice: VoiceSpec) -> str:
    rate = "" if voice.rate == 1.0 else f" x{voice.rate:g}"
    return f"{voice.engine} {voice.voice}{rate}"


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def english(args: argparse.Namespace, speaker: Speaker) -> None:
    loaded = load_suite("banking")
    suite = loaded.suite
    lines = caller_lines(suite, args.lines)
    words = sum(len(s.split()) for s in lines)
    names = args.voices.split(",") if args.voices else list(suite.voices)
    asr = get_asr("whisper", **BASELINE_ASR)
    print(f"{len(lines)} banking caller lines, {words} words; ASR whisper tiny.en int8 beam 1")
    print("| voice | engine, voice | accent | WER wideband | WER phone 8 kHz | TTS RTF |")
    print("|---|---|---|---|---|---|")
    lexicon = dict(suite.evaluation.lexicon)
    for name in names:
        voice = suite.voices[name]
        r = measure(speaker, voice, lines, lexicon, {"tiny": asr})
        row = [name, describe(voice), voice.accent, fmt(r["tiny|wide"]), fmt(r["tiny|phone"])]
        print("| " + " | ".join([*row, fmt(r["rtf"])]) + " |", flush=True)


def spanish_lines(suite: Suite) -> list[str]:
    """Every distinct line the Spanish callers can say: turns, answers to the agent, closing."""
    seen: dict[str, None] = {}
    for scenario in suite.scenarios:
        if scenario.tags.get("language") != "es":
            continue
        caller = scenario.caller
        said = [*caller.turns, caller.closing]
        said += [u for r in caller.reactions for u in (r.say, r.otherwise) if u is not None]
        for utterance in said:
            if utterance.audio is None and not utterance.say.startswith("$"):
                seen.setdefault(utterance.say)
    return list(seen)


def spanish(args: argparse.Namespace, speaker: Speaker) -> None:
    suite = load_suite(str(SPANISH_SUITE)).suite
    lines = spanish_lines(suite)
    words = sum(len(s.split()) for s in lines)
    asrs = {"tiny": get_asr("whisper", **BASELINE_ASR), "base": get_asr("whisper", **SPANISH_ASR)}
    print(f"\n{len(lines)} Spanish caller lines ({SPANISH_SUITE.parent.name}), {words} words")
    print("| voice | engine, voice | tiny.en wide | tiny.en phone | base es wide | base es phone |")
    print("|---|---|---|---|---|---|")
    for name, voice in suite.voices.items():
        if not voice.locale.startswith("es"):
            continue
        r = measure(speaker, voice, lines, {}, asrs, number_words=True)
        cells = [fmt(r[k]) for k in ("tiny|wide", "tiny|phone", "base|wide", "base|phone")]
        print("| " + " | ".join([name, describe(voice), *cells]) + " |", flush=True)


# --- Spanish numbers as words, so "50" and "cincuenta" are the same word ----------------------

_UNITS = (  # noqa: SIM905 (number words read better as text)
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro "
    "veinticinco veintiséis veintisiete veintiocho veintinueve"
).split()
_TENS = "treinta cuarenta cincuenta sesenta setenta ochenta noventa".split()  # noqa: SIM905
_HUNDREDS = (  # noqa: SIM905
    "ciento doscientos trescientos cuatrocientos quinientos seiscientos setecientos "
    "ochocientos novecientos"
).split()


def _below_thousand(n: int) -> str:
    if n < 30:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens - 3] + (f" y {_UNITS[unit]}" if unit else "")
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    return _HUNDREDS[hundreds - 1] + (f" {_below_thousand(rest)}" if rest else "")


def _cardinal(n: int) -> str:
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _below_thousand(rest)
    head = "mil" if thousands == 1 else f"{_below_thousand(thousands)} mil"
    return head + (f" {_below_thousand(rest)}" if rest else "")


def spanish_numbers(text: str) -> str:
    """Digits as Spanish words: ``89,99`` -> ``ochenta y nueve con noventa y nueve``, ``$50`` ->
    ``cincuenta dólares``."""

    def words(m: re.Match[str]) -> str:
        whole, frac = m.group(1).replace(".", ""), m.group(2)
        said = _cardinal(int(whole)) if int(whole) < 1_000_000 else m.group(0)
        return said + (f" con {_cardinal(int(frac))}" if frac else "")

    text = re.sub(r"\$\s?(\d[\d.,]*\d|\d)", r"\1 dólares", text)  # whisper writes "$50"
    return re.sub(r"(\d{1,3}(?:\.\d{3})+|\d+)(?:[,.](\d{1,2})\b)?", words, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voices", default="", help="comma-separated voice names (default: all)")
    ap.add_argument("--lines", type=int, default=20)
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--spanish", action="store_true", help="also the Spanish example's callers")
    ap.add_argument("--only-spanish", action="store_true")
    args = ap.parse_args()
    speaker = Speaker(args.store)
    t0 = time.perf_counter()
    if not args.only_spanish:
        english(args, speaker)
    if args.spanish or args.only_spanish:
        spanish(args, speaker)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
