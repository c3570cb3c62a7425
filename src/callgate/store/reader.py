"""Reading a callgate store, and nothing else: the gate, the report and the web UI use this.

:class:`StoreReader` opens ``callgate.db`` with SQLite's read-only mode (a ``file:...?mode=ro``
URI), so a bug in a reader cannot change a store, and a store on a read-only mount (a CI artifact)
can be read. It exposes only reads; :class:`callgate.store.db.Store` adds the writes. A store of an
older schema is read as it is (a reader cannot migrate it): records migrate older shapes on
reading (:mod:`callgate.store.records`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.store.records import CallRow, CallScores
from callgate.store.run_spec import RunSpec
from callgate.traces.model import CallTrace

# 1: scores kept the attribution inside ``details``; 2: in a column of its own.
DB_SCHEMA_VERSION = 2
NO_STORE = "no callgate store here (run `callgate run` or `callgate demo` first)"


@dataclass(frozen=True)
class RunRow:
    run_id: str
    created: float
    spec: RunSpec
    planned: int
    finished: float | None
    wall_s: float
    stored: int


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, on a file that must exist."""
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    # A WAL database in a folder we may not write (a read-only mount, another user's store):
    # readers need a shared-memory file beside it that SQLite cannot create there, so read the
    # file as immutable instead (nobody can be writing to a folder that cannot be written).
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30.0, isolation_level=None)


