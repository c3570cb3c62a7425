"""The run spec record: written and read through one model, older plain dicts migrated."""

from __future__ import annotations

from pathlib import Path

from callgate.store.db import Store
from callgate.store.run_spec import PluginsUsed, RunSpec


def test_a_version_1_dict_reads_as_the_current_record() -> None:
    old = {"suite": "s", "variants": {"baseline": "abc"}, "grid": "default", "seed": 3}
    spec = RunSpec.model_validate(old)
    assert spec.schema_version == 2 and spec.plugins.modules == [] and spec.suite_json is None
    listed = RunSpec.model_validate({"variants": ["baseline", "candidate"]})
    assert list(listed.variants) == ["baseline", "candidate"]


def test_the_run_id_follows_the_identity_not_the_derived_fields() -> None:
    a = RunSpec(suite="s", suite_hash="h", variants={"v": "1"}, seed=1)
    assert a.run_id() == RunSpec(suite="s", suite_hash="h", variants={"v": "1"}, seed=1).run_id()
    assert a.run_id() != a.model_copy(update={"seed": 2}).run_id()
    moved = a.model_copy(update={"suite_path": "/elsewhere/suite.yaml", "suite_json": {"x": 1}})
    assert moved.run_id() == a.run_id()  # the same content from another folder resumes the run
    plugged = a.model_copy(update={"plugins": PluginsUsed(modules=["my_plugins"])})
    assert plugged.run_id() != a.run_id()  # other code may make other calls


def test_the_store_round_trips_the_record(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s")
    spec = RunSpec(suite="s", variants={"baseline": "h"}, plugins=PluginsUsed(modules=["m"]))
    store.ensure_run("r1", spec, planned=1)
    assert store.run("r1").spec == spec
