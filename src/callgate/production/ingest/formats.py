"""The log-format seam: a reader turns one file into call-log records, or says which line is bad.

A format is a class with a ``name``, a ``sniff(path, head)`` that says whether a file looks like
its own (for ``--format auto``) and a ``read(path)`` that yields :class:`LogEntry` items: a
:class:`~callgate.production.ingest.calllog.CallLog` with the line it starts on, or a problem
with its line. Formats are registered like every other part (entry-point group
``callgate.log_formats``, a ``module:attr`` reference, or :meth:`Registry.register`); callgate's
own three (``jsonl``, ``otel``, ``livekit``) are entry points like anyone else's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.production.ingest.calllog import CallLog
from callgate.registry import Registry, build_part


@dataclass(frozen=True)
class LogEntry:
    """One call read from a log, or why it could not be (``problem``), at the line it starts."""

    line: int | None
    log: CallLog | None = None
    problem: str | None = None


@runtime_checkable
class LogReader(Protocol):
    name: ClassVar[str]

    def sniff(self, path: Path, head: str) -> bool:
        """True when the file (its first few kilobytes in ``head``) is in this format."""
        ...

    def read(self, path: Path) -> Iterator[LogEntry]: ...


LOG_FORMATS: Registry[LogReader] = Registry("log format", "callgate.log_formats")
_KEY = re.compile(r'"(\w+)"\s*:')
# Keys of the other built-in formats' records (LiveKit reports, OTLP requests).
_OTHER_FORMATS = {"job_id", "room_id", "resourceSpans", "resource_spans"}


def validation_problem(exc: ValidationError) -> str:
    """The first error of a record as ``field.path: message`` (one line, as every bad input)."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def json_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[int, Any, str | None]]:
    """Each non-blank line parsed as JSON, numbered from 1: ``(line, value, None)``, or
    ``(line, None, problem)`` for a line that is not UTF-8 or not JSON. Every JSON Lines reader
    goes through here, so a bad line reads the same whatever the format."""
    for number, raw in enumerate(lines, 1):
        if isinstance(raw, bytes):
            # Decoded line by line: one bad byte costs its own line, not the whole file.
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 text (byte {exc.start + 1} of the line)"
                continue
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not JSON ({exc.msg}, column {exc.colno})"


def as_call_log(data: Any, line: int | None) -> LogEntry:
    try:
        return LogEntry(line, CallLog.model_validate(data))
    except ValidationError as exc:
        return LogEntry(line, problem=validation_problem(exc))


class JsonlLog:
    """callgate's own call-log format: a :class:`CallLog` as JSON per line (docs/production.md)."""

    name: ClassVar[str] = "jsonl"

    def sniff(self, path: Path, head: str) -> bool:
        # The first record's own top-level keys: other formats' lines may hold these words nested
        # (a LiveKit report line carries "release" and a tool's "call_id").
        first = next((ln for ln in head.splitlines() if ln.strip()), "")
        try:
            data = json.loads(first)
        except json.JSONDecodeError:
            if first.strip() != head.strip() or not first.lstrip().startswith("{"):
                return False  # not JSON Lines at all
            # A first line longer than the head (a long call): its keys, as the text shows them.
            keys = set(_KEY.findall(first))
            return {"call_id", "release", "started_at"} <= keys and not keys & _OTHER_FORMATS
        return isinstance(data, dict) and {"call_id", "release", "started_at"} <= data.keys()

    def read(self, path: Path) -> Iterator[LogEntry]:
        with path.open("rb") as fh:
            for number, data, problem in json_lines(fh):
                if problem is not None:
                    yield LogEntry(number, problem=problem)
                elif not isinstance(data, dict):
                    yield LogEntry(number, problem="not a JSON object")
                else:
                    yield as_call_log(data, number)


def reader_for(path: Path, fmt: str) -> LogReader:
    """The reader named ``fmt``, or with ``auto`` the first whose ``sniff`` accepts the file."""
    if fmt != "auto":
        # A mistyped module:attr is the user's input: one line, not a traceback.
        reader = build_part(LOG_FORMATS.create, fmt, {}, "--format")
        if not isinstance(reader, LogReader):
            raise UsageError(
                f"{fmt!r} is not a log format (no name, sniff and read)", field="--format"
            )
        return reader
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(1 << 20)  # a long call is one long line
    except OSError as exc:
        raise UsageError(f"cannot read the log ({exc.strerror})", source=path) from None
    if not head.strip():
        raise UsageError("empty: no call to import, and no format to recognise", source=path)
    LOG_FORMATS.load_all()  # a plugin format that fails to load is left out of the sniffing
    for name in LOG_FORMATS.names():
        try:
            reader = LOG_FORMATS.create(name)
        except (TypeError, UsageError):  # a plugin that cannot be built is no candidate
            continue
        if isinstance(reader, LogReader) and reader.sniff(path, head):
            return reader
    known = ", ".join(LOG_FORMATS.names())
    raise UsageError(
        f"not a call log callgate recognises (formats: {known}; see --format)", source=path
    )
