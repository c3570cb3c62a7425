"""The web UI reads the store read-only: its connection cannot write, and a store folder the
server may not write (a CI artifact, a read-only mount) is served all the same."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from callgate.store.db import Store
from callgate.store.reader import StoreReader
from callgate.web.server import make_server
from report.handmade import Hand, make_store

NOBODY = 65534


@pytest.fixture
def world_readable() -> Iterator[Path]:
    # Not tmp_path: pytest's folders are private to their user, and the test below may read the
    # store as another user.
    folder = Path(tempfile.mkdtemp(prefix="callgate-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def test_a_write_through_the_ui_connection_fails(tmp_path: Path) -> None:
    hand = make_store(tmp_path / "store")
    server = make_server(hand.root, host="127.0.0.1", port=0, gate_roots=[])
    try:
        with server.open_store() as store:
            assert type(store) is StoreReader and not hasattr(store, "put_call")
            assert [r.run_id for r in store.runs()] == [hand.run_id]
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                store.conn.execute("DELETE FROM runs")
    finally:
        server.server_close()
    assert Store.open(hand.root, create=False).runs()  # nothing was deleted


def _freeze(root: Path) -> None:
    """Make a store folder read-only for everyone (files 0444, folders 0555)."""
    for path in [*root.rglob("*"), root]:
        mode = 0o555 if path.is_dir() else 0o444
        path.chmod(mode)


SERVE = textwrap.dedent(
    """
    import http.client, sys, threading
    from pathlib import Path
    from callgate.web.server import make_server

    root, run_id, call_id = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = make_server(root, host="127.0.0.1", port=0, gate_roots=[])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for path in ("/", f"/run/{run_id}", f"/run/{run_id}/call/{call_id}"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode()
        print(path, resp.status, run_id in body)
    server.shutdown()
    """
)


def test_a_store_folder_that_is_not_writable_is_served(world_readable: Path) -> None:
    hand: Hand = make_store(world_readable / "store")
    _freeze(hand.root)
    before = sorted(p.name for p in hand.root.iterdir())
    cmd = [sys.executable, "-c", SERVE, str(hand.root), hand.run_id, hand.regressed]
    if os.geteuid() == 0:
        # Permission bits do not stop root: read the store as an unprivileged user instead.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop write access")
        cmd = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
        probe = subprocess.run([*cmd[:4], sys.executable, "-c", "import callgate.web.server"])
        if probe.returncode != 0:
            pytest.skip("an unprivileged user cannot import callgate from this checkout")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert [line.split()[1:] for line in lines if line] == [["200", "True"]] * 3, done.stdout
    assert sorted(p.name for p in hand.root.iterdir()) == before  # nothing written beside it
    assert not stat.S_IMODE(hand.root.stat().st_mode) & 0o222
