"""User-facing errors.

Anything the user can fix (a bad file, an unknown engine, a missing model package, an unwritable
store) is raised as a :class:`UsageError`. The CLI turns it into one line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class UsageError(Exception):
    """A problem with the user's input, reported as one line and exit code 2."""

    def __init__(self, message: str, *, source: str | Path | None = None, field: str | None = None):
        self.message = message
        self.source = str(source) if source is not None else None
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.source and self.field:
            where = f"{self.source}: {self.field}: "
        elif self.source:
            where = f"{self.source}: "
        elif self.field:
            where = f"{self.field}: "
        return (where + self.message).replace("\n", " ")


class MissingModelError(UsageError):
    """A speech model package is not installed."""
