"""Exit codes CI can rely on: a crash is never read as a gate decision; a usage error shows the
usage line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_an_internal_error_is_one_line_exit_4_and_a_traceback_file(
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import callgate.store.reader as reader

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("planted failure")

    monkeypatch.setattr(reader.StoreReader, "open", classmethod(boom))
    monkeypatch.setenv("CALLGATE_CRASH_DIR", str(tmp_path / "crashes"))
    code, _out, err = cli("runs", "--store", str(tmp_path))
    assert code == 4
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("callgate: internal error: RuntimeError: planted failure")
    (written,) = (tmp_path / "crashes").glob("callgate-crash-*.txt")
    assert written.name in lines[0]
    text = written.read_text()
    assert "Traceback (most recent call last)" in text and "planted failure" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["rnu"], "No such command 'rnu'"),
        (["gate"], "Missing argument"),
        (["runs", "--stroe", "x"], "No such option: --stroe"),
        (["run", "--repeats", "many"], "Invalid value for '--repeats'"),
    ],
)
def test_usage_errors_show_usage_and_exit_2(args: list[str], needle: str, cli) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = cli(*args)
    assert code == 2, err
    assert "Usage: " in err and needle in err
    assert "Traceback" not in err
