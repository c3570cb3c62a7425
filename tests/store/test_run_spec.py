"""The run spec record: written and read through one model, older plain dicts migrated."""

from __future__ import annotations

from pathlib import Path

from callgate.store.db import Store
from callgate.store.run_spec import ImportBatch, LogFile, PluginsUsed, RunSpec


def test_a_version_1_dict_reads_as_the_current_record() -> None:
    old = {"suite": "s", "variants": {"baseline": "abc"}, "grid": "default", "seed": 3}
    spec = RunSpec.model_validate(old)
    assert spec.schema_version == 3 and spec.plugins.modules == [] and spec.suite_json is None
    assert spec.imported is None
    listed = RunSpec.model_validate({"variants": ["baseline", "candidate"]})
    assert list(listed.variants) == ["baseline", "candidate"]


def test_a_version_2_record_reads_as_version_3_with_the_same_run_id() -> None:
    v2 = {"schema_version": 2, "suite": "s", "variants": {"baseline": "abc"}, "seed": 3}
    spec = RunSpec.model_validate(v2)
    assert spec.schema_version == 3 and spec.imported is None
    # Simulated runs keep their ids: the import block counts only when there is one.
    assert spec.run_id() == RunSpec(suite="s", variants={"baseline": "abc"}, seed=3).run_id()


def test_an_import_run_id_follows_its_files_content() -> None:
    def batch(*shas: str) -> RunSpec:
        files = [LogFile(path=f"/logs/{s}.jsonl", sha256=s, format="jsonl", calls=1) for s in shas]
        return RunSpec(suite="prod", imported=ImportBatch(files=files))

    assert batch("a", "b").run_id() == batch("b", "a").run_id()  # order and paths do not count
    assert batch("a").run_id() != batch("a", "b").run_id()
    assert batch("a").run_id() != RunSpec(suite="prod").run_id()


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
