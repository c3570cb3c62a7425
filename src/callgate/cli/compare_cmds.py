"""`callgate compare`, `callgate gate` and `callgate calibrate` (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the comparison commands to the ``callgate`` app."""
