"""How callgate drives headless Chromium (browser tests, the report benchmark).

Debian's ``chromium`` package, never Playwright's own browser download (it does not work offline).
The flags keep Chromium from reaching the network on its own: the machine allows none.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
