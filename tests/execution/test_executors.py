"""Choosing an executor: ``--address`` only where an executor joins a cluster, and a missing Ray
package named in one line."""

from __future__ import annotations

import socket
import sys

import pytest

from callgate.errors import UsageError
from callgate.execution.executors import EXECUTORS, InlineExecutor, create_executor


def test_address_is_only_for_an_executor_that_takes_one() -> None:
    with pytest.raises(UsageError) as caught:
        create_executor("local", workers=2, address="127.0.0.1:6379")
    assert caught.value.one_line() == (
        "--address: executor 'local' runs on this machine: --address needs --executor ray"
    )
    EXECUTORS.register("joins-test")(lambda workers=None, **options: InlineExecutor())
    try:
        assert create_executor("joins-test", address="auto").name == "inline"
    finally:
        EXECUTORS.unregister("joins-test")


def test_without_ray_the_ray_executor_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when not installed
    with pytest.raises(UsageError) as caught:
        create_executor("ray", workers=2)
    assert caught.value.one_line() == (
        "--executor: the ray executor needs the ray package: pip install 'callgate[ray]'"
    )


def test_the_ray_executor_connects_only_when_given_jobs() -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    import ray

    ex = create_executor("ray", workers=2, address="auto")
    assert ex.name == "ray"
    assert list(ex.map_unordered(abs, [])) == []
    assert not ray.is_initialized()


def test_a_cluster_address_where_nothing_listens_fails_at_once() -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port of ours, never listened on: nothing answers
        port = sock.getsockname()[1]
        with pytest.raises(UsageError) as caught:
            create_executor("ray", address=f"127.0.0.1:{port}")
    assert caught.value.one_line().startswith(
        f"--address: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused"
    )
