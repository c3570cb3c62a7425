"""Fan scenarios out over a cohort grid and filter the cells to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from callgate.errors import UsageError
from callgate.scenarios.faults import NO_FAULT, FaultSpec
from callgate.scenarios.model import ChannelSpec, NoiseSpec, Scenario, Suite, VoiceSpec


@dataclass(frozen=True)
class Cell:
    """One scenario in one cohort (voice x noise x channel x provider faults)."""

    scenario: Scenario
    voice_name: str
    voice: VoiceSpec
    noise_name: str
    noise: NoiseSpec
    channel_name: str
    channel: ChannelSpec
    cohort_id: str
    tags: dict[str, str]
    fault_name: str = NO_FAULT
    faults: tuple[FaultSpec, ...] = field(default=())  # the profile's faults; () for none


def scenario_tags(scenario: Scenario) -> dict[str, str]:
    """The tags a scenario carries whatever cohort it runs in (its own free-form tags included)."""
    return {
        "call_type": scenario.call_type,
        "tool_path": ">".join(t.tool for t in scenario.expect.tools) or "none",
        "outcome": scenario.expect.label,
        "split": scenario.split,
        **scenario.tags,
    }


def cohort_tags(
    scenario: Scenario,
    voice_name: str,
    voice: VoiceSpec,
    noise_name: str,
    noise: NoiseSpec,
    channel_name: str,
    fault_name: str = NO_FAULT,
) -> dict[str, str]:
    """Every tag a cohort slice can be cut on. Free-form scenario tags cannot shadow the built-in
    ones: the scenario model rejects reserved names."""
    return {
        "locale": voice.locale,
        "voice": voice_name,
        "accent": voice.accent,
        "noise": noise_name,
        "snr_db": "none" if noise.snr_db is None else f"{noise.snr_db:g}",
        "channel": channel_name,
        "fault": fault_name,
        **scenario_tags(scenario),
    }


def expand(suite: Suite, grid: str) -> list[Cell]:
    if grid not in suite.grids:
        known = ", ".join(sorted(suite.grids))
        raise UsageError(f"unknown grid {grid!r} in suite {suite.name!r} (known: {known})")
    cells: list[Cell] = []
    for sc in suite.scenarios:
        seen: set[str] = set()
        for block in sc.grid or suite.grids[grid]:
            if block.where and not _matches(sc, block.where):
                continue
            for v, n, c, f in product(block.voice, block.noise, block.channel, block.fault):
                # Without faults the id keeps its old form, so seeds and call ids do not move.
                cohort_id = f"voice={v}|noise={n}|channel={c}"
                cohort_id += "" if f == NO_FAULT else f"|fault={f}"
                if cohort_id in seen:  # blocks of a union grid may overlap
                    continue
                seen.add(cohort_id)
                voice, noise = suite.voices[v], suite.noises[n]
                cells.append(
                    Cell(
                        sc,
                        v,
                        voice,
                        n,
                        noise,
                        c,
                        suite.channels[c],
                        cohort_id,
                        cohort_tags(sc, v, voice, n, noise, c, f),
                        f,
                        tuple(suite.faults.get(f, ())),
                    )
                )
    return cells


def _matches(scenario: Scenario, where: dict[str, list[str]]) -> bool:
    """Scenario-level tags only: a block's own voice, noise and channel are chosen by the block."""
    tags = scenario_tags(scenario)
    return all(tags.get(key) in values for key, values in where.items())


def parse_filters(items: list[str]) -> dict[str, set[str]]:
    """``["accent=scottish,us", "channel=phone"]`` -> {accent: {scottish, us}, channel: {phone}}."""
    filters: dict[str, set[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise UsageError(f"cohort filter {item!r} must look like tag=value[,value]")
        filters.setdefault(key.strip(), set()).update(v.strip() for v in values.split(","))
    return filters


def select(
    cells: list[Cell],
    *,
    cohort: dict[str, set[str]] | None = None,
    scenarios: list[str] | None = None,
    split: str = "all",
) -> list[Cell]:
    out = cells
    if scenarios:
        known = {c.scenario.id for c in cells}
        missing = sorted(set(scenarios) - known)
        if missing:
            raise UsageError(f"unknown scenario id(s): {', '.join(missing)}", field="--scenario")
        out = [c for c in out if c.scenario.id in scenarios]
    if split != "all":
        out = [c for c in out if c.scenario.split == split]
    for key, values in (cohort or {}).items():
        if cells and key not in cells[0].tags and not any(key in c.tags for c in cells):
            known_tags = ", ".join(sorted(cells[0].tags))
            raise UsageError(f"unknown cohort tag {key!r} (known: {known_tags})", field="--cohort")
        out = [c for c in out if c.tags.get(key) in values]
    return out
