"""What every browser test shares: Debian's Chromium through Playwright, a fresh page that records
script errors and dialogs, and the web UI served on 127.0.0.1 for the length of a test module.

Playwright starts Chromium as its own child process with a fresh temporary profile and stops that
process (by its handle, never by name) when the module's tests are done.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from callgate.report.browser import CHROMIUM, CHROMIUM_ARGS
from callgate.web.server import UIServer, make_server

SHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip("/usr/bin/chromium is missing and only root can install it (apt)")
        pytest.fail("/usr/bin/chromium is missing: scripts/test.sh installs it when run as root")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        # Playwright gives every launch a fresh temporary profile (user data dir).
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    try:
        yield pg
    finally:
        ctx.close()


@contextmanager
def serving(store: Path, gate_roots: list[Path]) -> Iterator[UIServer]:
    """The read-only web UI on 127.0.0.1 (any free port), in a thread, until the block ends."""
    srv = make_server(store, host="127.0.0.1", port=0, gate_roots=gate_roots)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)
