"""An agent kind from a --plugin file, end to end (slow): spawned workers load the plugin the run
spec records, and a kind that declares no text replay is "not attributable" in the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callgate.scenarios.load import resolve_suite_path
from callgate.store.reader import StoreReader

pytestmark = pytest.mark.slow

PLUGIN = """\
from typing import Literal

from callgate.agents.pipeline import PIPELINE, PipelineAgent
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.voice import AGENTS, AgentKind


class OpaqueConfig(PipelineConfig):
    kind: Literal["opaque"] = "opaque"


# callgate's own audio loop and preflight, without the text replay: how a framework agent looks
# to callgate.
AGENTS.register("opaque")(
    AgentKind(config_model=OpaqueConfig, create=PipelineAgent, check=PIPELINE.check)
)
"""
# Fails with the policy whatever the agent hears (it drops the second request), so it needs a cause.
FAILING = "multi-compound-freeze-and-balance"


def test_plugin_kind_runs_in_workers_and_is_not_attributable(tmp_path: Path) -> None:
    plugin = tmp_path / "opaque_kind.py"
    plugin.write_text(PLUGIN, encoding="utf-8")
    base = resolve_suite_path("banking").parent / "variants" / "baseline.yaml"
    variant = tmp_path / "opaque.yaml"
    text = base.read_text(encoding="utf-8").replace("kind: pipeline", "kind: opaque")
    variant.write_text(text.replace("name: baseline", "name: opaque"), encoding="utf-8")
    store = tmp_path / "store"
    cli = [sys.executable, "-m", "callgate.cli.main"]
    done = subprocess.run(
        [
            *(*cli, "run", "--plugin", str(plugin), "--suite", "banking", "-v", str(variant)),
            *("-s", FAILING, "-c", "voice=us-joe", "-c", "noise=clean", "--store", str(store)),
            *("--executor", "local", "--workers", "2"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with StoreReader.open(store) as reader:
        run = reader.latest_run()
        assert run.spec.plugins.modules == [str(plugin)]
        parts = run.spec.plugins.parts
        assert parts["agent kind:opaque"] == "registered"
        assert parts["dialogue policy:banking"].startswith("callgate-banking ")
        assert parts["ASR engine:whisper"].startswith("callgate ")
        rows = reader.call_rows(run.run_id)
    assert rows and all(r.failed for r in rows)
    assert {r.failure_cause for r in rows} == {"not attributable"}

    html = tmp_path / "report.html"
    shown = subprocess.run(
        [*cli, "report", "--plugin", str(plugin), "-o", str(html), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    page = html.read_text(encoding="utf-8")
    assert "not attributable: agent kind &#x27;opaque&#x27; cannot replay" in page or (
        "not attributable: agent kind 'opaque' cannot replay" in page
    )
