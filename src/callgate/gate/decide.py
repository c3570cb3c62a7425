"""From comparisons to PROMOTE, BLOCK or UNDECIDED, with every reason.

Every check (a metric in a slice) ends in one of four states:

* block: the harm test rejects after the multiplicity correction over every harm test of the
  gate (Holm or Benjamini-Hochberg). The harm test asks whether the candidate is worse by more
  than the margin (``block_when: worse_than_margin``, the default) or worse at all
  (``block_when: worse``). A required improvement shown to be out of reach also blocks.
* pass: non-inferiority is shown (the upper one-sided 1 - alpha confidence bound of the harm lies
  below the margin), and a required improvement, where the policy asks for one, is shown.
* open: neither yet, or too few calls to test (``below_min_calls: undecided``, the default).
* warn: too few calls and ``below_min_calls: skip``: not tested, not needed.

BLOCK when any check blocks; else UNDECIDED when any check is open or a required cohort has no
calls; else PROMOTE. Promotion needs every check to pass at alpha: an intersection-union test,
so no multiplicity correction is needed for it. Each open check carries an estimate of the extra
scored calls that would settle it (80% power at the observed effect and variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callgate.comparison import format as fmt
from callgate.comparison import stats
from callgate.comparison.compare import POWER, Comparison
from callgate.comparison.slices import Slice, find
from callgate.comparison.stats import adjust
from callgate.gate.model import GateCheck, GateReason, Outcome, ReasonKind
from callgate.gate.policy import MetricRule, Policy

METHOD_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
# An open check that would need more than this many times its calls is reported as not
# settleable by more calls: the observed effect sits on the boundary.
MOST_EXTRA = 100


@dataclass
class Decision:
    """What :func:`decide` found; :func:`callgate.gate.report.build_report` adds the context."""

    label: Outcome
    reasons: list[GateReason]
    undecided: list[GateReason]
    warnings: list[str]
    checks: list[GateCheck]
    family_size: int

    @property
    def promote(self) -> bool:
        return self.label == "PROMOTE"


def check_of(c: Comparison, policy: Policy, required: bool) -> GateCheck:
    """A comparison as a gate check, before any test: what was measured and the policy's terms."""
    m = c.metric
    pass_fail = m.kind == "binary" and c.paired
    margin = policy.margin(m.name, c.slice)
    rule = policy.metrics[m.name]
    block_above = None if margin is None else (margin if rule.block_when != "worse" else 0.0)
    return GateCheck(
        metric=m.name,
        statistic=m.statistic,
        direction=m.direction,
        kind=m.kind,
        unit=m.unit,
        slice=c.slice,
        paired=c.paired,
        n=c.n,
        scenarios=c.scenarios,
        n_baseline=c.n_base,
        n_candidate=c.n_cand,
        baseline=c.baseline,
        candidate=c.candidate,
        delta=c.delta,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        method=c.method,
        discordant_worse=c.worse if pass_fail else None,
        discordant_better=c.better if pass_fail else None,
        margin=margin,
        block_above=block_above,
        required_improvement=policy.required_improvement(m.name, c.slice),
        min_calls=max(policy.min_calls(c.slice), c.needs),
        required=required,
        p_worse=None,
        p_adjusted=None,
        p_better=None,
        mde=None,
        verdict="",
        status="open",
        note="",
    )


def _is(s: Slice | None, label: str) -> bool:
    return s is not None and (s.label == label or label in s.aliases)


@dataclass
class _Row:
    check: GateCheck
    comp: Comparison
    improving: bool  # a required improvement applies in this slice
    # Index into the harm family of the harm test and of the "improvement out of reach" test.
    harm_at: int | None = None
    futile_at: int | None = None


