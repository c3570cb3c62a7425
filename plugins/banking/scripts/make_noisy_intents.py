#!/usr/bin/env python
"""Build the banking agent's ``intents_asr_noisy`` dataset with the product's own speech stack.

Every sentence of ``intents.jsonl`` is spoken by a simulated caller and heard by the agent's ASR,
the way a real team would collect transcripts from noisy phone calls:

1. pick one condition (voice / noise / channel) for the sentence, seeded by ``--seed`` and the
   sentence's index, from a fixed list that mirrors the banking suite's harder cohorts;
2. synthesise ``respell_for_tts(text, LEXICON)`` with that voice (espeak or piper);
3. degrade it (:func:`callgate.simulation.channel.degrade`: room noise, then an 8 kHz mu-law
   phone line, sometimes with 3% packet loss) with a seeded ``numpy`` Generator;
4. transcribe it with whisper ``tiny.en`` (greedy, one thread, no hints).

Each line written is ``{"text": <hypothesis, lower-cased>, "intent": <label>, "source":
<original sentence>, "condition": "<voice>/<noise>/<channel>"}`` with the suite's names for the
voice, noise and channel. Sentences whose hypothesis comes back empty are skipped. Lines follow
the input order and the file is replaced atomically. TTS, channel and ASR are deterministic, so
the same ``--seed`` gives a byte-identical file whatever ``--workers`` is.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from callgate_banking import SUITE
from callgate_banking.nlu import DATA_DIR

from callgate.agents.env import CallEnv
from callgate.scenarios.load import load_suite
from callgate.scenarios.model import ChannelSpec, NoiseSpec, VoiceSpec
from callgate.simulation.babble import babble
from callgate.simulation.channel import degrade
from callgate.speech.asr_whisper import WhisperASR
from callgate.speech.audio import SAMPLE_RATE
from callgate.speech.engines import get_asr, get_tts
from callgate.speech.protocols import ASRHints
from callgate.speech.respell import respell_for_tts
from callgate.speech.tts_piper import PiperTTS

# The callers' respellings, as the banking suite gives them (its evaluation.lexicon).
LEXICON = load_suite(str(SUITE)).suite.evaluation.lexicon
DEFAULT_SOURCE = DATA_DIR / "intents.jsonl"
DEFAULT_OUT = DATA_DIR / "intents_asr_noisy.jsonl"
PROGRESS_EVERY = 50
ASR_PARAMS = {"model": "tiny.en", "beam_size": 1, "cpu_threads": 1}

# The suite's harder cohorts (plugins/banking/src/callgate_banking/suite/suite.yaml), by suite name.
VOICES: dict[str, VoiceSpec] = {
    "us-espeak": VoiceSpec(engine="espeak", voice="en-us"),
    "scottish": VoiceSpec(engine="espeak", voice="en-gb-scotland", locale="en-GB"),
    "caribbean": VoiceSpec(engine="espeak", voice="en-029", locale="en-029"),
    "nyc": VoiceSpec(engine="espeak", voice="en-us-nyc"),
    "us-joe": VoiceSpec(engine="piper", voice="joe"),
}
NOISES: dict[str, NoiseSpec] = {
    "clean": NoiseSpec(type="none"),
    "pink-15": NoiseSpec(type="pink", snr_db=15),
    "babble-10": NoiseSpec(type="babble", snr_db=10),
}
CHANNELS: dict[str, ChannelSpec] = {
    "phone": ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000),
    "phone-lossy": ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000, packet_loss=0.03),
}
# Every voice x noise x channel, in a fixed order: a sentence's condition is an index into it.
CONDITIONS: list[tuple[str, str, str]] = [
    (v, n, c) for v in VOICES for n in NOISES for c in CHANNELS
]


@dataclass(frozen=True)
class Task:
    index: int
    text: str
    seed: int


def pick_condition(seed: int, index: int) -> tuple[str, str, str]:
    """The condition of sentence ``index``: depends only on the seed and the index."""
    rng = np.random.default_rng([seed, index, 0])
    return CONDITIONS[int(rng.integers(len(CONDITIONS)))]


# --------------------------------------------------------------------------- worker side

_env: CallEnv | None = None


def _init_worker(scratch: str) -> None:
    """Load every engine once per worker process, and the babble bed (built from espeak)."""
    global _env
    folder = Path(scratch) / f"worker-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    _env = CallEnv.at(folder)
    get_tts("espeak")
    piper, whisper = get_tts("piper"), get_asr("whisper", **ASR_PARAMS)
    if isinstance(piper, PiperTTS):
        piper.load("joe")
    if isinstance(whisper, WhisperASR):
        whisper.load()
    babble(_env)


def hear(task: Task) -> tuple[int, str, str]:
    """Speak, degrade and transcribe one sentence: (index, hypothesis, condition)."""
    if _env is None:
        raise RuntimeError("worker not initialised")
    voice_name, noise_name, channel_name = pick_condition(task.seed, task.index)
    voice, noise = VOICES[voice_name], NOISES[noise_name]
    engine = get_tts(voice.engine)
    # Through the speech cache like the simulated caller: the audio is quantised as stored.
    clean, _ref, _hit = _env.cache.synthesize(
        engine, respell_for_tts(task.text, LEXICON), voice.voice, voice.rate
    )
    rng = np.random.default_rng([task.seed, task.index, 1])
    bed = babble(_env) if noise.type == "babble" else None
    heard = degrade(clean.resample(SAMPLE_RATE), noise, CHANNELS[channel_name], rng, bed)
    result = get_asr("whisper", **ASR_PARAMS).transcribe(heard.audio, ASRHints())
    condition = f"{voice_name}/{noise_name}/{channel_name}"
    return task.index, result.text.strip().lower(), condition


# --------------------------------------------------------------------------- main side


def read_rows(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append((str(row["text"]), str(row["intent"])))
    return rows


def generate(
    rows: list[tuple[str, str]], seed: int, workers: int, progress: bool = True
) -> list[dict[str, str]]:
    """Hear every row in a pool of ``workers`` spawned processes; lines in input order."""
    tasks = [Task(i, text, seed) for i, (text, _) in enumerate(rows)]
    heard: dict[int, tuple[str, str]] = {}
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="callgate-noisy-") as scratch,
        context.Pool(workers, initializer=_init_worker, initargs=(scratch,)) as pool,
    ):
        for index, text, condition in pool.imap_unordered(hear, tasks, chunksize=2):
            heard[index] = (text, condition)
            done = len(heard)
            if progress and (done % PROGRESS_EVERY == 0 or done == len(tasks)):
                elapsed = time.monotonic() - started
                print(f"{done}/{len(tasks)} sentences, {elapsed:.1f} s", file=sys.stderr)
        pool.close()
        pool.join()
    lines: list[dict[str, str]] = []
    for i, (source, intent) in enumerate(rows):
        text, condition = heard[i]
        if text:
            lines.append({"text": text, "intent": intent, "source": source, "condition": condition})
    return lines


def write_atomically(path: Path, lines: list[dict[str, str]]) -> None:
    from callgate.files import atomic_write

    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Build the banking intent dataset as the agent's ASR hears it on noisy phone calls: "
            "each sentence of the source file is synthesised (espeak/piper), degraded (noise, "
            "8 kHz mu-law phone line, packet loss) and transcribed by whisper tiny.en. One "
            "condition per sentence, chosen from the seed and the sentence index, so a re-run "
            "with the same seed writes a byte-identical file."
        ),
        epilog="conditions: " + ", ".join("/".join(c) for c in CONDITIONS),
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="input JSONL of {text, intent} lines (default: the banking intents.jsonl)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output JSONL, replaced atomically (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="picks conditions and noise (default: 7)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N sentences (for quick checks)"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = read_rows(args.source)
    if args.limit is not None:
        rows = rows[: args.limit]
    started = time.monotonic()
    lines = generate(rows, args.seed, args.workers)
    write_atomically(args.out, lines)
    elapsed = time.monotonic() - started
    print(
        f"wrote {len(lines)} lines ({len(rows) - len(lines)} empty hypotheses skipped) to "
        f"{args.out} in {elapsed:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
