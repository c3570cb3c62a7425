"""The store alone speaks SQL: no other module of callgate runs a statement or holds one.

Every module outside src/callgate/store is parsed; it fails on an ``.execute`` / ``.executemany``
/ ``.executescript`` call, an ``import sqlite3``, a use of a store's ``conn``, or a string literal
that reads as SQL. Whatever a module needs from the database becomes a method of the store.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "callgate"
STORE = SRC / "store"
SQL = re.compile(
    r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|"
    r"\bDELETE\s+FROM\b|\b(CREATE|DROP|ALTER)\s+(TABLE|INDEX|VIEW)\b|\bPRAGMA\s+\w+|"
    r"^\s*(BEGIN|COMMIT|ROLLBACK)\b",
    re.S,
)
CALLS = {"execute", "executemany", "executescript"}


def findings(path: Path, root: Path = SRC.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in CALLS:
                out.append(f"{where}: .{node.func.attr}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "conn":
            out.append(f"{where}: uses a store's connection (.conn)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if "sqlite3" in names:
                out.append(f"{where}: imports sqlite3")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.search(node.value)
        ):
            out.append(f"{where}: SQL in a string: {node.value[:60]!r}")
    return out


def test_no_sql_outside_the_store() -> None:
    found = [
        f for path in sorted(SRC.rglob("*.py")) if STORE not in path.parents for f in findings(path)
    ]
    assert not found, "SQL outside src/callgate/store:\n" + "\n".join(found)


def test_the_scan_finds_sql(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sqlite3\n"
        "def f(store):\n"
        "    store.conn.execute('SELECT COUNT(*) FROM calls WHERE run_id=?', ('r',))\n"
        'Q = """\n  DELETE FROM runs"""\n'
        "DOC = 'select the calls you want, then update the docs'\n"  # prose is not SQL
    )
    got = sorted(f.split(": ", 1)[1] for f in findings(probe, tmp_path))
    assert got == sorted(
        [
            "imports sqlite3",
            ".execute(...)",
            "uses a store's connection (.conn)",
            "SQL in a string: 'SELECT COUNT(*) FROM calls WHERE run_id=?'",
            "SQL in a string: '\\n  DELETE FROM runs'",
        ]
    )
