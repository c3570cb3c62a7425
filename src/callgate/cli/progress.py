"""Progress display: a live bar on a terminal, periodic plain lines in logs (CI, redirects)."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bar:
    """One counted task. ``start(total, done)`` then ``advance()`` per finished item."""

    def __init__(self, console: Console, label: str, every: float = 0.1) -> None:
        self.console = console
        self.label = label
        self.every = every  # a log line per this share of the work
        self.total = 0
        self.done = 0
        self._t0 = time.perf_counter()
        self._next_line = 0.0
        self._live: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Bar:
        if self.console.is_terminal:
            self._live = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._live.__enter__()
            self._task = self._live.add_task(self.label, total=None)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(t, e, tb)

    def start(self, total: int, done: int = 0) -> None:
        self.total, self.done = total, done
        self._t0 = time.perf_counter()
        self._first = done
        if self._live is not None and self._task is not None:
            self._live.update(self._task, total=total, completed=done)
        self._next_line = done / total + self.every if total else 1.0

    def advance(self) -> None:
        self.done += 1
        if self._live is not None and self._task is not None:
            self._live.advance(self._task)
            return
        share = self.done / self.total if self.total else 1.0
        if share + 1e-9 >= self._next_line or self.done == self.total:
            elapsed = time.perf_counter() - self._t0
            rate = (self.done - self._first) / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            self.console.print(
                f"{self.label}: {self.done}/{self.total} ({share:.0%}), {elapsed:.0f} s elapsed, "
                f"about {eta:.0f} s left",
                highlight=False,
                markup=False,
            )
            self._next_line = share + self.every

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)
