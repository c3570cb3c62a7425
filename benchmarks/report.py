"""Size and load time of the HTML report for a run of 2,000 calls.

Builds a synthetic scored store (``tests/support/synthetic.py``: hand-built banking calls, half
baseline and half candidate, paired, about a quarter failing with an attributed cause, a tiny FLAC
track per side and call) and a matching gate.json, writes the report with the default rules
(100 detail sections, audio inlined up to 5 MB, else linked), then opens it from disk in headless
Chromium (Debian's /usr/bin/chromium through Playwright) and times navigation to the ``load``
event, best and median of ``--loads`` fresh pages. Prints the build, write and load times and the
sizes: the HTML alone and with its audio folder.

Goal (docs/report.md): under 20 MB and under 3 s to open for 2,000 calls.

Usage: python benchmarks/report.py [--pairs 1000] [--audio-seconds 0.25] [--loads 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from callgate.gate.model import load_gate
from callgate.report.browser import CHROMIUM, CHROMIUM_ARGS
from callgate.report.page import write_report
from callgate.store.db import Store

# The synthetic run is a test fixture, not part of callgate: it lives with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.synthetic import build_run
from support.synthetic_scores import write_gate


def folder_bytes(path: Path | None) -> int:
    if path is None or not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def load_times(url: str, loads: int) -> list[tuple[float, float]]:
    """(wall seconds of goto until load, the page's own loadEventEnd in seconds) per fresh page."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(loads):
                ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(url, wait_until="load")
                wall = time.perf_counter() - t0
                nav = page.evaluate(
                    "performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
                )
                assert page.locator("svg#forest-plot").count() == 1
                out.append((wall, float(nav)))
                ctx.close()
        finally:
            browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1000, help="paired calls (2x calls in all)")
    ap.add_argument("--audio-seconds", type=float, default=0.25, help="length of each track")
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="build here and keep it (default: a temp folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        t0 = time.perf_counter()
        run = build_run(base / "store", args.pairs, audio_seconds=args.audio_seconds)
        gate = write_gate(run.gate, base / "gate")
        built = time.perf_counter() - t0
        store = Store.open(run.root, create=False)
        t0 = time.perf_counter()
        result = write_report(store, run.run_id, base / "out" / "report.html", load_gate(gate))
        wrote = time.perf_counter() - t0
        store.close()
        audio = folder_bytes(result.audio.folder)
        print(f"synthetic store: {run.calls} calls built in {built:.1f} s")
        print(
            f"report written in {wrote:.2f} s: {result.failures} failed calls "
            f"({result.regressed} regressed), {result.details} detail sections, "
            f"{result.details_left_out} left out; audio {result.audio.mode}"
        )
        print(
            f"size: HTML {result.html_bytes / 1e6:.2f} MB, audio folder {audio / 1e6:.2f} MB, "
            f"total {(result.html_bytes + audio) / 1e6:.2f} MB (goal < 20 MB)"
        )
        if not CHROMIUM.exists():
            print(f"no {CHROMIUM}: load time not measured (apt-get install chromium)")
            return 1
        times = load_times(result.html.as_uri(), args.loads)
        walls, navs = [w for w, _ in times], [n for _, n in times]
        print(
            f"load in headless Chromium ({args.loads} fresh pages): navigation to load event "
            f"best {min(navs):.2f} s, median {statistics.median(navs):.2f} s; wall (goto) best "
            f"{min(walls):.2f} s, median {statistics.median(walls):.2f} s (goal < 3 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
