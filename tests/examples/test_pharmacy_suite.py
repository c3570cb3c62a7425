"""The pharmacy suite as a whole: it loads, its variants build the agent, its evaluation rules
match the agent, and every scenario, played as text through the policy with its own caller
script, reaches its expected outcome. That last part proves the phrase contract between the
policy's words and the scenarios' reactions."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from callgate_pharmacy import SCHEMAS, SENSITIVE, SUITE, PharmacyPolicy, PharmacyTools

from callgate.agents.policy import POLICIES, TOOLSETS
from callgate.errors import UsageError
from callgate.evaluators.consent import affirms
from callgate.evaluators.expectations import check_predicate, match_tool_path
from callgate.scenarios.cohorts import expand
from callgate.scenarios.load import load_suite
from callgate.scenarios.model import Suite
from callgate.traces.model import ToolCallTrace
from callgate.variants.load import load_variant

from .conftest import EXAMPLE
from .text_calls import TextCall, drive, merged

NEW_KEYS = ("evaluation", "variants")  # the plugin contract's additions to the suite format
RAW = yaml.safe_load(SUITE.read_text(encoding="utf-8"))
RULES: dict[str, Any] = RAW["evaluation"]
VARIANTS = {name: SUITE.parent / rel for name, rel in RAW["variants"].items()}
SCENARIO_IDS = [
    s["id"]
    for s in yaml.safe_load((SUITE.parent / "scenarios.yaml").read_text(encoding="utf-8"))[
        "scenarios"
    ]
]
TOOL_NAMES = {s.name for s in SCHEMAS}


def _raw_variant(name: str) -> dict[str, Any]:
    """The variant file as written: the pipeline's blocks (under ``agent:`` in schema 2) beside
    the file's own keys."""
    data: dict[str, Any] = yaml.safe_load(VARIANTS[name].read_text(encoding="utf-8"))
    agent = data.pop("agent")
    assert agent.pop("kind") == "pipeline"
    return {**data, **agent}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    try:
        return load_suite(str(SUITE)).suite
    except UsageError as exc:
        if not any(key in str(exc) for key in NEW_KEYS):
            raise
    # A callgate that predates the plugin contract rejects its two new keys: load the same suite
    # without them, so the scenarios are still checked.
    folder = tmp_path_factory.mktemp("suite")
    (folder / "suite.yaml").write_text(
        yaml.safe_dump({k: v for k, v in RAW.items() if k not in NEW_KEYS}), encoding="utf-8"
    )
    shutil.copy(SUITE.parent / "scenarios.yaml", folder / "scenarios.yaml")
    return load_suite(str(folder / "suite.yaml")).suite


def play(suite: Suite, scenario_id: str, variant: str) -> TextCall:
    """One scenario as text, with the agent the variant file describes."""
    raw = _raw_variant(variant)
    # As callgate's pipeline builds a policy (agents/pipeline.py, policy_params): the routing
    # setting arrives as max_failures, and the policy's own params override it.
    params = {"version": raw["policy"]["version"]}
    params["max_failures"] = raw["routing"]["transfer_after_failures"]
    params.update(raw["policy"].get("params", {}))
    policy = POLICIES.create(raw["policy"]["name"], **params)
    scenario = next(s for s in suite.scenarios if s.id == scenario_id)
    state = merged(suite.fixtures[scenario.fixture], scenario.state)
    tools = TOOLSETS.create(
        raw["tools"]["toolset"], initial_state=state, **raw["tools"].get("params", {})
    )
    return drive(
        scenario,
        suite.reactions,
        policy,
        tools,
        end_of_turn_ms=raw["turn"]["end_of_turn_silence_ms"],
        no_input_timeout_s=raw["turn"]["no_input_timeout_s"],
    )


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


# --------------------------------------------------------------------------- the suite


def test_suite_shape(suite: Suite) -> None:
    assert suite.name == "pharmacy" and len(suite.scenarios) >= 22
    assert [s.id for s in suite.scenarios] == SCENARIO_IDS
    call_types = {s.call_type for s in suite.scenarios}
    assert {"refill", "status", "delivery", "cancel", "hours", "handoff", "out_of_scope"} <= (
        call_types
    )
    assert {s.split for s in suite.scenarios} == {"dev", "holdout"}
    behaviours = {s.tags.get("behaviour") for s in suite.scenarios}
    required = {"happy", "slot_fill", "correction", "barge_in", "silence", "frustrated"}
    assert required | {"handoff", "out_of_scope"} <= behaviours
    for scenario in suite.scenarios:
        assert scenario.expect.outcome or scenario.expect.tools, scenario.id
        tools = {t.tool for t in scenario.expect.tools} | set(scenario.expect.forbidden_tools)
        assert tools <= TOOL_NAMES, scenario.id
        assert scenario.expect.transferred == (scenario.expect.label == "transferred")


