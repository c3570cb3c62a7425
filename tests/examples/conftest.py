"""The pharmacy example's tests: importable from a fresh clone, before ``pip install -e``.

The example's ``src`` folder goes first on ``sys.path``, so these tests exercise the working tree
even where an older copy of the plugin is installed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pharmacy"
_SRC = str(EXAMPLE / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)


@pytest.fixture
def pharmacy_registered() -> Iterator[None]:
    """``pharmacy`` in callgate's policy and tool-set registries, for this test only.

    Installed, the plugin arrives through its entry points; from a fresh clone it does not, so it
    is registered here, and removed afterwards so that other tests see the registries they expect.
    """
    from callgate_pharmacy import PharmacyPolicy, PharmacyTools

    from callgate.agents.policy import POLICIES, TOOLSETS
    from callgate.registry import Registry

    added: list[Registry[Any]] = []
    if "pharmacy" not in POLICIES:
        POLICIES.register("pharmacy")(PharmacyPolicy)
        added.append(POLICIES)
    if "pharmacy" not in TOOLSETS:
        TOOLSETS.register("pharmacy")(PharmacyTools)
        added.append(TOOLSETS)
    yield
    for registry in added:
        registry.unregister("pharmacy")
