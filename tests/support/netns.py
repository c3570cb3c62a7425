"""Run a test body in a fresh network namespace with only loopback up, in a session of its own.

Ray binds to the machine's network interfaces, not only to 127.0.0.1: its tests run where no
traffic can leave loopback. ``unshare --net`` as root (CI), ``unshare --net --map-root-user`` as
a normal user where the kernel allows user namespaces. Everything the body starts (``ray start``
daemons included, which leave their parent but keep its session) is killed by process id after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


@cache
def netns_prefix() -> tuple[str, ...] | None:
    """The command prefix that enters a new network namespace, or None where it is refused."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    prefix = ("unshare", "--net") if os.geteuid() == 0 else ("unshare", "--net", "--map-root-user")
    try:
        probe = subprocess.run(
            [*prefix, "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 else None


def session_pids(sid: int) -> list[int]:
    """Every live process of session ``sid`` (from /proc: no process is looked up by name)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces, so split after ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def kill_session(sid: int, spare: int | None = None, timeout: float = 20) -> None:
    """SIGKILL every process of session ``sid`` (but ``spare``) and wait until they are gone."""
    deadline = time.monotonic() + timeout
    while pids := [p for p in session_pids(sid) if p != spare]:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of session {sid} outlived SIGKILL: {pids}")
        time.sleep(0.1)


def run_in_netns(target: str, *args: str, timeout: float = 170) -> subprocess.CompletedProcess[str]:
    """Run ``module:function(*args)`` in a new network namespace (loopback up) and session."""
    prefix = netns_prefix()
    assert prefix is not None, "check netns_prefix() and skip first"
    module, function = target.split(":")
    code = f"import sys; from {module} import {function} as body; body(*sys.argv[1:])"
    cmd = [*prefix, "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    cmd += [sys.executable, "-c", code, *args]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        # Loopback only: no token file written to the user's home, no usage report.
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its session id is its pid: how its daemons are found after
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        out, err = proc.communicate()
        err += f"\n(timed out after {timeout} s)"
    finally:
        kill_session(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
