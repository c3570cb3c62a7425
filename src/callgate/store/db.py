"""The run store: one SQLite file with runs and call traces, audio blobs beside it.

Each finished call is committed in its own transaction, keyed by a call id derived from
(run, scenario, cohort, variant, repeat). A run killed at any point therefore holds only complete
calls, and re-running the same command skips them: nothing is lost or stored twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callgate.errors import UsageError
from callgate.store.records import CallRow, CallScores
from callgate.traces.model import CallTrace

# 1: scores kept the attribution inside ``details``; 2: in a column of its own (migrated on open).
DB_SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    spec TEXT NOT NULL,          -- the resolved run spec (suite, variants, grid, filters, seed)
    planned INTEGER NOT NULL,
    finished REAL,               -- set when every planned call is stored
    wall_s REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    scenario_id TEXT NOT NULL,
    cohort_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    split TEXT NOT NULL,
    ended_by TEXT NOT NULL,
    duration_s REAL NOT NULL,
    stored REAL NOT NULL,
    trace TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_run ON calls(run_id, variant);
CREATE TABLE IF NOT EXISTS evaluations (   -- which evaluators (with parameters) scored a run
    run_id TEXT PRIMARY KEY, spec TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    spec_hash TEXT NOT NULL,     -- scores from another evaluator spec are recomputed, not mixed
    metrics TEXT NOT NULL,       -- {metric: value or null}
    reasons TEXT NOT NULL,
    details TEXT NOT NULL,
    turns TEXT NOT NULL,
    attribution TEXT,            -- JSON of the Attribution record, NULL when not attributed
    PRIMARY KEY (run_id, call_id)
);
CREATE TABLE IF NOT EXISTS tuning_reads (   -- which calls a tuning job read (holdout guard rail)
    run_id TEXT NOT NULL, call_id TEXT NOT NULL, job TEXT NOT NULL, read REAL NOT NULL,
    PRIMARY KEY (run_id, call_id, job)
);
"""


@dataclass(frozen=True)
class RunRow:
    run_id: str
    created: float
    spec: dict[str, Any]
    planned: int
    finished: float | None
    wall_s: float
    stored: int


