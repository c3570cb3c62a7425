"""The report knows no domain: no speech engine and no banking word in src/callgate/report.

Its fixtures (a synthetic banking run) live in tests/support, so callgate's report package works
the same for any agent a plugin brings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "src" / "callgate" / "report"
WORDS = re.compile(r"\b(freeze|merchant|dispute|balance|banking)", re.I)
PIN = re.compile(r"\bPIN\b")  # in capitals: "pin" is an ordinary word


def test_no_speech_import_and_no_banking_word() -> None:
    found: list[str] = []
    for path in sorted(REPORT.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: imports {n}" for n in names if n.startswith("callgate.speech")]
        for i, line in enumerate(text.splitlines(), 1):
            if m := WORDS.search(line) or PIN.search(line):
                found.append(f"{path.name}:{i}: {m.group(0)!r}")
    assert not found, "\n".join(found)
