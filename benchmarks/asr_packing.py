"""Whisper one utterance at a time against utterances packed into shared windows, on what the
demo suite's baseline agent really heard.

Takes every turn the baseline recognised in a run of the demo suite (its ASR clip cut from the
caller track as the agent heard it, and the words the caller really said there), then transcribes
the clips with the baseline's Whisper (tiny.en) three ways, timing each:

* one at a time, as the simulator does;
* packed per call: each call's clips share windows (what a call-by-call packing could do);
* packed across calls: clips of consecutive calls fill whole windows (the most packing can give,
  but a call's transcript would then depend on the calls beside it).

For each packing it prints the speed-up, the share of transcripts that differ from one at a time,
and WER against what the caller said for all three. Whisper's encoder is not shared here, so
every clip is encoded as if new.

Usage: python benchmarks/asr_packing.py [--store DIR] [--limit 30]
  --store: a store holding a demo run (``callgate demo``); without it, the baseline is simulated
  on the first ``--limit`` scenarios into a temporary store first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.evaluators.text import corpus_wer
from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.speech import whisper_encoder
from callgate.speech.asr_whisper import WhisperASR
from callgate.speech.audio import Audio
from callgate.speech.packing import transcribe_packed
from callgate.speech.protocols import ASRHints, ASRResult
from callgate.store.blobs import BlobStore
from callgate.store.db import Store
from callgate.variants import load_variants

Calls = list[tuple[list[Audio], list[str]]]  # per call: its ASR clips and what was said in each


def heard(store: Store, run_id: str) -> Calls:
    blobs = BlobStore(store.root / "blobs")
    calls: Calls = []
    for trace in store.calls(run_id):
        if trace.variant != "baseline" or trace.caller_audio is None:
            continue
        track = blobs.get(trace.caller_audio.sha256)
        turns = [t for t in trace.agent_turns if t.asr is not None and t.reference_text]
        clips = [track.slice(t.asr.audio_start, t.asr.audio_end) for t in turns if t.asr]
        if clips:
            calls.append((clips, [t.reference_text or "" for t in turns]))
    return calls


def demo_run(limit: int, folder: Path) -> tuple[Store, str]:
    suite = load_suite("banking")
    ids = [s.id for s in suite.suite.scenarios][:limit]
    p = plan(RunRequest(suite, load_variants(["baseline"], suite), "default", scenarios=ids))
    store = Store.open(folder)
    execute(store, p, executor="local")
    return store, p.run_id


def timed(fn: Callable[[], list[ASRResult]]) -> tuple[list[ASRResult], float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--store", type=Path, help="a store with a demo run (default: simulate one)")
    ap.add_argument("--limit", type=int, default=30, help="scenarios to simulate without --store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            store = Store.open(args.store)
            runs = [r for r in store.runs() if "baseline" in r.spec.variants]
            if not runs:
                sys.exit(f"{args.store}: no run with a baseline variant")
            run_id = runs[0].run_id
        else:
            store, run_id = demo_run(args.limit, Path(tmp))
        calls = heard(store, run_id)
    clips = [c for cs, _ in calls for c in cs]
    said = [s for _, ss in calls for s in ss]
    audio = sum(c.duration for c in clips)
    print(f"{len(clips)} recognised turns from {len(calls)} baseline calls, {audio:.0f} s of audio")
    whisper_encoder.CAPACITY = 0  # every clip encoded as new, in all three ways
    whisper = WhisperASR()  # one model for all three: packing is the engine's transcribe_many
    whisper.load()
    hints = ASRHints()

    alone, t_alone = timed(lambda: [whisper.transcribe(c) for c in clips])
    per_call, t_call = timed(
        lambda: [r for cs, _ in calls for r in transcribe_packed(whisper, cs, hints)]
    )
    across, t_across = timed(lambda: transcribe_packed(whisper, clips, hints))

    def line(name: str, results: list[ASRResult], secs: float) -> None:
        wer = corpus_wer(list(zip(said, [r.text for r in results], strict=True)))
        differ = sum(a.text != r.text for a, r in zip(alone, results, strict=True))
        print(
            f"{name:<22} {secs:6.1f} s ({secs / len(clips):.3f} s per turn, "
            f"{t_alone / secs:.1f}x)  WER {wer:.3f}  transcripts differing from one at a time: "
            f"{differ}/{len(clips)} ({100 * differ / len(clips):.0f}%)"
        )

    line("one at a time", alone, t_alone)
    line("packed per call", per_call, t_call)
    line("packed across calls", across, t_across)
    shown = 0
    for a, b, c, s in zip(alone, per_call, across, said, strict=True):
        if a.text != b.text and shown < 8:
            shown += 1
            print(f"  said {s!r}\n    alone {a.text!r}\n    call  {b.text!r}\n    calls {c.text!r}")


if __name__ == "__main__":
    main()
