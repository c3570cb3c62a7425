"""Plugins: entry points found lazily, module:attr and file.py:attr references, --plugin modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from callgate.errors import UsageError
from callgate.plugins import absolute_reference, is_reference, load_plugin_modules, load_reference
from callgate.registry import Registry


def _dist(tmp_path: Path, group: str, name: str, value: str, module_src: str) -> Path:
    """A real installed distribution on a path entry: a module plus .dist-info entry points."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "cgtest_plugin.py").write_text(textwrap.dedent(module_src))
    info = site / "cgtest_plugin-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cgtest-plugin\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {value}\n")
    return site


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch):
    def add(path: Path) -> None:
        monkeypatch.syspath_prepend(str(path))

    yield add
    sys.modules.pop("cgtest_plugin", None)


def test_entry_point_is_loaded_lazily_and_records_its_origin(tmp_path: Path, on_path) -> None:
    site = _dist(tmp_path, "cgtest.things", "echo", "cgtest_plugin:Echo", "class Echo:\n  pass\n")
    on_path(site)
    reg: Registry[object] = Registry("thing", "cgtest.things")
    assert "echo" in reg.names()
    assert "cgtest_plugin" not in sys.modules  # listing names imports nothing
    assert reg.factory("echo").__name__ == "Echo"
    assert reg.origin("echo") == "cgtest-plugin 1.2.3: cgtest_plugin:Echo"


def test_entry_point_that_fails_to_import_is_one_line(tmp_path: Path, on_path) -> None:
    site = _dist(tmp_path, "cgtest.things", "bad", "cgtest_plugin:Bad", "import no_such_mod\n")
    on_path(site)
    reg: Registry[object] = Registry("thing", "cgtest.things")
    with pytest.raises(UsageError) as info:
        reg.factory("bad")
    line = info.value.one_line()
    assert "\n" not in line
    assert "thing 'bad' from plugin cgtest-plugin 1.2.3" in line
    assert "ModuleNotFoundError" in line


def test_unknown_name_lists_known_ones() -> None:
    reg: Registry[object] = Registry("thing", "cgtest.none")
    reg.register("a")(object)
    with pytest.raises(UsageError, match=r"unknown thing 'zz' \(known: a\)"):
        reg.factory("zz")
    reg.unregister("a")
    assert reg.names() == []


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("pkg.mod:attr", True),
        ("mod:Class.factory", True),
        ("some/dir/file.py:make", True),
        ("whisper", False),
        ("pkg.mod:", False),
        ("http://x:y", False),
    ],
)
def test_reference_syntax(text: str, ok: bool) -> None:
    assert is_reference(text) is ok


def test_module_and_file_references(tmp_path: Path) -> None:
    assert load_reference("json:dumps") is __import__("json").dumps
    src = tmp_path / "mine.py"
    src.write_text("class Policy:\n    @staticmethod\n    def make():\n        return 42\n")
    ref = absolute_reference("mine.py:Policy.make", tmp_path)
    assert ref == f"{src}:Policy.make"
    assert load_reference(ref)() == 42
    reg: Registry[object] = Registry("thing", "cgtest.none")
    assert reg.create(ref) == 42
    assert reg.origin(ref) == f"reference {ref}"


def test_broken_references_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="plugin 'json:nope' failed to load: AttributeError"):
        load_reference("json:nope")
    missing = tmp_path / "missing.py"
    with pytest.raises(UsageError, match="FileNotFoundError"):
        load_reference(f"{missing}:x")
    with pytest.raises(UsageError, match="--plugin: plugin 'no_such_module_x' failed"):
        load_plugin_modules(["no_such_module_x"])


def test_cli_plugin_anywhere_on_the_line(tmp_path: Path) -> None:
    plugin = tmp_path / "reg.py"
    plugin.write_text(
        "from callgate.execution.executors import EXECUTORS, InlineExecutor\n"
        "EXECUTORS.register('mine')(lambda workers=None: InlineExecutor())\n"
        "print('plugin loaded')\n"
    )
    cli = [sys.executable, "-m", "callgate.cli.main"]
    done = subprocess.run(
        [*cli, "runs", "--plugin", str(plugin), "--store", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "plugin loaded" in done.stdout
    bad = subprocess.run(
        [*cli, "--plugin", "no_such_module_y", "runs"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "callgate: error: --plugin: plugin 'no_such_module_y' failed to load: "
        "ModuleNotFoundError: No module named 'no_such_module_y'"
    ]


def test_a_registered_name_may_not_shadow_a_plugins(tmp_path: Path, on_path) -> None:
    site = _dist(tmp_path, "cgtest.things", "echo", "cgtest_plugin:Echo", "class Echo:\n  pass\n")
    on_path(site)
    reg: Registry[object] = Registry("thing", "cgtest.things")
    with pytest.raises(UsageError, match="'echo' is registered by registered and offered by"):
        reg.register("echo")(object)


def test_a_broken_plugin_does_not_stop_listing(tmp_path: Path, on_path) -> None:
    site = _dist(tmp_path, "cgtest.things", "bad", "cgtest_plugin:Bad", "import no_such_mod\n")
    on_path(site)
    reg: Registry[object] = Registry("thing", "cgtest.things")
    reg.register("good")(object)
    reg.load_all()  # what export or gate do to list every metric
    assert reg.names() == ["good"]
    with pytest.raises(UsageError, match=r"thing 'bad' from plugin cgtest-plugin 1\.2\.3"):
        reg.factory("bad")  # naming it still says why


def test_evaluators_by_reference_keep_their_name_for_the_workers(tmp_path: Path) -> None:
    from callgate.evaluators.suite import build_all, evaluation_spec, resolved_spec
    from callgate.scenarios.evaluation import EvaluationRules

    src = tmp_path / "polite.py"
    src.write_text(
        "class Polite:\n    name = 'Politeness'\n    metrics = []\n"
        "    def params(self):\n        return {}\n"
    )
    ref = f"{src}:Polite"
    spec = evaluation_spec(EvaluationRules.model_validate({"evaluators": [{"name": ref}]}))
    resolved = resolved_spec(spec, build_all(spec))
    assert resolved[0]["name"] == ref  # not the class's own name, which no registry knows
    assert [e.name for e in build_all(resolved)] == ["Politeness"]


def test_a_relative_kind_reference_is_relative_to_the_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callgate.variants.load import load_variant

    sub = tmp_path / "agents"
    sub.mkdir()
    (sub / "kind.py").write_text(
        "from typing import Literal\n"
        "from callgate.agents.pipeline import PipelineAgent\n"
        "from callgate.agents.pipeline_config import PipelineConfig\n"
        "from callgate.agents.voice import AgentKind\n"
        "class Config(PipelineConfig):\n"
        "    kind: Literal['mine'] = 'mine'  # type: ignore[assignment]\n"
        "KIND = AgentKind(config_model=Config, create=PipelineAgent)\n"
    )
    (sub / "v.yaml").write_text(
        "schema_version: 2\nname: v\nagent:\n  kind: kind.py:KIND\n"
        "  policy: {name: p}\n  tools: {toolset: t}\n"
    )
    monkeypatch.chdir(tmp_path)  # not the variant's folder
    loaded = load_variant(str(sub / "v.yaml"))
    assert loaded.variant.agent.kind == f"{sub / 'kind.py'}:KIND"
    assert loaded.variant.agent.config()["turn"]["end_of_turn_silence_ms"] == 800
