"""The CLI's two consoles: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

# Wide enough for call tables when output goes to a file or a CI log (rich assumes 80 columns).
_WIDTH = None if sys.stdout.isatty() else 160
err = Console(stderr=True, width=_WIDTH)
out = Console(width=_WIDTH)