def test_grids(suite: Suite) -> None:
    cohorts = {grid: {c.cohort_id for c in expand(suite, grid)} for grid in suite.grids}
    assert cohorts["default"] == {
        "voice=us-joe|noise=clean|channel=phone",
        "voice=caribbean|noise=clean|channel=phone",
    }
    assert cohorts["smoke"] == {"voice=us-joe|noise=clean|channel=phone"}
    assert len(expand(suite, "default")) == 2 * len(suite.scenarios)
    engines = {v.engine: v.voice for v in suite.voices.values() if v.engine == "piper"}
    assert engines == {"piper": "joe"}


def test_evaluation_rules_match_the_agent(suite: Suite) -> None:
    assert set(RULES) >= {
        "sensitive_tools", "handoff_tools", "confirmation_phrases", "handoff_phrases",
        "personal_data", "forbidden_claims", "entities", "intents", "lexicon",
    }  # fmt: skip
    assert RULES["sensitive_tools"] == list(SENSITIVE)
    assert RULES["handoff_tools"] == ["connect_pharmacist"]
    assert set(RULES["handoff_tools"]) <= TOOL_NAMES
    dob = re.compile(RULES["personal_data"]["date_of_birth"])
    for fixture in suite.fixtures.values():
        assert dob.search(fixture["patient"]["date_of_birth"])
        drugs = {rx["drug"].lower() for rx in fixture["prescriptions"].values()}
        assert drugs | {s.lower() for s in fixture["pharmacies"]} <= set(RULES["entities"])
    assert set(RULES["intents"]) >= {"refill", "status", "delivery", "cancel"}


# --------------------------------------------------------------------------- every scenario


@pytest.mark.usefixtures("pharmacy_registered")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_scenario_as_text(suite: Suite, scenario_id: str, variant: str) -> None:
    scenario = next(s for s in suite.scenarios if s.id == scenario_id)
    call = play(suite, scenario_id, variant)
    transcript = call.transcript()
    expect = scenario.expect

    traces = [
        ToolCallTrace(index=i, turn=0, tool=c.tool, args=c.args, ok=c.result.ok, start=i, end=i)
        for i, c in enumerate(call.tool_calls)
    ]
    path = match_tool_path(expect.tools, traces, expect.forbidden_tools)
    for match in path.expected:
        assert match.correct, f"{match.tool} {match.arg_results}\n{transcript}"
    assert not path.extra_calls and not path.forbidden_calls, transcript
    for pred in expect.outcome:
        ok, why = check_predicate(pred, call.final_state)
        assert ok, f"{pred.path}: {why}\n{transcript}"
    assert call.transferred == expect.transferred, transcript
    if expect.label == "ended":
        assert call.ended_by == "agent_hangup" and "haven't heard" in call.replies[-1].text

    spoken = [r.text for r in call.replies]
    for phrase in expect.agent_says:
        assert any(_words(phrase) in _words(text) for text in spoken), (phrase, transcript)
    if expect.label == "resolved":
        echoed = [e for e in scenario.critical_entities if e.lower() in RULES["entities"]]
        for entity in echoed:
            assert any(entity.lower() in text.lower() for text in spoken), (entity, transcript)


@pytest.mark.usefixtures("pharmacy_registered")
def test_the_rules_hold_on_every_scenario(suite: Suite) -> None:
    """Sensitive actions follow a spoken "yes", hand-offs say so, nothing forbidden is said."""
    confirm, handoff = RULES["confirmation_phrases"], RULES["handoff_phrases"]
    personal = [re.compile(p) for p in RULES["personal_data"].values()]
    spoken: list[str] = []
    for scenario_id in SCENARIO_IDS:
        call = play(suite, scenario_id, "baseline")
        spoken += [r.text for r in call.replies]
        for c in call.tool_calls:
            if c.tool in RULES["sensitive_tools"]:
                assert any(p in c.asked.lower() for p in confirm), (scenario_id, c.asked)
                assert c.answer is not None and affirms(c.answer), (scenario_id, c.answer)
        handed_off = any(c.tool in RULES["handoff_tools"] for c in call.tool_calls)
        assert handed_off == call.transferred, scenario_id
        for reply in call.replies:
            text = reply.text.lower()
            assert reply.transferred == any(p in text for p in handoff), (scenario_id, text)
            assert not any(p.search(reply.text) for p in personal), (scenario_id, text)
            assert not any(c in text for c in RULES["forbidden_claims"]), (scenario_id, text)
    # Every phrase a caller reacts to is one the agent really says somewhere in the suite: a
    # reaction whose words the agent never uses would silently never fire.
    phrases = {w for r in suite.reactions for w in r.when}
    phrases |= {w for s in suite.scenarios for r in s.caller.reactions for w in r.when}
    for phrase in phrases | set(confirm) | set(handoff):
        assert any(phrase.lower() in text.lower() for text in spoken), phrase


