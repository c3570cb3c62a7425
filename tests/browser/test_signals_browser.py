"""The production signals charts in a real headless Chromium (Debian's): the report of an imported
run and the web UI's signals page draw one chart per signal and grouping, one series per cohort.

Chromium is started here as a process of its own (DevTools on 127.0.0.1 only, a fresh profile in
a temporary folder), driven over CDP by Playwright, and stopped by its pid.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callgate.production.ingest.batch import ingest
from callgate.production.signals.model import SIGNALS
from callgate.report.browser import CHROMIUM, CHROMIUM_ARGS
from callgate.report.page import write_report
from callgate.store.db import Store
from callgate.web.server import UIServer, make_server
from support.call_logs import make_calls, write_call_log

SHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"
ACCENTS = ["all", "accent=english", "accent=indian", "accent=scottish", "accent=us"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip("/usr/bin/chromium is missing and only root can install it (apt)")
        pytest.fail("/usr/bin/chromium is missing: scripts/test.sh installs it when run as root")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    args = [
        *CHROMIUM_ARGS,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",  # any free port: Chromium writes it into the profile
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    proc = subprocess.Popen(
        [str(CHROMIUM), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            assert proc.poll() is None, f"chromium exited with {proc.returncode}"
            assert time.monotonic() < deadline, "chromium did not open DevTools in 30 s"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with sync_playwright() as p:
            b = p.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            try:
                yield b
            finally:
                b.close()
    finally:
        proc.terminate()  # this process only, by its pid
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("signals-browser")
    log = write_call_log(root / "calls.jsonl", make_calls(300, seed=7))
    outcome = ingest(Store.open(root / "store"), [log])
    assert outcome.run_id is not None
    return root / "store", outcome.run_id


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    try:
        yield pg
    finally:
        ctx.close()


def _series(pg: Any, svg: str) -> list[str]:
    return pg.eval_on_selector_all(f"{svg} g.series", "els => els.map(e => e.dataset.series)")


def test_report_of_an_imported_run_draws_the_signals(page: Any, imported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, run_id = imported
    out = tmp_path / "report.html"
    store = Store.open(root, create=False)
    write_report(store, run_id, out)
    store.close()
    page.goto(out.as_uri(), wait_until="load")
    section = page.locator("section#signals")
    assert section.is_visible()
    accent = section.locator("[data-grouping=accent] svg.signal-chart")
    assert accent.count() == len(SIGNALS)  # one chart per signal
    p99 = "svg#signals-accent-ttfa_p99_s"
    assert page.locator(p99).is_visible()
    assert _series(page, p99) == ACCENTS  # one series per cohort value, plus all
    for cohort in ACCENTS:  # a point per release, each with its whisker
        points = page.locator(f"{p99} g.series[data-series='{cohort}'] g.point")
        assert points.count() == 2
        # A whisker per point: a stem and a cap per bound the turns give (a p99 on fewer than
        # 500 turns is open above, so at least one cap each).
        whiskers = page.locator(f"{p99} g.series[data-series='{cohort}'] g.point line").count()
        assert 4 <= whiskers <= 6
    box = page.locator(p99).bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    section.screenshot(path=str(SHOTS / "signals-report.png"))
    assert page.errors == []


@pytest.fixture(scope="module")
def server(imported) -> Iterator[UIServer]:  # type: ignore[no-untyped-def]
    srv = make_server(imported[0], host="127.0.0.1", port=0, gate_roots=[])
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def test_web_ui_signals_page(page: Any, server: UIServer) -> None:
    page.goto(server.url, wait_until="load")
    page.locator("#signals-link").click()
    page.wait_for_load_state("load")
    assert page.locator("svg#signals-accent-eval_fail_rate").is_visible()
    page.fill("#signals-form input[name=by]", "accent+channel")
    page.locator("#signals-form button[type=submit]").click()
    page.wait_for_load_state("load")
    combos = _series(page, "svg#signals-accent-channel-transfer_rate")
    assert combos[0] == "all" and len(combos) == 9  # four accents by two channels
    page.screenshot(path=str(SHOTS / "signals-ui.png"))
    assert page.errors == []