class Store:
    """A callgate store folder: ``callgate.db``, ``blobs/`` and ``cache/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / "callgate.db"
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def open(cls, root: str | Path, *, create: bool = True) -> Store:
        store = cls(Path(root))
        if not store.db_path.exists() and not create:
            raise UsageError(
                "no callgate store here (run `callgate run` or `callgate demo` first)",
                source=store.root,
            )
        try:
            store.root.mkdir(parents=True, exist_ok=True)
            probe = store.root / ".write-probe"
            probe.write_bytes(b"")
            probe.unlink()
            store.conn  # noqa: B018 - opens and migrates
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UsageError(f"store is not writable ({reason})", source=store.root) from None
        return store

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            _migrate(conn, self.db_path)
            self._conn = conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Many writes committed at once (thousands of one-call commits would take minutes);
        on an error none of them is kept."""
        self.conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- runs ------------------------------------------------------------------------------------

    def ensure_run(self, run_id: str, spec: dict[str, Any], planned: int) -> bool:
        """Create the run if new; return True when it already existed (a resume)."""
        row = self.conn.execute("SELECT run_id FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is not None:
            return True
        self.conn.execute(
            "INSERT INTO runs (run_id, created, spec, planned) VALUES (?, ?, ?, ?)",
            (run_id, time.time(), json.dumps(spec, sort_keys=True), planned),
        )
        return False

    def add_wall(self, run_id: str, seconds: float) -> None:
        self.conn.execute("UPDATE runs SET wall_s = wall_s + ? WHERE run_id=?", (seconds, run_id))

    def mark_finished(self, run_id: str) -> None:
        self.conn.execute("UPDATE runs SET finished=? WHERE run_id=?", (time.time(), run_id))

    def runs(self) -> list[RunRow]:
        rows = self.conn.execute(
            "SELECT r.run_id, r.created, r.spec, r.planned, r.finished, r.wall_s,"
            " (SELECT COUNT(*) FROM calls c WHERE c.run_id = r.run_id)"
            " FROM runs r ORDER BY r.created"
        ).fetchall()
        return [RunRow(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def run(self, run_id: str) -> RunRow:
        matches = [r for r in self.runs() if r.run_id.startswith(run_id)]
        if not matches:
            raise UsageError(f"no run {run_id!r} in this store", source=self.root)
        if len(matches) > 1:
            raise UsageError(f"run id prefix {run_id!r} is ambiguous", source=self.root)
        return matches[0]

    def delete_run(self, run_id: str) -> None:
        """Forget a run: its calls, scores, evaluation and tuning reads (audio blobs stay: other
        runs may share them)."""
        with self.transaction():
            for table in ("scores", "tuning_reads", "evaluations", "calls", "runs"):
                self.conn.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))

    def run_version(self, run_id: str) -> tuple[int, int]:
        """(calls stored, calls scored): changes while a run grows or is re-scored (a cache key)."""
        calls = self.conn.execute("SELECT COUNT(*) FROM calls WHERE run_id=?", (run_id,))
        scored = self.conn.execute("SELECT COUNT(*) FROM scores WHERE run_id=?", (run_id,))
        return int(calls.fetchone()[0]), int(scored.fetchone()[0])

    def latest_run(self) -> RunRow:
        runs = self.runs()
        if not runs:
            raise UsageError("the store has no runs yet", source=self.root)
        return runs[-1]

    # -- calls -----------------------------------------------------------------------------------

    def stored_call_ids(self, run_id: str) -> set[str]:
        rows = self.conn.execute("SELECT call_id FROM calls WHERE run_id=?", (run_id,))
        return {r[0] for r in rows}

    def put_call(self, trace: CallTrace) -> None:
        # INSERT OR IGNORE: a call finished twice (a retried worker) is still stored once.
        self.conn.execute(
            "INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                trace.call_id,
                trace.run_id,
                trace.scenario_id,
                trace.cohort_id,
                trace.variant,
                trace.repeat,
                trace.split,
                trace.ended_by,
                trace.duration_s,
                time.time(),
                trace.model_dump_json(),
            ),
        )

    def calls(self, run_id: str, variant: str | None = None) -> Iterator[CallTrace]:
        sql = "SELECT trace FROM calls WHERE run_id=?"
        args: tuple[Any, ...] = (run_id,)
        if variant is not None:
            sql += " AND variant=?"
            args += (variant,)
        for (blob,) in self.conn.execute(
            sql + " ORDER BY scenario_id, cohort_id, variant, repeat", args
        ):
            yield CallTrace.model_validate_json(blob)

    # -- scores ----------------------------------------------------------------------------------

    def set_evaluation(self, run_id: str, spec: list[dict[str, Any]]) -> str:
        """Record the evaluator spec of a run; return its hash. A new spec drops older scores."""
        blob = json.dumps(spec, sort_keys=True)
        spec_hash = hashlib.sha256(blob.encode()).hexdigest()[:16]
        self.conn.execute(
            "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?)", (run_id, blob, time.time())
        )
        self.conn.execute(
            "DELETE FROM scores WHERE run_id=? AND spec_hash != ?", (run_id, spec_hash)
        )
        return spec_hash

    def evaluation_spec(self, run_id: str) -> list[dict[str, Any]] | None:
        row = self.conn.execute("SELECT spec FROM evaluations WHERE run_id=?", (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def scored_call_ids(self, run_id: str, spec_hash: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT call_id FROM scores WHERE run_id=? AND spec_hash=?", (run_id, spec_hash)
        )
        return {r[0] for r in rows}

    def put_scores(self, run_id: str, spec_hash: str, call_id: str, scores: CallScores) -> None:
        a = scores.attribution
        self.conn.execute(
            "INSERT OR REPLACE INTO scores"
            " (run_id, call_id, spec_hash, metrics, reasons, details, turns, attribution)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                call_id,
                spec_hash,
                json.dumps(scores.metrics),
                json.dumps(scores.reasons),
                json.dumps(scores.details),
                json.dumps(scores.turns),
                None if a is None else json.dumps(a.model_dump()),
            ),
        )

    def scores(self, run_id: str) -> dict[str, CallScores]:
        rows = self.conn.execute(
            f"SELECT call_id, {_SCORE_COLUMNS} FROM scores WHERE run_id=?", (run_id,)
        )
        return {r[0]: _scores(r[1:]) for r in rows}

    def call_scores(self, run_id: str, call_id: str) -> CallScores | None:
        """One call's scores (the web UI's call page: no need to load the whole run's)."""
        row = self.conn.execute(
            f"SELECT {_SCORE_COLUMNS} FROM scores WHERE run_id=? AND call_id=?", (run_id, call_id)
        ).fetchone()
        return None if row is None else _scores(row)

    # -- tuning reads (the holdout guard rail) ---------------------------------------------------

    def record_tuning_read(self, run_id: str, call_id: str, job: str) -> None:
        """Note that tuning job ``job`` read this call (a tuning loop calls this for every call it
        looks at); the gate warns when such reads touched holdout calls."""
        self.conn.execute(
            "INSERT OR IGNORE INTO tuning_reads VALUES (?, ?, ?, ?)",
            (run_id, call_id, job, time.time()),
        )

    def holdout_tuning_reads(self, run_ids: list[str]) -> list[tuple[str, int]]:
        """(job, holdout calls read) for tuning jobs that read holdout calls of these runs, or
        the holdout call of one of their holdout scenarios in any run (an earlier run of the
        same scenario leaks the same caller audio and expectations)."""
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        rows = self.conn.execute(
            "SELECT tr.job, COUNT(DISTINCT tr.call_id) FROM tuning_reads tr"
            " JOIN calls c ON c.run_id = tr.run_id AND c.call_id = tr.call_id"
            f" WHERE c.split = 'holdout' AND (tr.run_id IN ({marks}) OR c.scenario_id IN"
            f" (SELECT scenario_id FROM calls WHERE run_id IN ({marks}) AND split = 'holdout'))"
            " GROUP BY tr.job ORDER BY tr.job",
            (*run_ids, *run_ids),
        ).fetchall()
        return [(str(job), int(n)) for job, n in rows]

    # -- rows ------------------------------------------------------------------------------------

    def call_rows(self, run_id: str) -> list[CallRow]:
        """Every call of a run as a row with its scores (unscored calls too), in stored order."""
        scores = self.scores(run_id)
        return [CallRow.of(t, scores.get(t.call_id)) for t in self.calls(run_id)]

    def call(self, run_id: str, call_id: str) -> CallTrace:
        rows = self.conn.execute(
            "SELECT trace FROM calls WHERE run_id=? AND call_id LIKE ?", (run_id, call_id + "%")
        ).fetchall()
        if not rows:
            raise UsageError(f"no call {call_id!r} in run {run_id}", source=self.root)
        if len(rows) > 1:
            raise UsageError(f"call id prefix {call_id!r} is ambiguous", source=self.root)
        return CallTrace.model_validate_json(rows[0][0])


_SCORE_COLUMNS = "metrics, reasons, details, turns, attribution"


def _scores(row: tuple[Any, ...]) -> CallScores:
    metrics, reasons, details, turns, attribution = row
    return CallScores(
        schema_version=2,
        metrics=json.loads(metrics),
        reasons=json.loads(reasons),
        details=json.loads(details),
        turns=json.loads(turns),
        attribution=None if attribution is None else json.loads(attribution),
    )


def _migrate(conn: sqlite3.Connection, where: Path) -> None:
    """Bring the file to DB_SCHEMA_VERSION in one transaction (another process may race us)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = DB_SCHEMA_VERSION if found is None else int(found[0])
        if version > DB_SCHEMA_VERSION:
            raise UsageError(
                f"store schema {version} is newer than this callgate reads ({DB_SCHEMA_VERSION}):"
                " upgrade callgate",
                source=where,
            )
        if version == 1:
            # 1 -> 2: the attribution leaves ``details`` for a column of its own.
            conn.execute("ALTER TABLE scores ADD COLUMN attribution TEXT")
            rows = conn.execute("SELECT rowid, details FROM scores").fetchall()
            for rowid, blob in rows:
                details = json.loads(blob)
                found_attribution = details.pop("Attribution", None)
                conn.execute(
                    "UPDATE scores SET details=?, attribution=? WHERE rowid=?",
                    (
                        json.dumps(details),
                        None if found_attribution is None else json.dumps(found_attribution),
                        rowid,
                    ),
                )
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(DB_SCHEMA_VERSION),)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
