"""HTTP byte ranges for audio files (players seek with ``Range: bytes=a-b``)."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BadRange(ValueError):
    """The range cannot be satisfied: answer 416."""


def is_sha(value: str) -> bool:
    """Blob names are sha256 hex: anything else is refused before it can reach the disk."""
    return bool(_SHA.match(value))


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive, for one range; None means the whole file.

    Several ranges (``bytes=0-1,5-9``) are answered with the whole file, which RFC 9110 allows;
    players never ask for more than one.
    """
    if not header:
        return None
    header = header.strip()
    if "," in header:
        return None
    m = _RANGE.match(header)
    if m is None:
        return None  # not a byte range we understand: ignore it, send everything
    first, last = m.group(1), m.group(2)
    if not first and not last:
        raise BadRange(header)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise BadRange(header)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise BadRange(header)
    return start, min(end, size - 1)