class StoreReader:
    """The reads of a callgate store folder (``callgate.db``, ``blobs/``), opened read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / "callgate.db"
        self._conn: sqlite3.Connection | None = None
        self._version = DB_SCHEMA_VERSION

    @classmethod
    def open(cls, root: str | Path) -> StoreReader:
        """An existing store, read-only; a missing or unreadable one is a UsageError."""
        reader = cls(Path(root))
        if not reader.db_path.is_file():
            raise UsageError(NO_STORE, source=reader.root)
        reader.conn  # noqa: B018 - opens and checks the schema version up front
        return reader

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = connect_readonly(self.db_path)
                found = conn.execute("SELECT value FROM meta WHERE key='schema_version'")
                row = found.fetchone()
            except sqlite3.Error as exc:
                raise UsageError(f"not a callgate store ({exc})", source=self.db_path) from None
            version = DB_SCHEMA_VERSION if row is None else int(row[0])
            if version > DB_SCHEMA_VERSION:
                conn.close()
                raise UsageError(
                    f"store schema {version} is newer than this callgate reads "
                    f"({DB_SCHEMA_VERSION}): upgrade callgate",
                    source=self.db_path,
                )
            self._version = version
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------------

    def runs(self) -> list[RunRow]:
        rows = self.conn.execute(
            "SELECT r.run_id, r.created, r.spec, r.planned, r.finished, r.wall_s,"
            " (SELECT COUNT(*) FROM calls c WHERE c.run_id = r.run_id)"
            " FROM runs r ORDER BY r.created"
        ).fetchall()
        return [RunRow(r[0], r[1], self._spec(r[0], r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def _spec(self, run_id: str, text: str) -> RunSpec:
        try:
            return RunSpec.model_validate_json(text)
        except ValidationError as exc:  # written by a newer callgate, or edited by hand
            why = exc.errors()[0]["msg"]
            raise UsageError(
                f"run {run_id}: its spec does not read with this callgate: {why}", source=self.root
            ) from None

    def run(self, run_id: str) -> RunRow:
        matches = [r for r in self.runs() if r.run_id.startswith(run_id)]
        if not matches:
            raise UsageError(f"no run {run_id!r} in this store", source=self.root)
        if len(matches) > 1:
            raise UsageError(f"run id prefix {run_id!r} is ambiguous", source=self.root)
        return matches[0]

    def imported_runs(self, asked: list[str]) -> list[RunRow]:
        """The named runs (ids or prefixes), each checked to hold imported production calls, once
        each; none named: every import run of the store (what signals and mining read)."""
        if not asked:
            found = [r for r in self.runs() if r.spec.imported is not None]
            if not found:
                raise UsageError(
                    "the store holds no imported calls (import call logs with `callgate ingest` "
                    "first)",
                    source=self.root,
                )
            return found
        rows: dict[str, RunRow] = {}
        for prefix in asked:
            row = self.run(prefix)
            if row.spec.imported is None:
                raise UsageError(
                    f"run {row.run_id} holds simulated calls, not imported ones: import call "
                    "logs with `callgate ingest`",
                    source=self.root,
                )
            rows.setdefault(row.run_id, row)
        return list(rows.values())

    def latest_run(self) -> RunRow:
        runs = self.runs()
        if not runs:
            raise UsageError("the store has no runs yet", source=self.root)
        return runs[-1]

    def looks(self, run_id: str) -> list[str]:
        """An adaptive run's gate records (JSON), look by look; none for a fixed run."""
        try:
            rows = self.conn.execute(
                "SELECT record FROM gate_looks WHERE run_id=? ORDER BY look", (run_id,)
            ).fetchall()
        except sqlite3.OperationalError:
            return []  # a read-only store written before adaptive runs existed
        return [r[0] for r in rows]

    def run_version(self, run_id: str) -> tuple[int, int]:
        """(calls stored, calls scored): changes while a run grows or is re-scored (a cache key)."""
        calls = self.conn.execute("SELECT COUNT(*) FROM calls WHERE run_id=?", (run_id,))
        scored = self.conn.execute("SELECT COUNT(*) FROM scores WHERE run_id=?", (run_id,))
        return int(calls.fetchone()[0]), int(scored.fetchone()[0])

    # -- calls -----------------------------------------------------------------------------------

    def stored_call_ids(self, run_id: str) -> set[str]:
        rows = self.conn.execute("SELECT call_id FROM calls WHERE run_id=?", (run_id,))
        return {r[0] for r in rows}

    def known_call_ids(self, call_ids: list[str]) -> set[str]:
        """Which of these call ids any run of the store already holds (an import's duplicates)."""
        known: set[str] = set()
        for i in range(0, len(call_ids), 500):  # SQLite caps the parameters of one statement
            chunk = call_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT call_id FROM calls WHERE call_id IN ({marks})", chunk)
            known.update(r[0] for r in rows)
        return known

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

    def dev_calls(self, run_id: str, variant: str) -> Iterator[CallTrace]:
        """The dev-split calls of one variant in a run: all a tuning job may read. Holdout traces
        are filtered here, in the query, so they never reach tuning code at all."""
        for (blob,) in self.conn.execute(
            "SELECT trace FROM calls WHERE run_id=? AND variant=? AND split='dev'"
            " ORDER BY scenario_id, cohort_id, repeat",
            (run_id, variant),
        ):
            yield CallTrace.model_validate_json(blob)

    def call(self, run_id: str, call_id: str) -> CallTrace:
        rows = self.conn.execute(
            "SELECT trace FROM calls WHERE run_id=? AND call_id LIKE ?", (run_id, call_id + "%")
        ).fetchall()
        if not rows:
            raise UsageError(f"no call {call_id!r} in run {run_id}", source=self.root)
        if len(rows) > 1:
            raise UsageError(f"call id prefix {call_id!r} is ambiguous", source=self.root)
        return CallTrace.model_validate_json(rows[0][0])

    def call_rows(self, run_id: str) -> list[CallRow]:
        """Every call of a run as a row with its scores (unscored calls too), in stored order."""
        scores = self.scores(run_id)
        return [CallRow.of(t, scores.get(t.call_id)) for t in self.calls(run_id)]

    # -- scores ----------------------------------------------------------------------------------

    def evaluation_spec(self, run_id: str) -> list[dict[str, Any]] | None:
        row = self.conn.execute("SELECT spec FROM evaluations WHERE run_id=?", (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def scored_call_ids(self, run_id: str, spec_hash: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT call_id FROM scores WHERE run_id=? AND spec_hash=?", (run_id, spec_hash)
        )
        return {r[0] for r in rows}

    def scores(self, run_id: str) -> dict[str, CallScores]:
        rows = self.conn.execute(
            f"SELECT call_id, {self._score_columns} FROM scores WHERE run_id=?", (run_id,)
        )
        return {r[0]: self._scores(r[1:]) for r in rows}

    def call_scores(self, run_id: str, call_id: str) -> CallScores | None:
        """One call's scores (the web UI's call page: no need to load the whole run's)."""
        row = self.conn.execute(
            f"SELECT {self._score_columns} FROM scores WHERE run_id=? AND call_id=?",
            (run_id, call_id),
        ).fetchone()
        return None if row is None else self._scores(row)

    @property
    def _score_columns(self) -> str:
        self.conn  # noqa: B018 - the schema version is known once connected
        if self._version < 2:
            return "metrics, reasons, details, turns, NULL"  # attribution is inside details
        return "metrics, reasons, details, turns, attribution"

    def _scores(self, row: tuple[Any, ...]) -> CallScores:
        metrics, reasons, details, turns, attribution = row
        try:
            return self._validate_scores(metrics, reasons, details, turns, attribution)
        except ValidationError as exc:  # written by a newer callgate, or edited by hand
            raise UsageError(
                f"stored scores do not read with this callgate: {exc.errors()[0]['msg']}",
                source=self.root,
            ) from None

    def _validate_scores(
        self, metrics: str, reasons: str, details: str, turns: str, attribution: str | None
    ) -> CallScores:
        return CallScores.model_validate(
            {
                "schema_version": min(self._version, 2),  # store schema 1 holds scores schema 1
                "metrics": json.loads(metrics),
                "reasons": json.loads(reasons),
                "details": json.loads(details),
                "turns": json.loads(turns),
                "attribution": None if attribution is None else json.loads(attribution),
            }
        )

    # -- tuning reads (the holdout guard rail) ---------------------------------------------------

    def tuned_on(self, run_ids: list[str]) -> list[tuple[str, int, int]]:
        """(job, calls, scenarios) for tuning jobs that read the scenarios of these runs' calls in
        any run and split: gating on them scores a candidate on its own tuning data."""
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        rows = self.conn.execute(
            "SELECT tr.job, COUNT(DISTINCT tr.call_id), COUNT(DISTINCT c.scenario_id)"
            " FROM tuning_reads tr JOIN calls c ON c.run_id = tr.run_id AND c.call_id = tr.call_id"
            f" WHERE c.scenario_id IN (SELECT scenario_id FROM calls WHERE run_id IN ({marks}))"
            " GROUP BY tr.job ORDER BY tr.job",
            tuple(run_ids),
        ).fetchall()
        return [(str(job), int(n), int(k)) for job, n, k in rows]

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

    def suite_tuning_reads(self, suite: str) -> dict[str, list[str]]:
        """Scenario id -> the tuning jobs that read its calls, over every run of the named suite
        and both splits: a scenario read while in dev and moved to holdout since is just as
        known to the tuned agent (`callgate check` flags those that are holdout now)."""
        run_ids = [r.run_id for r in self.runs() if r.spec.suite == suite]
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        try:
            rows = self.conn.execute(
                "SELECT DISTINCT c.scenario_id, tr.job FROM tuning_reads tr"
                " JOIN calls c ON c.run_id = tr.run_id AND c.call_id = tr.call_id"
                f" WHERE tr.run_id IN ({marks}) ORDER BY c.scenario_id, tr.job",
                tuple(run_ids),
            ).fetchall()
        except sqlite3.OperationalError:
            return {}  # a read-only store written before tuning reads were recorded
        reads: dict[str, list[str]] = {}
        for scenario_id, job in rows:
            reads.setdefault(str(scenario_id), []).append(str(job))
        return reads
