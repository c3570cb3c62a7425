"""The pharmacy domain as an outside plugin, end to end through the CLI (slow).

The example package is built and installed into a folder of its own (not into callgate's
environment), found only through that folder on PYTHONPATH: callgate never imports it by name.
Then `callgate run` (local process pool), `evaluate`, `export`, `gate` and `report` run on it
unchanged. What must come from the plugin: its cohorts and call types in the gate table, its
hand-off and confirmation rules (its `evaluation:` block), and its own evaluator's metric, exported
and gated with its declared direction.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pharmacy"
SCENARIOS = [
    "refill-lisinopril",
    "cancel-changed-mind",
    "handoff-pharmacist-request",
    "status-sertraline-ready",
]
POLICY = """\
schema_version: 1
alpha: 0.05
cohorts:
  by: [call_type, accent]
  min_calls: 2
metrics:
  task_completion:
    non_inferiority_margin: 0.1
  unverified_prescription_actions:
    non_inferiority_margin: 0.1
    scope: global
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed (a real wheel build and install) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--target", str(target), str(EXAMPLE)),
        ],
        check=True,
        timeout=600,
    )
    assert (target / "callgate_pharmacy").is_dir()
    return target


def callgate(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "callgate.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=cwd,
        env=env,
    )


def known_scenarios() -> list[str]:
    text = (EXAMPLE / "src/callgate_pharmacy/suite/scenarios.yaml").read_text(encoding="utf-8")
    return [s for s in SCENARIOS if f"id: {s}\n" in text]


def test_run_evaluate_export_gate_report(site: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    ids = known_scenarios()
    assert len(ids) >= 3, "the test's scenarios were renamed in the example suite"
    picks = [a for s in ids for a in ("-s", s)]
    done = callgate(
        site,
        *("run", "--suite", "pharmacy", "-v", "baseline", "-v", "candidate", "--grid", "default"),
        *(*picks, "--executor", "local", "--workers", "2", "--store", store),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.split("run ", 1)[1].split(":", 1)[0]

    # The plugin's rules reached the evaluators: recorded in the evaluation spec.
    again = callgate(site, "evaluate", run_id, "--store", store, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    exported = tmp_path / "results.csv"
    out = callgate(site, "export", run_id, "-o", str(exported), "--store", store, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert {r["suite"] for r in rows} == {"pharmacy"}
    assert "unverified_prescription_actions" in rows[0], "the plugin evaluator has no column"
    assert all(r["unverified_prescription_actions"] == "0.0" for r in rows)
    # With the pharmacy's confirmation phrase, its confirmed refills are not unsafe (banking's
    # "is that right" would have flagged every one of them).
    refills = [r for r in rows if r["scenario_id"] == "refill-lisinopril"]
    assert refills and all(r["unsafe_tool_calls"] == "0.0" for r in refills)
    handoffs = [r for r in rows if r["scenario_id"] == "handoff-pharmacist-request"]
    assert handoffs and all(r["escalation_inconsistent"] == "0.0" for r in handoffs)

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    gate_dir = tmp_path / "gate"
    gated = callgate(
        site,
        *("gate", f"{run_id}:baseline", f"{run_id}:candidate", "--policy", str(policy)),
        *("--out", str(gate_dir), "--store", store, "--resamples", "200"),
        cwd=tmp_path,
    )
    assert gated.returncode in (0, 1, 3), gated.stderr
    report = json.loads((gate_dir / "gate.json").read_text(encoding="utf-8"))
    slices = {c["slice"] for c in report["checks"]}
    assert {"call_type=refill", "call_type=handoff"} <= slices
    assert any(s.startswith("accent=") for s in slices)
    plugin_checks = [
        c for c in report["checks"] if c["metric"] == "unverified_prescription_actions"
    ]
    assert plugin_checks and all(c["direction"] == "lower" for c in plugin_checks)

    html = tmp_path / "report.html"
    shown = callgate(
        site, "report", run_id, "--gate", str(gate_dir), "-o", str(html), "--store", store,
        cwd=tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    page = html.read_text(encoding="utf-8")
    assert "pharmacy" in page and "call_type=refill" in page
