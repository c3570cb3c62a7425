"""An unexpected error: one line on stderr, the full traceback in a file, its own exit code.

Exit codes are the CLI's contract with CI: 0 promote, 1 block, 2 bad input or usage, 3
undecided, 130 interrupted, and :data:`INTERNAL_ERROR` for a bug in callgate or a plugin, so a
crash is never read as a gate decision.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

INTERNAL_ERROR = 4


def crash_dir() -> Path:
    """Where tracebacks go: ``$CALLGATE_CRASH_DIR``, else the system's temporary folder."""
    return Path(os.environ.get("CALLGATE_CRASH_DIR") or tempfile.gettempdir())


def report_crash(exc: BaseException) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = crash_dir() / f"callgate-crash-{stamp}-{os.getpid()}.txt"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"callgate {' '.join(sys.argv[1:])}\n\n{text}", encoding="utf-8")
        where = f"the traceback is in {path}"
    except OSError:
        where = "the traceback could not be written"
    summary = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    print(f"callgate: internal error: {summary} ({where}; please report it)", file=sys.stderr)
    return INTERNAL_ERROR
