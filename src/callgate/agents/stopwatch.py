"""Wall-clock compute accounting per component (TTS, ASR, policy, ...)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    @contextmanager
    def time(self, part: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[part] += time.perf_counter() - start

    def snapshot(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in sorted(self.totals.items())}
