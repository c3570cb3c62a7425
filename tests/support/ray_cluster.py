"""A two-node Ray cluster on loopback for a test body run by :func:`support.netns.run_in_netns`:
a head and one worker node, one CPU each, started with ``ray start`` as separate processes.

Stopped by process id: ``ray start`` leaves its daemons (gcs_server, raylet, workers, ...) in the
body's session, so :meth:`stop` kills every process of that session but the body itself. Never
``ray stop``: it ends every Ray process on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from support.netns import kill_session

RAY = str(Path(sys.executable).with_name("ray"))
NODE = [
    "--num-cpus=1",
    "--disable-usage-stats",
    f"--object-store-memory={100 * 1024**2}",
    f"--memory={2 * 1024**3}",
    "--node-ip-address=127.0.0.1",
]


class Cluster:
    def __init__(self, port: int = 6390) -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"
        # Short, under /tmp: Ray's socket paths in it must fit in 107 characters.
        self.temp = Path(tempfile.mkdtemp(prefix="cgray-", dir="/tmp"))

    def start(self) -> Cluster:
        assert os.getsid(0) == os.getpid(), "run in a session of its own (run_in_netns)"
        temp = f"--temp-dir={self.temp}"
        self._ray("start", "--head", f"--port={self.port}", "--include-dashboard=false", temp)
        # A second node on the same address needs its own dashboard-agent port.
        self._ray("start", f"--address={self.address}", "--dashboard-agent-listen-port=52400", temp)
        return self

    def _ray(self, *args: str) -> None:
        done = subprocess.run([RAY, *args, *NODE], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        kill_session(os.getsid(0), spare=os.getpid())
        shutil.rmtree(self.temp, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()  # a head that started before the worker node failed
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
