"""The production signals charts in a real headless Chromium (Debian's): the report of an imported
run and the web UI's signals page draw one chart per signal and grouping, one series per cohort.

Chromium, the page and the web UI's server are the shared ones of tests/browser/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import SHOTS, serving
from callgate.production.ingest.batch import ingest
from callgate.production.signals.model import SIGNALS
from callgate.report.page import write_report
from callgate.store.db import Store
from callgate.web.server import UIServer
from support.call_logs import make_calls, write_call_log

ACCENTS = ["all", "accent=english", "accent=indian", "accent=scottish", "accent=us"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("signals-browser")
    log = write_call_log(root / "calls.jsonl", make_calls(300, seed=7))
    outcome = ingest(Store.open(root / "store"), [log])
    assert outcome.run_id is not None
    return root / "store", outcome.run_id


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
    with serving(imported[0], []) as srv:
        yield srv


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
