"""Shared fixtures: a store whose speech cache is reused across tests in one session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder shared by the slow end-to-end tests (its TTS/ASR cache saves minutes)."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``callgate ARGS`` in-process; return (exit code, stdout, stderr)."""
    from callgate.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        import sys

        old = sys.argv
        sys.argv = ["callgate", *args]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.argv = old
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
