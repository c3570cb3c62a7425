"""`callgate run --until-decided` on the real banking agent (slow: real speech): batches, a look
after each, stored looks, resume without new calls, the budget, and its input errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.gate.model import GateLook
from callgate.store.reader import StoreReader

SCENARIOS = [
    "balance-checking-simple",
    "balance-savings-simple",
    "balance-slot-account",
    "freeze-debit-simple",
    "freeze-credit-simple",
    "freeze-slot-card",
]
EASY = """\
schema_version: 2
alpha: 0.3
cohorts: {by: [call_type], min_calls: 3}
metrics:
  task_completion: {non_inferiority_margin: 0.8}
"""
# A margin no handful of calls can show: the run stays open look after look.
HARD = EASY.replace("non_inferiority_margin: 0.8", "non_inferiority_margin: 0.05")


def args(store: Path, policy: Path, *more: str) -> list[str]:
    picked = [a for s in SCENARIOS for a in ("-s", s)]
    return [
        *(
            "run",
            "--suite",
            "banking",
            "-v",
            "baseline",
            "-v",
            "candidate",
            "-c",
            "voice=us-joe",
            "-c",
            "noise=clean",
        ),
        *picked,
        *("--until-decided", "--policy", str(policy), "--store", str(store), *more),
    ]


def looks(store: Path) -> list[GateLook]:
    reader = StoreReader.open(store)
    try:
        (run,) = reader.runs()
        return [GateLook.model_validate_json(x) for x in reader.looks(run.run_id)]
    finally:
        reader.close()


@pytest.mark.slow
def test_decides_at_the_first_look_and_resumes_without_new_calls(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "easy.yaml"
    policy.write_text(EASY)
    store = tmp_path / "store"
    code, out, err = cli(*args(store, policy, "--out", str(tmp_path / "o")))
    assert code == 0, err
    assert "look 1/4: 6 pairs, 12 calls: PROMOTE" in out
    (look,) = looks(store)
    assert look.stopped == "decided" and look.level == pytest.approx(0.3 / 4)
    assert (tmp_path / "o" / "junit.xml").exists()
    code, out, err = cli(*args(store, policy))
    assert code == 0 and "resuming" not in err and "look 1/4" in out  # replayed, not re-run
    assert len(looks(store)) == 1
    code, out, _err = cli("runs", "--store", str(store))
    assert code == 0 and "adaptive: PROMOTE at look 1" in out


@pytest.mark.slow
def test_an_open_run_takes_its_looks_and_stops_at_the_budget(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "hard.yaml"
    policy.write_text(HARD)
    store = tmp_path / "store"
    code, _out, err = cli(*args(store, policy, "--looks", "3", "--max-calls", "24"))
    assert code == 3, err
    first, second = looks(store)
    assert (first.calls, second.calls) == (12, 24)
    assert first.open_slices and second.stopped == "budget"
    assert "stopped: the next batch would exceed the budget" in err
    # Every test at alpha / looks, as the reasons say.
    assert second.report.decision == "UNDECIDED" and second.level == pytest.approx(0.1)
    # The report shows every look, and the run's own gate without --gate.
    html = tmp_path / "r.html"
    code, _out, err = cli("report", "--store", str(store), "-o", str(html))
    assert code == 0, err
    page = html.read_text()
    assert '<table id="looks">' in page and "<td>1/3</td>" in page and "<td>2/3</td>" in page
    assert "budget reached" in page
    assert 'class="decision UNDECIDED"' in page


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--looks", "2"), "--looks: only with --until-decided"),
        (("--out", "x"), "--out: only with --until-decided"),
    ],
)
def test_adaptive_options_need_until_decided(tmp_path: Path, cli, extra, needle: str) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli(
        "run", "-v", "baseline", "--suite", "banking", "--store", str(tmp_path / "s"), *extra
    )
    assert code == 2 and needle in err and not (tmp_path / "s").exists()


def test_until_decided_needs_two_variants_and_a_budget_above_one_batch(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli(
        "run", "-v", "baseline", "--suite", "banking", "--until-decided", "--store", str(tmp_path)
    )
    assert code == 2 and "--variant: give the baseline and the candidate" in err
    policy = tmp_path / "easy.yaml"
    policy.write_text(EASY)
    code, _out, err = cli(*args(tmp_path / "store", policy, "--max-calls", "4"))
    assert code == 2 and "--max-calls: the first batch alone is 12 calls" in err
    assert not (tmp_path / "store").exists()  # refused before any store or run
