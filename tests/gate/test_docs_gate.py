"""docs/gate.md stays in step with the policy model: its example loads, every field is described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from callgate.gate import policy as pm
from callgate.gate.policy import load_policy

DOC = (Path(__file__).resolve().parents[2] / "docs" / "gate.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- example: policy -->\n```yaml\n(.*?)^```", re.M | re.S)


def test_policy_example_loads(tmp_path: Path) -> None:
    blocks = EXAMPLE.findall(DOC)
    assert blocks, "docs/gate.md has no '<!-- example: policy -->' YAML block"
    path = tmp_path / "policy.yaml"
    path.write_text(blocks[0], encoding="utf-8")
    policy = load_policy(str(path))
    assert policy.cohorts.overrides["accent=scottish"].min_calls == 40


@pytest.mark.parametrize(
    "model", [pm.Policy, pm.Cohorts, pm.CohortRule, pm.MetricRule, pm.MetricOverride]
)
def test_every_policy_field_is_documented(model: type[BaseModel]) -> None:
    missing = [f for f in model.model_fields if f"`{f}`" not in DOC]
    assert not missing, f"docs/gate.md does not mention: {', '.join(missing)}"
