"""Routes: a call whose line metadata match takes the route's ASR; only line metadata can match."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callgate.agents.pipeline_config import PipelineConfig, RouteSpec
from callgate.errors import UsageError
from callgate.variants.load import load_variant
from support.banking_run import run_scored

SUITE = Path(__file__).resolve().parents[2] / "plugins/banking/src/callgate_banking/suite"


def variant_with(tmp_path: Path, routes: list[dict]) -> Path:  # type: ignore[type-arg]
    doc = yaml.safe_load((SUITE / "variants/baseline.yaml").read_text())
    doc["name"] = "routed"
    doc["agent"]["routes"] = routes
    path = tmp_path / "routed.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_first_matching_route_changes_only_what_it_names() -> None:
    config = PipelineConfig.model_validate(
        {
            "policy": {"name": "p"},
            "tools": {"toolset": "t"},
            "routes": [
                {"when": {"locale": ["en-GB"]}, "transfer_after_failures": 1},
                {"when": {"channel": ["phone"]}, "asr": {"engine": "pocketsphinx"}},
            ],
        }
    )
    index, uk = config.routed({"locale": "en-GB", "channel": "phone"})
    assert index == 0 and uk.routing.transfer_after_failures == 1 and uk.asr.engine == "whisper"
    index, us = config.routed({"locale": "en-US", "channel": "phone"})
    assert index == 1 and us.asr.engine == "pocketsphinx" and us.routing == config.routing
    assert config.routed({"locale": "en-US", "channel": "wideband"}) == (None, config)


def test_a_route_on_what_only_the_simulator_knows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown call metadata accent"):
        RouteSpec.model_validate({"when": {"accent": ["scottish"]}})
    path = variant_with(
        tmp_path, [{"when": {"accent": ["scottish"]}, "transfer_after_failures": 1}]
    )
    with pytest.raises(
        UsageError,
        match=r"routed\.yaml:\d+: agent\.routes\[0\]\.when: unknown call metadata accent",
    ):
        load_variant(str(path))


def test_a_routes_asr_is_checked_before_a_run(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = variant_with(tmp_path, [{"when": {"channel": ["phone"]}, "asr": {"engine": "nope"}}])
    code, _, err = cli("run", "-v", str(path), "--suite", "banking", "--store", str(tmp_path / "s"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "routes[0].asr.engine: unknown ASR engine 'nope'" in err
    assert not (tmp_path / "s").exists()  # refused before a store or a run is made


@pytest.mark.slow
def test_a_routed_call_is_heard_by_the_routes_asr(tmp_path: Path, shared_store: Path) -> None:
    routes = [
        {"when": {"locale": ["en-GB"]}, "asr": {"engine": "whisper"}},  # not this caller
        {"when": {"channel": ["phone"]}, "asr": {"engine": "pocketsphinx"}},
    ]
    path = variant_with(tmp_path, routes)
    ((trace, scores),) = run_scored(
        shared_store, path, ["balance-checking-simple"], ["ASRAccuracy"]
    )
    heard = [t.asr for t in trace.agent_turns if t.asr is not None]
    assert heard and {a.engine for a in heard} == {"pocketsphinx"}
    assert "route1" in trace.engines and "pocketsphinx" in trace.engines["route1"]
    assert scores.metrics["asr_wer"] is not None
