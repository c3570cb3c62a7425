"""Options every command shares, declared once: command modules import them from here rather
than from ``main`` (whose app is only half-built while they are imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store", envvar="CALLGATE_STORE", help="Store folder (SQLite + audio).", show_default=True
    ),
]
DEFAULT_STORE = Path("callgate-store")
