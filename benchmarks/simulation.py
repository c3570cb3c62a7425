"""Simulation speed of the demo suite on this machine: callgate's path beside a naive one.

Four measurements, each into a fresh temporary store unless said otherwise:

* naive: one call at a time in one process, with the speech cache and the shared Whisper encoder
  switched off (every variant synthesises and recognises everything itself): what a simple
  simulator costs. Run on the first ``--naive-limit`` scenarios, as it is slow.
* cold: the demo suite (plugins/banking, grid default) for baseline and candidate, ``--workers``
  processes, nothing cached yet. The candidate changes ASR hints, the end-of-turn wait, the intent
  model and the tool API, so only the caller's audio, the line and Whisper's encoder are shared.
* warm, policy only: into the cold run's store, a candidate that differs from the baseline only in
  its policy (``min_intent_confidence``): the ASR of the same audio and the agent's speech come
  from the cache, as after any earlier run of the baseline.
* the compute split of the cold run, by component, from each trace's measured times, and the
  naive run's compute per stage against its input (the fit behind the default latency models).

Each line gives seconds of simulated call audio per wall-clock second and the peak memory of the
whole process tree (the driver and its workers, sampled every 0.1 s).

Usage: python benchmarks/simulation.py [--workers 2] [--limit N] [--naive-limit 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.scenarios.load import LoadedSuite
from callgate.speech import whisper_encoder
from callgate.store.cache import SpeechCache
from callgate.store.db import Store
from callgate.variants import load_variants
from callgate.variants.load import suite_variants


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def measured(fn: Callable[[], None]) -> tuple[float, int]:
    """(wall seconds, peak bytes of the process tree) of ``fn()``."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], _tree_rss(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    return wall, max(peak[0], _tree_rss(os.getpid()))


def simulate(root: Path, req: RunRequest, executor: str, workers: int) -> tuple[str, float, int]:
    """(run id, seconds of call audio, calls) of one run into the store at ``root``."""
    p = plan(req)
    store = Store.open(root)
    outcome = execute(store, p, executor=executor, workers=workers)
    if outcome.failed:
        sys.exit(f"{len(outcome.failed)} calls failed: {next(iter(outcome.failed.values()))}")
    audio = sum(trace.duration_s for trace in store.calls(p.run_id))
    return p.run_id, audio, outcome.done


def report(label: str, audio: float, calls: int, wall: float, peak: int) -> float:
    speed = audio / wall
    print(
        f"{label:<34} {calls:4d} calls  {audio:7.0f} s of call in {wall:6.1f} s wall: "
        f"{speed:6.1f} s of call per wall second, peak memory {peak / 2**30:.2f} GB",
        flush=True,
    )
    return speed


def policy_only(suite: LoadedSuite, folder: Path) -> Path:
    """The baseline's variant file with only its policy changed, as a new variant."""
    spec = yaml.safe_load(suite_variants(suite)["baseline"].read_text())
    spec["name"] = "policy-only"
    spec["agent"]["policy"]["params"]["min_intent_confidence"] = 0.55
    path = folder / "policy-only.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares intercept and slope of seconds against input size."""
    if len(points) < 3:
        return (float("nan"), float("nan"))
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    if np.ptp(x) == 0:
        return (float(y.mean()), 0.0)
    slope, intercept = np.polyfit(x, y, 1)
    return (float(intercept), float(slope))


def stage_fit(root: Path, run_id: str) -> None:
    """Compute per stage against its input, from the naive run (where nothing is shared): the
    fit behind the pipeline's default latency models (callgate.agents.pipeline_config)."""
    asr: list[tuple[float, float]] = []
    tts: list[tuple[float, float]] = []
    policy: list[float] = []
    for trace in Store.open(root).calls(run_id):
        for turn in trace.agent_turns:
            m = turn.measured
            if turn.asr is not None and "asr_s" in m:
                asr.append((turn.asr.audio_end - turn.asr.audio_start, m["asr_s"]))
            if turn.tts_text and "tts_s" in m:
                tts.append((float(len(turn.tts_text)), m["tts_s"]))
            if "policy_s" in m:
                policy.append(m["policy_s"])
    (a0, a1), (t0, t1) = fit(asr), fit(tts)
    print("  measured compute per stage, naive run (fit for the variants' latency models):")
    print(f"    asr    base_s={a0:.3f} per_audio_s={a1:.4f}  ({len(asr)} turns)")
    print(f"    tts    base_s={t0:.3f} per_char_s={t1:.5f}  ({len(tts)} replies)")
    print(f"    policy mean {1000 * float(np.mean(policy or [0.0])):.2f} ms  ({len(policy)} turns)")


def compute_split(root: Path, run_id: str) -> None:
    parts: Counter[str] = Counter()
    for trace in Store.open(root).calls(run_id):
        parts.update(trace.measured)
    total = sum(parts.values()) or 1.0
    print(f"  cold run's compute by component (sum over workers, {total:.1f} s):")
    for name, secs in parts.most_common():
        print(f"    {name:<11} {secs:8.2f} s  {100 * secs / total:5.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N scenarios (0: all)")
    ap.add_argument(
        "--naive-limit", type=int, default=20, help="scenarios for the naive run (0: skip it)"
    )
    args = ap.parse_args()

    suite = load_suite("banking")
    ids = [s.id for s in suite.suite.scenarios]
    ids = ids[: args.limit] if args.limit else ids
    pair = load_variants(["baseline", "candidate"], suite)
    print(f"machine: {os.cpu_count()} cores; workers: {args.workers}; demo suite, grid default")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.naive_limit:
            naive = RunRequest(suite, pair, "default", scenarios=ids[: args.naive_limit])
            SpeechCache.reuse, whisper_encoder.CAPACITY = False, 0
            box: list[tuple[str, float, int]] = []
            wall, peak = measured(
                lambda: box.append(simulate(folder / "naive", naive, "inline", 1))
            )
            SpeechCache.reuse, whisper_encoder.CAPACITY = True, whisper_encoder.DEFAULT_CAPACITY
            whisper_encoder.clear()
            label = f"naive ({args.naive_limit} scenarios, 1 process)"
            naive_speed = report(label, box[0][1], box[0][2], wall, peak)
            stage_fit(folder / "naive", box[0][0])
        cold = RunRequest(suite, pair, "default", scenarios=ids)
        box = []
        wall, peak = measured(
            lambda: box.append(simulate(folder / "store", cold, "local", args.workers))
        )
        cold_speed = report(f"cold, both variants ({len(ids)} scenarios)", *box[0][1:], wall, peak)
        cold_run = box[0][0]
        other = load_variants(["baseline", str(policy_only(suite, folder))], suite)[1:]
        warm = RunRequest(suite, other, "default", scenarios=ids)
        box = []
        wall, peak = measured(
            lambda: box.append(simulate(folder / "store", warm, "local", args.workers))
        )
        warm_speed = report("warm, policy-only candidate", *box[0][1:], wall, peak)
        if args.naive_limit:
            print(
                f"speed-up over naive: cold {cold_speed / naive_speed:.1f}x, "
                f"warm policy-only {warm_speed / naive_speed:.1f}x"
            )
        print("goals: cold >= 60, warm policy-only >= 300 s of call per wall second; peak < 3 GB")
        compute_split(folder / "store", cold_run)


if __name__ == "__main__":
    main()