def decide(
    policy: Policy,
    slices: list[Slice],
    comps: list[Comparison],
    warnings: list[str] | None = None,
    alpha: float | None = None,
) -> Decision:
    """``alpha``: the level of every test, the policy's unless a sequential design spends it
    over several looks (:mod:`callgate.gate.sequential`)."""
    alpha = policy.alpha if alpha is None else alpha
    by_label = {s.label: s for s in slices}
    reasons: list[GateReason] = []
    undecided: list[GateReason] = []
    warns = list(warnings or [])
    rows: list[_Row] = []
    for c in comps:
        s = by_label.get(c.slice)
        required = any(_is(s, r) for r in policy.cohorts.required)
        improving = any(_is(s, r) for r in rule_of(policy, c).improvement_in)
        ch = check_of(c, policy, required)
        rows.append(_Row(ch, c, improving and ch.required_improvement is not None))
    family: list[float] = []
    too_few: dict[str, list[str]] = {}
    for row in rows:
        ch, c = row.check, row.comp
        if c.n < ch.min_calls:
            ch.verdict = "too few calls to tell"
            if ch.required or row.improving or policy.cohorts.below_min_calls == "undecided":
                ch.status = "open"
                ch.extra_calls = ch.min_calls - c.n
                what = "a percentile" if c.needs > policy.min_calls(c.slice) else "min_calls"
                ch.note = f"{c.n} scored calls, {what} needs {ch.min_calls}"
            else:
                ch.status = "warn"
                ch.note = f"not tested: {c.n} < min_calls {ch.min_calls}"
                too_few.setdefault(c.metric.name, []).append(f"{c.slice} ({c.n})")
            continue
        if ch.margin is not None:
            assert ch.block_above is not None
            ch.p_worse = c.p_harm(ch.block_above)
            ch.p_within = c.p_within(ch.margin)
            ch.harm_bound = c.harm_bound(alpha)
            row.harm_at = len(family)
            family.append(ch.p_worse)
        if row.improving:
            assert ch.required_improvement is not None
            ch.p_better = c.p_gain(ch.required_improvement)
            # Out of reach: the gain is shown to stay below what is required.
            row.futile_at = len(family)
            family.append(c.p_harm(-ch.required_improvement))
    adjusted = adjust(family, policy.multiplicity)
    m = max(len(family), 1)
    for row in rows:
        ch, c = row.check, row.comp
        if ch.block_above is not None:
            # Bonferroni's alpha / m is Holm's first step: the MDE of the hardest-to-catch case.
            ch.mde = c.mde(alpha / m, ch.block_above)
        if ch.status == "warn" or ch.verdict == "too few calls to tell":
            continue
        if row.harm_at is not None:
            ch.p_adjusted = adjusted[row.harm_at]
        if row.harm_at is not None and adjusted[row.harm_at] <= alpha:
            ch.status = "block"
            ch.note = _harm_note(ch, policy)
            reasons.append(_harm_reason(ch, c, policy, alpha, display(by_label, c.slice)))
        elif row.futile_at is not None and adjusted[row.futile_at] <= alpha:
            ch.status = "block"
            ch.note = "required improvement ruled out"
            reasons.append(_improvement_reason(ch, c, policy, alpha, display(by_label, c.slice)))
        else:
            within = ch.p_within is None or ch.p_within <= alpha
            improved = not row.improving or (ch.p_better is not None and ch.p_better <= alpha)
            ch.status = "pass" if within and improved else "open"
            if ch.status == "pass":
                ch.note = _pass_note(ch, c)
            else:
                ch.note = _open_note(ch, c, within, improved)
                ch.extra_calls = extra_calls(c, ch, alpha, m)
        ch.verdict = c.verdict(1 - policy.confidence, ch.min_calls)
    checks = [row.check for row in rows]
    for row in rows:
        if row.check.status == "open":
            undecided.append(_open_reason(row.check, row.comp, display(by_label, row.comp.slice)))
    for spec in policy.cohorts.required:
        found = find(slices, spec)
        if found is None:
            undecided.append(
                _reason("required_cohort", spec, f"required cohort {spec} has no calls yet")
            )
        elif found.n < policy.min_calls(found.label) and not any(
            ch.required and ch.slice == found.label for ch in checks
        ):
            # No metric is checked in cohorts, so no check above saw this cohort's size.
            undecided.append(
                _reason(
                    "required_cohort",
                    spec,
                    f"required cohort {display(by_label, spec)} has {found.n} calls, min_calls "
                    f"is {policy.min_calls(found.label)}",
                )
            )
    for name, rule in policy.metrics.items():
        for spec in rule.improvement_in:
            if rule.required_improvement is not None and find(slices, spec) is None:
                undecided.append(
                    _reason("improvement", spec, f"{name}: improvement slice {spec} has no calls")
                )
    for name, items in too_few.items():
        warns.append(
            f"{name}: {len(items)} slices below min_calls are not tested (below_min_calls: "
            f"skip): {', '.join(items)}"
        )
    label: Outcome = "BLOCK" if reasons else ("UNDECIDED" if undecided else "PROMOTE")
    return Decision(label, reasons, undecided, warns, checks, len(family))


