"""``callgate compare`` without the terminal: pick metrics and slices, pair, compare."""

from __future__ import annotations

from dataclasses import dataclass, field

from callgate.comparison.compare import Comparison, MetricSpec, compare
from callgate.comparison.pairing import Pairing, pair
from callgate.comparison.sides import Side
from callgate.comparison.slices import Slice, build_slices
from callgate.errors import UsageError

# The cohort tags a comparison slices by unless told otherwise (the default policy's).
DEFAULT_BY = ["accent", "noise", "channel", "call_type", "split"]


@dataclass
class CompareResult:
    pairing: Pairing
    slices: list[Slice]
    comparisons: list[Comparison]
    notes: list[str] = field(default_factory=list)


def select_metrics(
    base: Side, cand: Side, requested: list[str]
) -> tuple[list[MetricSpec], list[str]]:
    """Metrics to compare: ``requested`` (``NAME`` or ``NAME:higher|lower`` for metrics of your
    own), else every metric both sides have whose direction callgate knows."""
    from callgate.evaluators.base import metric_index
    from callgate.evaluators.suite import load_evaluators

    load_evaluators()
    known = metric_index()
    shared = [m for m in base.metrics if m in cand.metrics]
    notes: list[str] = []
    specs: list[MetricSpec] = []
    if not requested:
        unknown = [m for m in shared if m not in known]
        if unknown:
            notes.append(
                f"not compared (direction unknown; pass --metric NAME:higher|lower): "
                f"{', '.join(unknown)}"
            )
        # A count of events is the denominator of a rate, not an outcome: it gets no verdict.
        counts = {m.events for m in known.values() if m.events}
        requested = [m for m in shared if m in known and m not in counts]
    for item in requested:
        name, _, direction = item.partition(":")
        if name not in shared:
            raise UsageError(f"metric {name!r} is not in both results", field="--metric")
        meta = known.get(name)
        if direction not in ("", "higher", "lower"):
            raise UsageError(f"{item!r}: direction must be higher or lower", field="--metric")
        if meta is None and not direction:
            raise UsageError(
                f"{name!r} is not a callgate metric: write {name}:higher or {name}:lower",
                field="--metric",
            )
        if meta is not None:
            specs.append(
                MetricSpec(name, meta.direction, meta.kind, "mean", meta.unit, meta.events)
            )
        else:
            specs.append(MetricSpec(name, "higher" if direction == "higher" else "lower"))
    if not specs:
        raise UsageError("no metric to compare: the two results share no known metric column")
    return specs, notes


def run_compare(
    base: Side,
    cand: Side,
    metrics: list[MetricSpec],
    *,
    by: list[str],
    combinations: list[list[str]],
    seed: int = 0,
    resamples: int = 2000,
    confidence: float = 0.95,
    force_unpaired: bool = False,
) -> CompareResult:
    pairing = pair(base, cand, force_unpaired=force_unpaired)
    present = set(base.tags) | set(cand.tags)
    for tag in {t for combo in combinations for t in combo} | set(by):
        if tag not in present and tag not in DEFAULT_BY:
            raise UsageError(
                f"unknown cohort tag {tag!r} (tags in the results: "
                f"{', '.join(sorted(present)) or 'none'})",
                field="--by",
            )
    slices = build_slices(base, cand, pairing, by, combinations, [])
    comps = compare(
        base,
        cand,
        pairing,
        slices,
        metrics,
        seed=seed,
        resamples=resamples,
        confidence=confidence,
    )
    notes = [pairing.note]
    notes += [
        f"{a} holds the same calls as {s.label}: shown once" for s in slices for a in s.aliases
    ]
    if len(slices) == 1:
        notes.append("no cohort tag to slice by: only the global slice is shown")
    # One metric's rows together, global first: the global delta is read beside the cohorts.
    comps.sort(key=lambda c: metrics.index(c.metric))
    return CompareResult(pairing, slices, comps, notes)
