"""From comparisons to PROMOTE or BLOCK, with every reason.

BLOCK when any of these holds, PROMOTE otherwise:

* harm: a metric is significantly worse than its non-inferiority margin in some slice, after the
  multiplicity correction over every harm test of the gate (Holm or Benjamini-Hochberg);
* required cohort: a cohort the policy requires is missing, or has fewer scored calls than its
  ``min_calls`` for a metric checked in cohorts;
* improvement: a ``required_improvement`` is not shown (one-sided test at alpha in each named
  slice; all must pass, an intersection-union test, so no correction is needed).

A slice below ``min_calls`` that is not required is not tested and only warns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callgate.comparison import format as fmt
from callgate.comparison.compare import Comparison
from callgate.comparison.slices import Slice, find
from callgate.comparison.stats import adjust
from callgate.gate.model import GateCheck, GateReason, ReasonKind
from callgate.gate.policy import MetricRule, Policy

METHOD_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


@dataclass
class Decision:
    """What :func:`decide` found; :func:`callgate.gate.report.build_report` adds the context."""

    promote: bool
    reasons: list[GateReason]
    warnings: list[str]
    checks: list[GateCheck]
    family_size: int

    @property
    def label(self) -> Literal["PROMOTE", "BLOCK"]:
        return "PROMOTE" if self.promote else "BLOCK"


def check_of(c: Comparison, policy: Policy, required: bool) -> GateCheck:
    """A comparison as a gate check, before any test: what was measured and the policy's terms."""
    m = c.metric
    mcnemar = c.method == "mcnemar"
    return GateCheck(
        metric=m.name,
        statistic=m.statistic,
        direction=m.direction,
        kind=m.kind,
        unit=m.unit,
        slice=c.slice,
        paired=c.paired,
        n=c.n,
        n_baseline=c.n_base,
        n_candidate=c.n_cand,
        baseline=c.baseline,
        candidate=c.candidate,
        delta=c.delta,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        method=c.method,
        discordant_worse=c.worse if mcnemar else None,
        discordant_better=c.better if mcnemar else None,
        margin=policy.margin(m.name, c.slice),
        required_improvement=policy.required_improvement(m.name, c.slice),
        min_calls=policy.min_calls(c.slice),
        required=required,
        p_worse=None,
        p_adjusted=None,
        p_better=None,
        mde=None,
        verdict="",
        status="pass",
        note="",
    )


def _is(s: Slice | None, label: str) -> bool:
    return s is not None and (s.label == label or label in s.aliases)