def extra_calls(c: Comparison, ch: GateCheck, alpha: float, family: int) -> int | None:
    """More scored calls for 80% power to settle an open check at the observed harm and
    variance: towards non-inferiority when the harm is below the margin, towards a block when it
    is above the block threshold. None: more calls are unlikely to settle it."""
    if not (c.n >= 2 and c.se > 0 and math.isfinite(c.harm)):
        return None
    z_power = stats.z_of(POWER)
    # Student's t at the scenarios there are now: few scenarios need many more calls (repeats of
    # the same scenarios add less than new ones, which this estimate does not model).
    within = stats.t_ppf(1 - alpha, c.df) + z_power
    needs: list[float] = []
    if ch.margin is not None and c.harm < ch.margin:
        needs.append(c.n * (within * c.se / (ch.margin - c.harm)) ** 2)
    if ch.block_above is not None and c.harm > ch.block_above:
        z = stats.t_ppf(1 - alpha / max(family, 1), c.df) + z_power
        needs.append(c.n * (z * c.se / (c.harm - ch.block_above)) ** 2)
    if ch.required_improvement is not None and ch.p_better is not None:
        gain = -c.harm
        if gain > ch.required_improvement:
            needs.append(c.n * (within * c.se / (gain - ch.required_improvement)) ** 2)
    if not needs or min(needs) > MOST_EXTRA * c.n:
        return None
    return max(1, math.ceil(min(needs) - c.n))


def _reason(
    kind: ReasonKind,
    spec: str,
    message: str,
    c: Comparison | None = None,
    margin: float | None = None,
    extra_calls: int | None = None,
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
        extra_calls=extra_calls,
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


def _harm_note(ch: GateCheck, policy: Policy) -> str:
    method = METHOD_NAMES[policy.multiplicity]
    if ch.block_above:
        return f"worse beyond the margin ({method})"
    return f"worse ({method}; block_when: worse)"


def _harm_reason(
    ch: GateCheck, c: Comparison, policy: Policy, alpha: float, name: str
) -> GateReason:
    m = c.metric
    method = METHOD_NAMES[policy.multiplicity]
    rule = (
        f"worse beyond the margin {fmt.amount(m, ch.margin)}"
        if ch.block_above
        else f"worse than no change (block_when: worse; margin {fmt.amount(m, ch.margin)})"
    )
    msg = (
        f"{fmt.statistic_name(m)} in {name} ({_size(c)}): candidate {fmt.value(m, c.candidate)} "
        f"vs baseline {fmt.value(m, c.baseline)}, delta {fmt.delta(m, c.delta)} "
        f"({c.confidence:.0%} CI {fmt.interval(m, c.ci_low, c.ci_high)}); {rule} "
        f"(p={fmt.pvalue(ch.p_worse)}, {method}-adjusted {fmt.pvalue(ch.p_adjusted)} <= alpha "
        f"{alpha:g})"
    )
    return _reason("harm", c.slice, msg, c, ch.margin)


def _improvement_reason(
    ch: GateCheck, c: Comparison, policy: Policy, alpha: float, name: str
) -> GateReason:
    m = c.metric
    msg = (
        f"{fmt.statistic_name(m)} in {name} ({_size(c)}): delta {fmt.delta(m, c.delta)} "
        f"({c.confidence:.0%} CI {fmt.interval(m, c.ci_low, c.ci_high)}) rules out the required "
        f"improvement of {fmt.amount(m, ch.required_improvement)} "
        f"({METHOD_NAMES[policy.multiplicity]}-adjusted p <= alpha {alpha:g})"
    )
    return _reason("improvement", c.slice, msg, c, ch.required_improvement)


def _size(c: Comparison) -> str:
    return f"n={c.n}, {c.scenarios} scenarios"


def _pass_note(ch: GateCheck, c: Comparison) -> str:
    m = c.metric
    parts = []
    if ch.margin is not None:
        parts.append(
            f"loss at most {fmt.amount(m, max(ch.harm_bound or 0.0, 0.0))} < margin "
            f"{fmt.amount(m, ch.margin)}"
        )
    if ch.p_better is not None:
        parts.append(f"improvement of {fmt.amount(m, ch.required_improvement)} shown")
    return "; ".join(parts)


def _open_note(ch: GateCheck, c: Comparison, within: bool, improved: bool) -> str:
    m = c.metric
    what = []
    if not within:
        bound = "unknown" if ch.harm_bound is None else fmt.amount(m, ch.harm_bound)
        what.append(f"a loss of {bound} is not ruled out (margin {fmt.amount(m, ch.margin)})")
    if not improved:
        what.append(f"improvement of {fmt.amount(m, ch.required_improvement)} not shown yet")
    return "; ".join(what)


def _open_reason(ch: GateCheck, c: Comparison, name: str) -> GateReason:
    m = c.metric
    if ch.extra_calls is None:
        more = "more calls are unlikely to settle it (the observed effect sits on the boundary)"
    else:
        more = f"about {ch.extra_calls} more scored calls would settle it"
    msg = f"{fmt.statistic_name(m)} in {name} ({_size(c)}): {ch.note}; {more}"
    return _reason("undecided", c.slice, msg, c, ch.margin, ch.extra_calls)
