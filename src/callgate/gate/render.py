"""The gate report in the terminal: the decision, its reasons (what blocks, what is still open),
then one rich table per metric.

The global slice (``all``) is the first row of each table, beside the cohorts: a global delta is
never shown on its own, because a flat average can hide a cohort that got worse.
"""

from __future__ import annotations

from itertools import groupby

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from callgate.comparison import format as fmt
from callgate.comparison.compare import MetricSpec
from callgate.gate.model import GateReport
from callgate.gate.outputs import CHECK_HEADER, check_cells, headline

COLOURS = {"PROMOTE": "green", "BLOCK": "red", "UNDECIDED": "yellow"}


def print_gate(console: Console, report: GateReport) -> None:
    colour = COLOURS[report.decision]
    head = escape(headline(report))
    console.print(f"[bold {colour}]{report.decision}[/] {head}", highlight=False)
    console.print(report.pairing, highlight=False, markup=False)
    for r in report.reasons:
        console.print(f"[red]BLOCK[/] {escape(r.message)}", highlight=False)
    for r in report.undecided:
        console.print(f"[yellow]OPEN[/] {escape(r.message)}", highlight=False)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    for _key, group in groupby(report.checks, key=lambda c: (c.metric, c.statistic)):
        rows = list(group)
        spec: MetricSpec = rows[0].spec()
        table = Table(title=fmt.statistic_name(spec), title_justify="left", title_style="bold")
        header = [*CHECK_HEADER]
        header[5] = f"{report.confidence:.0%} CI"
        for col in header:
            table.add_column(col, overflow="fold")
        for ch in rows:
            cells = [escape(x) for x in check_cells(ch)]
            style = {"block": "red", "open": "yellow", "warn": "dim"}.get(ch.status, "")
            table.add_row(*cells, style=style or None)
        console.print(table)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
