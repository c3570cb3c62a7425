"""`callgate signals`: every signal per release and cohort, the files it writes, bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from callgate.production.ingest.batch import ingest
from callgate.production.signals.model import SIGNALS, SignalsReport
from callgate.store.db import Store
from factories import call
from support.call_logs import make_calls, write_call_log


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two releases of generated production calls, ingested."""
    root = tmp_path_factory.mktemp("signals")
    log = write_call_log(root / "calls.jsonl", make_calls(300, seed=5))
    ingest(Store.open(root / "store"), [log])
    return root / "store"


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("callgate: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_prints_every_signal_per_release_and_cohort(store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    files = [tmp_path / "s.json", tmp_path / "s.csv", tmp_path / "s.html"]
    code, out, err = cli(
        "signals", "--by", "accent", "--by", "channel", "--store", str(store),
        "--json", str(files[0]), "--csv", str(files[1]), "--html", str(files[2]),
    )  # fmt: skip
    assert code == 0, err
    text = " ".join(out.split())
    assert "300 imported calls" in text
    accents = [f"accent={a}" for a in ("english", "indian", "scottish", "us")]
    for cohort in ["all", *accents, "channel=app", "channel=phone"]:
        for release in ("2026.11.1", "2026.11.2"):  # one table per release and cohort
            assert f"{release} · {cohort} · " in text, (release, cohort)
    table = out.split("2026.11.2 · accent=scottish")[1].split("└")[0]
    for info in SIGNALS:  # every signal with a value, its interval and n in each group's table
        assert info.title in table, info.title
    assert "turns /" in table and " to " in table

    report = SignalsReport.model_validate_json(files[0].read_text())
    assert [r.release for r in report.releases] == ["2026.11.1", "2026.11.2"]
    assert report.settings.by == ["accent", "channel"]
    rows = list(csv.DictReader(files[1].open()))
    assert len(rows) == len(report.groups) * len(SIGNALS)
    assert "<svg" in files[2].read_text() and f"wrote {files[0]}" in " ".join(out.split())


def test_json_to_stdout_and_a_window(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    args = ("signals", "--store", str(store), "--since", "2026-11-08", "--json", "-")
    code, out, err = cli(*args)
    assert code == 0, err
    report = SignalsReport.model_validate_json(out)  # stdout holds the JSON alone
    assert [r.release for r in report.releases] == ["2026.11.2"]
    assert set(report.settings.by or []) == {"accent", "channel", "call_type", "scenario"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--since", "last tuesday"), "--since: 'last tuesday' is not a date or time"),
        (("--since", "2026-11-09", "--until", "2026-11-02"), "--since: must be before --until"),
        (("--by", "mood"), "--by: unknown cohort tag 'mood'"),
        (("--low-confidence", "1.5"), "--low-confidence: must be above 0 and at most 1"),
        (("--until", "2026-10-01"), "no imported call started before 2026-10-01 00:00 UTC"),
        (
            ("--by", "accent", "--until", "2026-10-01"),  # the empty window, not "unknown tag"
            "no imported call started before 2026-10-01 00:00 UTC",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(store: Path, cli, args, expected) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("signals", "--store", str(store), *args)
    assert code == 2 and out == ""
    assert expected in one_error_line(err)


def test_a_simulated_run_is_refused(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    st = Store.open(tmp_path / "store")
    st.ensure_run("sim00001", {"suite": "s", "variants": ["v"]}, 1)
    st.put_call(call(run_id="sim00001"))
    st.close()
    code, _, err = cli("signals", "sim0", "--store", str(tmp_path / "store"))
    assert code == 2
    assert "run sim00001 holds simulated calls, not imported ones" in one_error_line(err)
