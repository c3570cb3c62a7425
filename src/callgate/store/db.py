"""The run store: one SQLite file with runs and call traces, audio blobs beside it.

:class:`Store` is the only writer, and with :class:`callgate.store.reader.StoreReader` (which it
extends) the only module that speaks SQL (tests/store/test_sql_only_here.py).

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
from pathlib import Path
from typing import Any

from callgate.errors import UsageError
from callgate.store.reader import DB_SCHEMA_VERSION, NO_STORE, StoreReader
from callgate.store.records import CallScores
from callgate.store.run_spec import RunSpec
from callgate.traces.model import CallTrace

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
CREATE TABLE IF NOT EXISTS gate_looks (   -- an adaptive run's gate after each batch of calls
    run_id TEXT NOT NULL, look INTEGER NOT NULL, created REAL NOT NULL,
    record TEXT NOT NULL,        -- JSON of callgate.gate.model.GateLook
    PRIMARY KEY (run_id, look)
);
CREATE TABLE IF NOT EXISTS tuning_reads (   -- which calls a tuning job read (holdout guard rail)
    run_id TEXT NOT NULL, call_id TEXT NOT NULL, job TEXT NOT NULL, read REAL NOT NULL,
    PRIMARY KEY (run_id, call_id, job)
);
"""


class Store(StoreReader):
    """A callgate store folder (``callgate.db``, ``blobs/`` and ``cache/``), read-write: the
    reads of :class:`StoreReader` plus every write; opening it migrates an older schema."""

    @classmethod
    def open(cls, root: str | Path, *, create: bool = True) -> Store:
        store = cls(Path(root))
        if not store.db_path.exists() and not create:
            raise UsageError(NO_STORE, source=store.root)
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

    # -- runs ------------------------------------------------------------------------------------

    def ensure_run(self, run_id: str, spec: RunSpec | dict[str, Any], planned: int) -> bool:
        """Create the run if new; return True when it already existed (a resume)."""
        record = spec if isinstance(spec, RunSpec) else RunSpec.model_validate(spec)
        row = self.conn.execute("SELECT run_id FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is not None:
            return True
        self.conn.execute(
            "INSERT INTO runs (run_id, created, spec, planned) VALUES (?, ?, ?, ?)",
            (run_id, time.time(), record.model_dump_json(), planned),
        )
        return False

    def add_wall(self, run_id: str, seconds: float) -> None:
        self.conn.execute("UPDATE runs SET wall_s = wall_s + ? WHERE run_id=?", (seconds, run_id))

    def mark_finished(self, run_id: str) -> None:
        self.conn.execute("UPDATE runs SET finished=? WHERE run_id=?", (time.time(), run_id))

    def delete_run(self, run_id: str) -> None:
        """Forget a run: its calls, scores, evaluation and tuning reads (audio blobs stay: other
        runs may share them)."""
        with self.transaction():
            for table in ("scores", "tuning_reads", "evaluations", "calls", "runs"):
                self.conn.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))

    # -- calls -----------------------------------------------------------------------------------

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

    # -- tuning reads (the holdout guard rail) ---------------------------------------------------

    def put_look(self, run_id: str, look: int, record_json: str) -> None:
        """Store an adaptive run's gate at one look (replaced when the look is taken again)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO gate_looks VALUES (?, ?, ?, ?)",
            (run_id, look, time.time(), record_json),
        )

    def record_tuning_read(self, run_id: str, call_id: str, job: str) -> None:
        """Note that tuning job ``job`` read this call (a tuning loop calls this for every call it
        looks at); the gate warns when such reads touched holdout calls."""
        self.conn.execute(
            "INSERT OR IGNORE INTO tuning_reads VALUES (?, ?, ?, ?)",
            (run_id, call_id, job, time.time()),
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
