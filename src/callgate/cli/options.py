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
ExecutorOpt = Annotated[
    str,
    typer.Option(
        help="local (process pool), inline, or ray (a Ray cluster: docs/scaling.md).",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        help="With --executor ray: the cluster to join, HOST:PORT or auto (default: start a "
        "private Ray on this machine, stopped at the end).",
    ),
]
