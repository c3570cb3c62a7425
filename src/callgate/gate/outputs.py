"""The gate's files for CI: gate.json (the report), gate.md (a pull-request comment) and
junit.xml (one testcase per metric x slice check; blocking checks are failures, open checks of an
undecided gate are skipped with an ``UNDECIDED`` message, which CI systems list apart)."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from callgate.comparison import format as fmt
from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.gate.model import GateCheck, GateReport

FILES = ("gate.json", "gate.md", "junit.xml")
_STATUS = {"pass": "pass", "block": "BLOCK", "open": "open", "warn": "not tested"}
ICONS = {"PROMOTE": "✅", "BLOCK": "❌", "UNDECIDED": "⏸️"}


def headline(report: GateReport) -> str:
    """One line after the decision: what decided it, naming the slices."""
    if report.decision == "BLOCK":
        slices = list(dict.fromkeys(r.slice for r in report.reasons))
        return f"decided by {', '.join(slices)}"
    if report.decision == "UNDECIDED":
        known = [r.extra_calls for r in report.undecided if r.extra_calls is not None]
        more = f"; the nearest needs about {min(known)} more scored calls" if known else ""
        return f"{len(report.undecided)} checks still open{more}"
    passed = sum(1 for c in report.checks if c.status == "pass")
    return f"every check within its margin ({passed} checks)"


def write_outputs(report: GateReport, out_dir: Path) -> list[Path]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create folder ({exc.strerror})", source=out_dir) from None
    texts = {
        "gate.json": report.model_dump_json(indent=2) + "\n",
        "gate.md": markdown(report),
        "junit.xml": junit(report),
    }
    paths = []
    for name, text in texts.items():
        path = out_dir / name
        atomic_write(path, text)  # CI never reads half a file
        paths.append(path)
    return paths


def _cell(text: str) -> str:
    # User text in the cells is escaped by md() already (pipes included); ours has no pipes.
    return text.replace("\n", " ")


# Underscores inside a word (call_type) render as themselves in GitHub markdown; only those at a
# word's edge could start emphasis, so only those are escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]#|~]|(?<!\w)_|_(?!\w))")


def md(text: str) -> str:
    """User text (cohort names, labels, reasons) safe to paste into a pull-request comment:
    HTML is shown as text and markdown punctuation as itself."""
    escaped = html.escape(text, quote=False).replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def check_cells(ch: GateCheck, *, markdown: bool = False) -> list[str]:
    m = ch.spec()
    status = _STATUS[ch.status]
    if markdown and ch.status == "block":
        status = f"**{status}**"
    note = (md(ch.note) if markdown else ch.note) if ch.note else ""
    if ch.status == "open" and ch.extra_calls is not None:
        note += f"; ~{ch.extra_calls} more calls"
    gate = status + (f" ({note})" if note else "")
    size = str(ch.n) if ch.scenarios is None else f"{ch.n} ({ch.scenarios})"
    return [
        md(ch.slice) if markdown else ch.slice,
        size,
        fmt.value(m, ch.baseline),
        fmt.value(m, ch.candidate),
        fmt.delta(m, ch.delta),
        fmt.interval(m, ch.ci_low, ch.ci_high),
        fmt.amount(m, ch.margin) if ch.margin is not None else "-",
        ch.verdict + (f" (MDE {fmt.amount(m, ch.mde)})" if ch.n < ch.min_calls else ""),
        gate,
    ]


CHECK_HEADER = [
    "slice",
    "calls (scenarios)",
    "baseline",
    "candidate",
    "delta",
    "CI",
    "margin",
    "verdict",
    "gate",
]


def markdown(report: GateReport) -> str:
    icon = ICONS[report.decision]
    method = "Holm" if report.multiplicity == "holm" else "Benjamini-Hochberg"
    lines = [
        f"## callgate gate: {icon} **{report.decision}**: {md(headline(report))}",
        "",
        f"Candidate {md(report.candidate.label)} vs baseline {md(report.baseline.label)}: "
        f"{md(report.pairing)}. Policy {md(Path(report.policy).name)} ({method} over "
        f"{report.family_size} harm tests at alpha {report.alpha:g}; promotion needs every check "
        f"shown within its margin; scenarios are clusters; {report.resamples} bootstrap resamples "
        f"for percentiles, seed {report.seed}).",
        "",
    ]
    if report.reasons:
        lines += ["### Blocking reasons", ""]
        lines += [f"{i}. {md(r.message)}" for i, r in enumerate(report.reasons, 1)] + [""]
    else:
        lines += ["No blocking reason: no check is shown to be worse than the policy allows.", ""]
    if report.undecided:
        lines += ["### Still open", ""]
        lines += [f"{i}. {md(r.message)}" for i, r in enumerate(report.undecided, 1)] + [""]
    if report.warnings:
        lines += ["### Warnings", ""] + [f"- {md(w)}" for w in report.warnings] + [""]
    lines += [
        f"### Checks ({report.confidence:.0%} intervals; `all` is every call, shown beside the "
        "cohorts)",
        "",
    ]
    for (metric, stat), group in groupby(report.checks, key=lambda c: (c.metric, c.statistic)):
        title = md(metric) if stat == "mean" else f"{md(metric)} ({stat} over calls)"
        lines += [f"#### {title}", "", "| " + " | ".join(CHECK_HEADER) + " |"]
        lines.append("|" + "---|" * len(CHECK_HEADER))
        for ch in group:
            cells = [_cell(c) for c in check_cells(ch, markdown=True)]
            if ch.slice == "all":
                cells[0] = "**all**"
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if report.notes:
        lines += ["<details><summary>Notes</summary>", ""]
        lines += [f"- {md(n)}" for n in report.notes] + ["", "</details>", ""]
    return "\n".join(lines)


def junit(report: GateReport) -> str:
    suite = ET.Element("testsuite", name="callgate gate")
    failures = skipped = tests = 0
    for ch in report.checks:
        tests += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"callgate.gate.{ch.metric}",
            name=f"{ch.metric}[{ch.slice}]"
            + ("" if ch.statistic == "mean" else f"({ch.statistic})"),
        )
        text = " | ".join(f"{h}: {c}" for h, c in zip(CHECK_HEADER, check_cells(ch), strict=True))
        if ch.status == "block":
            failures += 1
            reason = next(
                (
                    r.message
                    for r in report.reasons
                    if r.metric == ch.metric and r.slice == ch.slice
                ),
                ch.note,
            )
            ET.SubElement(case, "failure", message=reason, type=ch.note or "block").text = text
        elif ch.status == "open":
            skipped += 1
            more = "" if ch.extra_calls is None else f" (~{ch.extra_calls} more calls)"
            ET.SubElement(case, "skipped", message=f"UNDECIDED: {ch.note}{more}").text = text
        elif ch.status == "warn":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"not tested: {ch.note}")
        else:
            ET.SubElement(case, "system-out").text = text
    # A missing cohort has no check of its own: it gets a testcase.
    for blocks, reasons in ((True, report.reasons), (False, report.undecided)):
        for r in (r for r in reasons if r.metric is None):
            tests += 1
            case = ET.SubElement(
                suite, "testcase", classname="callgate.gate.cohorts", name=f"required[{r.slice}]"
            )
            if blocks:
                failures += 1
                ET.SubElement(case, "failure", message=r.message, type=r.kind).text = r.message
            else:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"UNDECIDED: {r.message}")
    if report.warnings:
        ET.SubElement(suite, "system-err").text = "\n".join(report.warnings)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    root = ET.Element("testsuites", name="callgate", tests=str(tests), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
