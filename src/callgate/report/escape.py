"""Escaping for everything the report and the web UI print.

Transcripts, scenario fields, tool arguments and gate reasons come from users (and from ASR, which
prints whatever it heard), so every text goes through :func:`esc` before it reaches HTML or SVG,
and JSON placed inside a ``<script>`` element goes through :func:`json_for_script`.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any
from urllib.parse import quote


def esc(value: object) -> str:
    """Text for an HTML element body or a quoted attribute (quotes escaped too)."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``.

    A ``</`` would end the script element and a ``<!--`` switches the HTML parser into its
    script-data-escaped state, so both are written with a ``\\u003c`` escape; JSON parsers read
    that back as ``<``. U+2028/2029 are escaped as they end lines in older JavaScript.
    """
    text = json.dumps(_finite(obj), ensure_ascii=False, sort_keys=True, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _finite(obj: Any) -> Any:
    """NaN and infinities are not JSON: they become null, as "not scored" does everywhere."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def url_part(value: str) -> str:
    """One path segment of a URL (call ids, run ids, file names)."""
    return quote(value, safe="")


def anchor(call_id: str) -> str:
    """The id of a call's detail section; call ids are hex, but stay safe whatever they hold."""
    return "call-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in call_id)


def num(x: float | None, digits: int = 3) -> str:
    """A number for a table cell: '-' when missing (not scored is not zero)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.{digits}g}"


def pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{100 * x:.1f}%"