def decide(
    policy: Policy, slices: list[Slice], comps: list[Comparison], warnings: list[str] | None = None
) -> Decision:
    alpha = policy.alpha
    by_label = {s.label: s for s in slices}
    reasons: list[GateReason] = []
    warns = list(warnings or [])
    # Each check beside the comparison it came from: the tests below need the comparison's
    # standard error and discordant pairs, which the check (what gate.json holds) leaves out.
    rows: list[tuple[GateCheck, Comparison, bool]] = []  # (check, comparison, improvement here)
    for c in comps:
        s = by_label.get(c.slice)
        required = any(_is(s, r) for r in policy.cohorts.required)
        improving = any(_is(s, r) for r in rule_of(policy, c).improvement_in)
        rows.append((check_of(c, policy, required), c, improving))
    family: list[tuple[GateCheck, Comparison]] = []
    too_few: dict[str, list[str]] = {}
    for ch, c, improving in rows:
        if c.n < ch.min_calls:
            ch.verdict = "too few calls to tell"
            if ch.required or (improving and ch.required_improvement is not None):
                ch.status = "block"
                what = "required cohort" if ch.required else "improvement slice"
                # Name the cohort as the policy wrote it, even when it is an alias of a slice.
                named = [*policy.cohorts.required, *rule_of(policy, c).improvement_in]
                spec = next((r for r in named if _is(by_label.get(c.slice), r)), c.slice)
                ch.note = f"{what} has {c.n} scored calls, min_calls is {ch.min_calls}"
                reasons.append(
                    _reason(
                        "required_cohort",
                        spec,
                        f"{fmt.statistic_name(c.metric)}: {what} {display(by_label, spec)} has "
                        f"only {c.n} scored calls (min_calls {ch.min_calls}): no verdict possible",
                        c,
                    )
                )
            else:
                ch.status = "warn"
                ch.note = f"not tested: {c.n} < min_calls {ch.min_calls}"
                too_few.setdefault(c.metric.name, []).append(f"{c.slice} ({c.n})")
            continue
        if ch.margin is not None:
            ch.p_worse = c.p_harm(ch.margin)
            family.append((ch, c))
        if improving and ch.required_improvement is not None:
            ch.p_better = c.p_gain(ch.required_improvement)
            if ch.p_better >= alpha:
                ch.status = "block"
                ch.note = "required improvement not shown"
                reasons.append(_improvement_reason(ch, c, alpha, display(by_label, c.slice)))
    adjusted = adjust(
        [1.0 if ch.p_worse is None else ch.p_worse for ch, _ in family], policy.multiplicity
    )
    m = max(len(family), 1)
    for (ch, c), p_adj in zip(family, adjusted, strict=True):
        ch.p_adjusted = p_adj
        if p_adj <= alpha:
            ch.status = "block"
            ch.note = f"worse beyond the margin ({METHOD_NAMES[policy.multiplicity]})"
            reasons.append(_harm_reason(ch, c, policy, display(by_label, c.slice)))
    for ch, c, _ in rows:
        if ch.margin is not None:
            # Bonferroni's alpha / m is Holm's first step: the MDE of the hardest-to-catch case.
            ch.mde = c.mde(alpha / m, ch.margin)
        if not ch.verdict:
            ch.verdict = c.verdict(1 - policy.confidence, ch.min_calls)
        if ch.status == "pass" and ch.verdict == "worse":
            if ch.p_worse is None:
                ch.note = "no non-inferiority margin for this metric"
            elif ch.p_worse >= alpha:
                ch.note = "within the margin"
            else:
                ch.note = f"not significant after {METHOD_NAMES[policy.multiplicity]}"
    checks = [ch for ch, _, _ in rows]
    for spec in policy.cohorts.required:
        found = find(slices, spec)
        if found is None:
            reasons.append(
                _reason(
                    "required_cohort", spec, f"required cohort {spec} has no calls in the results"
                )
            )
        elif found.n < policy.min_calls(found.label) and not any(
            ch.required and ch.slice == found.label for ch in checks
        ):
            # No metric is checked in cohorts, so no check above saw this cohort's size.
            reasons.append(
                _reason(
                    "required_cohort",
                    spec,
                    f"required cohort {display(by_label, spec)} has only {found.n} calls "
                    f"(min_calls {policy.min_calls(found.label)})",
                )
            )
    for name, rule in policy.metrics.items():
        for spec in rule.improvement_in:
            if rule.required_improvement is not None and find(slices, spec) is None:
                reasons.append(
                    _reason("improvement", spec, f"{name}: improvement slice {spec} has no calls")
                )
    for name, items in too_few.items():
        warns.append(
            f"{name}: {len(items)} slices below min_calls are not tested: {', '.join(items)}"
        )
    return Decision(not reasons, reasons, warns, checks, len(family))


def _reason(
    kind: ReasonKind,
    spec: str,
    message: str,
    c: Comparison | None = None,
    margin: float | None = None,
) -> GateReason:
    return GateReason(
        kind=kind,
        slice=spec,
        message=message,
        metric=c.metric.name if c else None,
        delta=c.delta if c else None,
        ci_low=c.ci_low if c else None,
        ci_high=c.ci_high if c else None,
        margin=margin,
    )


def rule_of(policy: Policy, c: Comparison) -> MetricRule:
    return policy.metrics[c.metric.name]


def display(by_label: dict[str, Slice], label: str) -> str:
    """A slice's name for people: with the other names of the same calls, if any."""
    s = by_label.get(label)
    if s is None:
        s = next((x for x in by_label.values() if label in x.aliases), None)
    if s is None:
        return label
    names = [n for n in (s.label, *s.aliases) if n != label]
    return f"{label} (= {', '.join(names)})" if names else label


def _harm_reason(ch: GateCheck, c: Comparison, policy: Policy, name: str) -> GateReason:
    m = c.metric
    method = METHOD_NAMES[policy.multiplicity]
    msg = (
        f"{fmt.statistic_name(m)} in {name} (n={c.n}): candidate {fmt.value(m, c.candidate)} "
        f"vs baseline {fmt.value(m, c.baseline)}, delta {fmt.delta(m, c.delta)} "
        f"({c.confidence:.0%} CI {fmt.interval(m, c.ci_low, c.ci_high)}); worse beyond the margin "
        f"{fmt.amount(m, ch.margin)} (p={fmt.pvalue(ch.p_worse)}, {method}-adjusted "
        f"{fmt.pvalue(ch.p_adjusted)} <= alpha {policy.alpha:g})"
    )
    return _reason("harm", c.slice, msg, c, ch.margin)


def _improvement_reason(ch: GateCheck, c: Comparison, alpha: float, name: str) -> GateReason:
    m = c.metric
    msg = (
        f"{fmt.statistic_name(m)} in {name} (n={c.n}): delta {fmt.delta(m, c.delta)} "
        f"({c.confidence:.0%} CI {fmt.interval(m, c.ci_low, c.ci_high)}) does not show the "
        f"required improvement of {fmt.amount(m, ch.required_improvement)} "
        f"(p={fmt.pvalue(ch.p_better)} > alpha {alpha:g})"
    )
    return _reason("improvement", c.slice, msg, c, ch.required_improvement)
