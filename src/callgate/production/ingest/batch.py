"""Load call logs into the store as imported calls: one run per import batch, scored on the way in.

Nothing is written until every file has been read: a bad line is a problem reported with its file
and line, and with ``on_error="fail"`` (the default) the import stops there and the store is left as
it was; with ``"skip"`` the line is reported and left out. The calls are then stored and scored in
one transaction, so an interrupted import leaves nothing half-written and running it again does
the whole batch. Audio files a log references are copied into the store's blobs (content-addressed:
an orphan left by a failed import is harmless and reused by the next).

A batch's run id derives from its files' bytes and the ids of the calls new to the store, and a
call's id from its suite and its id in the log, so ingesting the same file again, or another
export that repeats some calls, adds nothing twice, and calls added later from the same file
(their audio was missing) form a run of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from callgate.errors import UsageError
from callgate.production.ingest.calllog import CallLog
from callgate.production.ingest.formats import LogReader, reader_for
from callgate.production.ingest.to_trace import imported_call_id, to_trace
from callgate.scenarios.evaluation import EvaluationRules
from callgate.store.db import Store
from callgate.store.run_spec import ImportBatch, LogFile, RunSpec
from callgate.traces.model import AudioRef, CallTrace

OnError = Literal["skip", "fail"]


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class _Read:
    path: Path
    fmt: str
    line: int | None
    log: CallLog
    call_id: str


@dataclass
class IngestOutcome:
    run_id: str | None  # None: nothing new to store
    read: int = 0  # calls read from the files
    added: int = 0  # calls stored by this import
    known: int = 0  # calls some run of the store already held
    problems: list[Problem] = field(default_factory=list)
    releases: dict[str, int] = field(default_factory=dict)  # release -> calls added


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Audio:
    """Copies the audio files a log names into the blobs, once per file."""

    def __init__(self, store: Store, base: Path) -> None:
        from callgate.store.blobs import BlobStore

        self.blobs = BlobStore(store.root / "blobs")
        self.base = base
        self.seen: dict[Path, AudioRef] = {}

    def __call__(self, name: str) -> AudioRef:
        from callgate.speech.audio import read_audio

        path = (self.base / name).resolve()
        if path not in self.seen:
            if not path.is_file():
                raise ValueError(f"audio file not found: {name}")
            try:
                audio = read_audio(path)
            except Exception as exc:  # libsndfile's errors carry no stable type
                raise ValueError(f"cannot read audio file {name}: {exc}") from None
            self.seen[path] = self.blobs.put(audio)
        return self.seen[path]


def ingest(
    store: Store,
    paths: list[Path],
    *,
    fmt: str = "auto",
    on_error: OnError = "fail",
    rules: EvaluationRules | None = None,
    on_file: Callable[[Path, str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_call: Callable[[], None] | None = None,
) -> IngestOutcome:
    """Read ``paths`` (each in ``fmt``, or sniffed), then store and score the new calls."""
    readers: list[tuple[Path, LogReader]] = []
    given: dict[Path, Path] = {}
    for path in paths:  # a file named twice (a glob and its name) is read once
        given.setdefault(path.resolve(), path)
    for path in given.values():
        if not path.is_file():
            what = "a folder, not a log file" if path.is_dir() else "file not found"
            raise UsageError(what, source=path)
        readers.append((path, reader_for(path, fmt)))

    out = IngestOutcome(run_id=None)
    entries: list[_Read] = []
    files: list[LogFile] = []
    where: dict[str, tuple[Path, int | None]] = {}  # call id -> first place it was read
    for path, reader in readers:
        if on_file:
            on_file(path, reader.name)
        read = problems = 0
        try:
            read_entries = list(reader.read(path))
        except OSError as exc:  # unreadable (permissions, a file removed meanwhile): one line
            raise UsageError(f"cannot read the log ({exc.strerror})", source=path) from None
        for entry in read_entries:
            if entry.log is None:
                out.problems.append(Problem(path, entry.line, entry.problem or "unreadable"))
                problems += 1
                continue
            read += 1
            cid = imported_call_id(entry.log.suite, entry.log.call_id)
            if cid in where:
                first, line = where[cid]
                at = f"{first.name}:{line}" if line is not None else first.name
                again = f"call_id {entry.log.call_id!r} again (first at {at})"
                out.problems.append(Problem(path, entry.line, again))
                problems += 1
                continue
            where[cid] = (path, entry.line)
            entries.append(_Read(path, reader.name, entry.line, entry.log, cid))
        out.read += read
        files.append(
            LogFile(
                path=str(path.resolve()),
                sha256=file_sha256(path),
                format=reader.name,
                calls=read,
                problems=problems,
            )
        )

    # Calls the store holds already are neither converted nor their audio copied again.
    known = store.known_call_ids([e.call_id for e in entries])
    fresh = [e for e in entries if e.call_id not in known]
    out.known = len(entries) - len(fresh)
    spec = RunSpec(
        suite=fresh[0].log.suite if fresh else "",
        variants={v: "" for v in sorted({e.log.release for e in fresh})},
        imported=ImportBatch(
            files=files,
            on_error=on_error,
            rules=None if rules is None else rules.model_dump(mode="json"),
            calls_sha256=hashlib.sha256(
                "\n".join(sorted(e.call_id for e in fresh)).encode()
            ).hexdigest(),
        ),
    )
    run_id = spec.run_id()
    new: list[CallTrace] = []
    audio = {path: _Audio(store, path.parent) for path, _ in readers}
    for e in fresh:
        try:
            new.append(
                to_trace(
                    e.log,
                    run_id=run_id,
                    fmt=e.fmt,
                    file=e.path.name,
                    line=e.line,
                    audio=audio[e.path],
                )
            )
        except ValueError as exc:  # an audio file missing or unreadable
            out.problems.append(Problem(e.path, e.line, str(exc)))
    if out.problems and on_error == "fail":
        return out  # the caller reports every problem; nothing was written
    if not new:
        return out
    if on_start:
        on_start(len(new))
    _store(store, run_id, spec, new, rules, on_call)
    out.run_id = run_id
    out.added = len(new)
    for t in new:
        out.releases[t.variant] = out.releases.get(t.variant, 0) + 1
    return out


def _store(
    store: Store,
    run_id: str,
    spec: RunSpec,
    traces: list[CallTrace],
    rules: EvaluationRules | None,
    on_call: Callable[[], None] | None,
) -> None:
    from callgate.evaluators.base import EvalContext
    from callgate.evaluators.suite import build_all, evaluation_spec, resolved_spec, score_call
    from callgate.inspection.attribution import attribute
    from callgate.store.blobs import BlobStore

    spec_items = evaluation_spec(rules)
    evaluators = build_all(spec_items)
    resolved = resolved_spec(spec_items, evaluators)
    ctx = EvalContext(load_audio=BlobStore(store.root / "blobs").get)
    with store.transaction():
        store.ensure_run(run_id, spec, len(traces))
        spec_hash = store.set_evaluation(run_id, resolved)
        for trace in traces:
            store.put_call(trace)
            scores = score_call(trace, evaluators, ctx)
            scores.attribution = attribute(trace, scores, None, None, [], None)
            store.put_scores(run_id, spec_hash, trace.call_id, scores)
            if on_call:
                on_call()
        store.mark_finished(run_id)
