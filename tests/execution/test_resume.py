"""Kill `callgate run` with SIGKILL mid-way; the same command then finishes the run with every
call stored exactly once (a real subprocess, real models)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ARGS = [
    "run",
    "--suite",
    "banking",
    "-v",
    "baseline",
    "-s",
    "freeze-debit-simple",
    "-s",
    "balance-checking-simple",
    "-s",
    "pin-reset-debit",
    "-c",
    "noise=clean",
    "--workers",
    "1",
]


def stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def test_sigkill_then_resume_stores_every_call_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "callgate.cli.main", *ARGS, "--store", str(store)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # A new session makes the run and its worker processes one group we can kill by its id.
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    db = store / "callgate.db"
    deadline = time.monotonic() + 240
    try:
        while stored(db) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no call was stored in time"
            time.sleep(0.2)
    finally:
        # It may have ended already (the assertion above then says why).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    before = stored(db)
    assert 2 <= before < 6

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"resuming: {before} calls already stored" in done.stderr
    new = int(re.search(r"for (\d+) new calls", done.stdout).group(1))  # type: ignore[union-attr]
    assert new == 6 - before
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT scenario_id, cohort_id, variant, repeat FROM calls").fetchall()
        finished = conn.execute("SELECT finished FROM runs").fetchall()
    assert len(rows) == len(set(rows)) == 6
    assert finished[0][0] is not None
    # Running it once more changes nothing.
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "for 0 new calls" in again.stdout
    assert stored(db) == 6
