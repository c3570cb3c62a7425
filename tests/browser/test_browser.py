"""The report and the web UI in a real headless Chromium (Debian's), driven by Playwright.

Checks what a person would see: the decision, the forest plot, the players (nothing is played),
timeline clicks seeking the players, injected HTML shown as text with no dialog. Screenshots go
to <repo>/.artifacts/screenshots/, the folder CI keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import SHOTS, serving
from callgate.gate.model import load_gate
from callgate.report.page import write_report
from callgate.store.db import Store
from callgate.web.server import UIServer
from report.handmade import EVIL, Hand, make_store
from support.synthetic_scores import write_gate


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Hand:
    return make_store(tmp_path_factory.mktemp("browser") / "store")


def _no_script_ran(pg: Any) -> None:
    assert pg.dialogs == [], "injected script ran"
    assert pg.errors == []
    assert pg.evaluate("Array.from(document.querySelectorAll('audio')).every(a => a.paused)")


def _seek_check(pg: Any, call_sel: str) -> None:
    item = pg.locator(f"{call_sel} svg.timeline .item.tool").first
    t = float(item.get_attribute("data-seek"))
    item.click()
    times = pg.eval_on_selector_all(f"{call_sel} audio", "els => els.map(a => a.currentTime)")
    assert times and all(abs(x - t) < 1e-3 for x in times)
    assert pg.locator(f"{call_sel} .pos").inner_text() == f"{t:.2f} s"
    assert pg.locator(f"{call_sel} svg.timeline .cursor").get_attribute("visibility") == "visible"


def test_report_in_chromium(page: Any, hand: Hand, tmp_path: Path) -> None:
    gate = write_gate(hand.gate, tmp_path / "gate")
    out = tmp_path / "report.html"
    store = Store.open(hand.root, create=False)
    write_report(store, hand.run_id, out, load_gate(gate))
    store.close()
    page.goto(out.as_uri(), wait_until="load")
    assert page.locator("#decision").inner_text() == "BLOCK"
    plot = page.locator("svg#forest-plot")
    assert plot.is_visible() and plot.locator(".forest-row").count() == 4
    assert page.locator("svg#ttfa-cdf").is_visible()
    detail = "#call-fc01"
    assert page.locator(f"{detail} audio[data-channel=caller]").count() == 1
    assert page.locator(f"{detail} audio[data-channel=agent]").count() == 1
    # The injected transcript is on screen as text.
    assert EVIL in page.locator(f"{detail} table.turns").inner_text()
    assert EVIL in page.locator("ol.reasons").inner_text()
    page.screenshot(path=str(SHOTS / "report.png"))
    page.locator("#failures a").first.click()  # the table links to the detail section
    assert page.evaluate("location.hash") == "#call-fc01"
    _seek_check(page, detail)
    page.locator(detail).screenshot(path=str(SHOTS / "report-call.png"))
    _no_script_ran(page)


_METADATA = """sel => new Promise(done => {
    const a = document.querySelector(sel);
    a.addEventListener('loadedmetadata', () => done(a.duration), {once: true});
    a.addEventListener('error', () => done(-1), {once: true});
    a.preload = 'metadata'; a.load();
})"""


def test_linked_audio_report_plays_from_its_folder(page: Any, hand: Hand, tmp_path: Path) -> None:
    """Over the inline budget the tracks sit beside the file; the players still find them."""
    out = tmp_path / "linked report.html"
    store = Store.open(hand.root, create=False)
    result = write_report(store, hand.run_id, out, None, inline_budget=1000)
    store.close()
    assert result.audio.mode == "linked"
    page.goto(out.as_uri(), wait_until="load")
    assert "no gate decision" in page.locator("#decision").inner_text()
    duration = page.evaluate(_METADATA, "#call-fc01 audio[data-channel=caller]")
    assert abs(duration - 0.3) < 0.05  # metadata only: nothing is played
    _no_script_ran(page)


@pytest.fixture(scope="module")
def server(hand: Hand, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    gates = tmp_path_factory.mktemp("gates")
    write_gate(hand.gate, gates / "ci")
    with serving(hand.root, [gates]) as srv:
        yield srv


def test_web_ui_in_chromium(page: Any, server: UIServer, hand: Hand) -> None:
    page.goto(server.url, wait_until="load")
    assert page.locator("#runs").is_visible() and "BLOCK" in page.locator("#gates").inner_text()
    page.screenshot(path=str(SHOTS / "ui-runs.png"))

    page.locator(f"#runs a:has-text('{hand.run_id}')").click()
    page.wait_for_load_state("load")
    assert page.locator("#match-count").inner_text().startswith("6 calls match")
    page.select_option("select[name=tag]:has(option[value='accent=scottish'])", "accent=scottish")
    page.select_option("select[name=status]", "failed")
    page.locator("#filters button[type=submit]").click()
    page.wait_for_load_state("load")
    assert page.locator("#match-count").inner_text().startswith("2 calls match")
    assert page.locator("#calls tbody tr").count() == 2
    page.screenshot(path=str(SHOTS / "ui-run-filtered.png"))

    page.goto(f"{server.url}run/{hand.run_id}/call/fc01", wait_until="load")
    detail = "#call-fc01"
    src = page.locator(f"{detail} audio[data-channel=agent]").get_attribute("src")
    assert src is not None and src.startswith("/blob/") and src.endswith(".flac")
    assert EVIL in page.locator(f"{detail} table.turns").inner_text()
    _seek_check(page, detail)
    # The player can read the served file (metadata only: nothing is played).
    ready = page.evaluate(_METADATA, f"{detail} audio[data-channel=agent]")
    assert abs(ready - 0.3) < 0.05
    page.screenshot(path=str(SHOTS / "ui-call.png"), full_page=True)
    _no_script_ran(page)

    page.goto(server.url, wait_until="load")
    page.locator("#gates a").first.click()
    page.wait_for_load_state("load")
    assert page.locator("svg#forest-plot").is_visible()
    assert page.locator("#decision").inner_text() == "BLOCK"
    page.screenshot(path=str(SHOTS / "ui-gate.png"))
    _no_script_ran(page)
