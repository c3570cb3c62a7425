"""The call filter of the web UI's run page, parsed from the query string.

Not scored is not zero: a metric threshold never matches a call whose metric is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from callgate.store.records import CallRow

STATUSES = ("all", "failed", "regressed", "passed", "unscored")
OPS = {"ge": ">=", "le": "<="}


@dataclass
class CallFilter:
    variant: str = ""
    status: str = "all"
    cause: str = ""
    tags: dict[str, set[str]] = field(default_factory=dict)  # OR within a tag, AND across tags
    metric: str = ""
    op: str = "ge"
    value: float | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, qs: dict[str, list[str]]) -> CallFilter:
        def one(name: str) -> str:
            return (qs.get(name) or [""])[-1].strip()

        f = cls(variant=one("variant"), cause=one("cause"), metric=one("metric"))
        status = one("status") or "all"
        if status in STATUSES:
            f.status = status
        else:
            f.errors.append(f"unknown status {status!r}")
        op = one("op") or "ge"
        if op in OPS:
            f.op = op
        else:
            f.errors.append(f"unknown comparison {op!r}")
        raw = one("value")
        if raw:
            try:
                f.value = float(raw)
                if not math.isfinite(f.value):
                    raise ValueError
            except ValueError:
                f.errors.append(f"threshold {raw!r} is not a number")
                f.value = None
        for item in qs.get("tag", []):
            key, sep, val = item.partition("=")
            if not item.strip():
                continue
            if not sep or not key.strip():
                f.errors.append(f"tag filter {item!r} is not tag=value")
                continue
            f.tags.setdefault(key.strip(), set()).update(v.strip() for v in val.split(","))
        return f

    def matches(self, r: CallRow) -> bool:
        if self.variant and r.variant != self.variant:
            return False
        if self.status == "failed" and not r.failed:
            return False
        if self.status == "passed" and r.failed is not False:
            return False
        if self.status == "regressed" and not r.regressed:
            return False
        if self.status == "unscored" and r.failed is not None:
            return False
        if self.cause and r.failure_cause != self.cause:
            return False
        for key, values in self.tags.items():
            if r.cohort.get(key) not in values:
                return False
        if self.metric and self.value is not None:
            v = r.metrics.get(self.metric)
            if v is None or not math.isfinite(v):
                return False
            if self.op == "ge" and not v >= self.value:
                return False
            if self.op == "le" and not v <= self.value:
                return False
        return True

    def describe(self) -> str:
        parts = []
        if self.variant:
            parts.append(f"variant {self.variant}")
        if self.status != "all":
            parts.append(self.status)
        if self.cause:
            parts.append(f"cause {self.cause}")
        parts += [f"{k} in {', '.join(sorted(v))}" for k, v in sorted(self.tags.items())]
        if self.metric and self.value is not None:
            parts.append(f"{self.metric} {OPS[self.op]} {self.value:g}")
        return "; ".join(parts) or "all calls"
