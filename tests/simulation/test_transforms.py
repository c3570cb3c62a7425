"""Channel transforms: registered by entry point, applied after the line, seeded, checked early."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.simulation.channel import add_noise, apply_channel, degrade
from callgate.simulation.transforms import CHANNEL_TRANSFORMS
from callgate.speech.audio import SAMPLE_RATE, Audio


def tone(seconds: float = 0.5, amplitude: float = 0.9) -> Audio:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return Audio((amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)


def test_builtin_transforms_come_from_callgates_entry_points() -> None:
    assert {"clipping", "gain"} <= set(CHANNEL_TRANSFORMS.names())
    assert CHANNEL_TRANSFORMS.origin("clipping").startswith("callgate ")


def test_transforms_apply_in_order_after_the_line() -> None:
    plain = ChannelSpec()
    hot = ChannelSpec(transforms=[{"name": "clipping", "params": {"level": 0.3}}])  # type: ignore[list-item]
    quiet = ChannelSpec(transforms=[{"name": "gain", "params": {"db": -20}}])  # type: ignore[list-item]
    rng = np.random.default_rng
    base = degrade(tone(), NoiseSpec(), plain, rng(1)).audio.samples
    clipped = degrade(tone(), NoiseSpec(), hot, rng(1)).audio.samples
    assert np.abs(base).max() > 0.85 and np.abs(clipped).max() == pytest.approx(0.3)
    assert len(clipped) == len(base)
    softer = degrade(tone(), NoiseSpec(), quiet, rng(1)).audio.samples
    assert np.abs(softer).max() == pytest.approx(np.abs(base).max() / 10, rel=1e-3)
    # No transform: exactly the line alone, so suites written before transforms reproduce.
    g = rng(1)
    line = apply_channel(add_noise(tone(), NoiseSpec(), g), plain, g).audio.samples
    assert np.array_equal(base, line)


def test_bad_parameters_are_refused_by_the_transform() -> None:
    with pytest.raises(ValueError, match="clipping level"):
        CHANNEL_TRANSFORMS.create("clipping", level=2.0)


def test_unknown_transform_is_a_one_line_error_before_the_run(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "schema_version: 1\nname: s\nvoices: {a: {engine: espeak, voice: en-us}}\n"
        "channels: {wideband: {type: wideband, transforms: [{name: reverb}]}}\n"
        "grids: {default: [{voice: [a]}]}\nvariants: {v: v.yaml}\nscenarios:\n"
        "  - id: x\n    call_type: c\n    caller: {goal: g, turns: [hello]}\n"
    )
    (tmp_path / "v.yaml").write_text(
        "schema_version: 2\nname: v\nagent:\n  kind: pipeline\n"
        "  policy: {name: banking}\n  tools: {toolset: banking}\n"
    )
    store = tmp_path / "store"
    code, _out, err = cli("run", "--suite", str(suite), "-v", "v", "--store", str(store))
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"callgate: error: {suite}: channels.wideband.transforms[0].name: "
        "unknown channel transform 'reverb' (known: clipping, gain)"
    ]
    assert not store.exists()