@pytest.mark.usefixtures("pharmacy_registered")
def test_the_readme_contract_is_what_the_agent_says(suite: Suite) -> None:
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    table = readme.split("## What the agent says")[1].split("\n## ")[0]
    quoted = [
        q
        for row in table.splitlines()
        if row.startswith("| ")
        for q in re.findall(r'"([^"]+)"', row)
    ]
    spoken = " ".join(r.text for sid in SCENARIO_IDS for r in play(suite, sid, "baseline").replies)
    assert len(quoted) >= 15
    for phrase in quoted:
        for piece in phrase.split("..."):
            assert piece.strip(" ,.") in spoken, piece


# --------------------------------------------------------------------------- variants


def test_variants_load_and_differ_only_in_tuning() -> None:
    assert set(VARIANTS) == {"baseline", "candidate"}
    loaded = {name: load_variant(str(path)) for name, path in VARIANTS.items()}
    assert loaded["baseline"].variant.name != loaded["candidate"].variant.name
    base, cand = _raw_variant("baseline"), _raw_variant("candidate")
    for raw in (base, cand):
        assert raw["schema_version"] == 2 and raw["policy"]["name"] == "pharmacy"
        assert raw["tools"] == {"toolset": "pharmacy", "schema_version": "pharmacy-v1"}

    def flat(data: Any, prefix: str = "") -> dict[str, Any]:
        if not isinstance(data, dict):
            return {prefix: data}
        return {k: v for key, val in data.items() for k, v in flat(val, f"{prefix}.{key}").items()}

    fb, fc = flat(base), flat(cand)
    changed = {k for k in fb.keys() | fc.keys() if fb.get(k) != fc.get(k)}
    tuned = {".asr.hints.vocabulary", ".asr.hints.prompt", ".policy.params.drug_match_cutoff"}
    assert changed == tuned | {".name", ".description", ".policy.version"}


@pytest.mark.usefixtures("pharmacy_registered")
def test_variants_build_through_the_registries() -> None:
    identities = set()
    for name in VARIANTS:
        raw = _raw_variant(name)
        params = {"version": raw["policy"]["version"], **raw["policy"]["params"]}
        params["max_failures"] = raw["routing"]["transfer_after_failures"]
        policy = POLICIES.create("pharmacy", **params, cache_dir="/unused")
        assert isinstance(policy, PharmacyPolicy) and policy.max_failures == 2
        identities.add(policy.identity())
        assert isinstance(TOOLSETS.create("pharmacy", initial_state={}), PharmacyTools)
    assert len(identities) == 2


# --------------------------------------------------------------------------- packaging


PYPROJECT = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
ENTRY_POINTS = {
    "callgate.policies": ("pharmacy", "callgate_pharmacy.policy:PharmacyPolicy"),
    "callgate.toolsets": ("pharmacy", "callgate_pharmacy.tools:PharmacyTools"),
    "callgate.suites": ("pharmacy", "callgate_pharmacy:SUITE"),
    "callgate.evaluators": ("RefillSafety", "callgate_pharmacy.evaluators:RefillSafety"),
}


def _resolve(ref: str) -> Any:
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


def test_pyproject_declares_the_plugin() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "callgate-pharmacy" and "callgate" in project["dependencies"]
    for group, (name, ref) in ENTRY_POINTS.items():
        assert project["entry-points"][group] == {name: ref}
    assert _resolve(ENTRY_POINTS["callgate.policies"][1]) is PharmacyPolicy
    assert _resolve(ENTRY_POINTS["callgate.toolsets"][1]) is PharmacyTools
    suite_path = _resolve(ENTRY_POINTS["callgate.suites"][1])
    assert isinstance(suite_path, Path) and suite_path.is_file()
    package = SUITE.parent.parent
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["callgate_pharmacy"]
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert {*package.rglob("*.yaml"), package / "py.typed"} <= shipped


def test_the_package_never_registers_itself() -> None:
    """callgate loads the entry points lazily; registering on import would clash with that."""
    for path in (SUITE.parent.parent).glob("*.py"):
        assert ".register(" not in path.read_text(encoding="utf-8"), path.name


def test_installed_entry_points_resolve() -> None:
    found = {
        group: {ep.name: ep.value for ep in importlib.metadata.entry_points(group=group)}
        for group in ENTRY_POINTS
    }
    if "pharmacy" not in found["callgate.policies"]:
        pytest.skip("callgate-pharmacy is not installed (pip install -e examples/pharmacy)")
    for group, (name, ref) in ENTRY_POINTS.items():
        assert found[group][name] == ref
    assert POLICIES.factory("pharmacy") is PharmacyPolicy
    assert TOOLSETS.factory("pharmacy") is PharmacyTools
