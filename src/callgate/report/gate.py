"""gate.json read as plain JSON, defensively.

The gate's schema (src/callgate/gate/report.py) may still grow, so the report reads only the
fields it draws, checks each one's type and falls back to "unknown" rather than failing: an old or
newer gate.json still gives a report. Only an unreadable file or one that is not a JSON object is
an error (one line, exit 2).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callgate.errors import UsageError

_SHARE_UNITS = {"fraction", "bool", "flag"}


def _str(d: dict[str, Any], key: str, default: str = "") -> str:
    v = d.get(key)
    return v if isinstance(v, str) else default


def _float(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _int(d: dict[str, Any], key: str) -> int | None:
    v = d.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _dict(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def _list(d: dict[str, Any], key: str) -> list[Any]:
    v = d.get(key)
    return v if isinstance(v, list) else []


@dataclass
class Check:
    metric: str
    slice: str
    n: int | None
    baseline: float | None
    candidate: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    margin: float | None
    verdict: str
    status: str  # pass, block, warn (or whatever a newer gate says)
    direction: str  # higher or lower is better
    statistic: str
    unit: str
    share: bool  # shown in percentage points
    note: str

    @property
    def title(self) -> str:
        return (
            self.metric if self.statistic in ("", "mean") else f"{self.metric} ({self.statistic})"
        )


@dataclass
class GateView:
    source: Path
    decision: str  # PROMOTE, BLOCK or "UNKNOWN"
    reasons: list[str]
    warnings: list[str]
    notes: list[str]
    checks: list[Check]
    policy: str
    pairing: str
    baseline_label: str
    candidate_label: str
    baseline_variant: str | None
    candidate_variant: str | None
    run_ids: list[str] = field(default_factory=list)
    confidence: float | None = None


def _check(d: dict[str, Any]) -> Check:
    statistic = _str(d, "statistic", "mean")
    unit = _str(d, "unit")
    share = statistic == "mean" and (_str(d, "kind") == "binary" or unit in _SHARE_UNITS)
    return Check(
        metric=_str(d, "metric", "?"),
        slice=_str(d, "slice", "all"),
        n=_int(d, "n"),
        baseline=_float(d, "baseline"),
        candidate=_float(d, "candidate"),
        delta=_float(d, "delta"),
        ci_low=_float(d, "ci_low"),
        ci_high=_float(d, "ci_high"),
        margin=_float(d, "margin"),
        verdict=_str(d, "verdict"),
        status=_str(d, "status", "pass"),
        direction=_str(d, "direction", "higher"),
        statistic=statistic,
        unit=unit,
        share=share,
        note=_str(d, "note"),
    )


def _reason(r: Any) -> str:
    if isinstance(r, str):
        return r
    if isinstance(r, dict):
        return _str(r, "message") or json.dumps(r, sort_keys=True)
    return str(r)


def gate_path(path: Path) -> Path:
    """A gate.json, or a folder that holds one (``callgate gate --out DIR``)."""
    return path / "gate.json" if path.is_dir() else path


def parse_gate(doc: dict[str, Any], source: Path) -> GateView:
    decision = _str(doc, "decision").upper() or "UNKNOWN"
    base, cand = _dict(doc, "baseline"), _dict(doc, "candidate")
    runs = [r for side in (base, cand) for r in _list(side, "run_ids") if isinstance(r, str)]
    return GateView(
        source=source,
        decision=decision if decision in ("PROMOTE", "BLOCK") else "UNKNOWN",
        reasons=[_reason(r) for r in _list(doc, "reasons")],
        warnings=[str(w) for w in _list(doc, "warnings")],
        notes=[str(n) for n in _list(doc, "notes")],
        checks=[_check(c) for c in _list(doc, "checks") if isinstance(c, dict)],
        policy=_str(doc, "policy"),
        pairing=_str(doc, "pairing"),
        baseline_label=_str(base, "label", "baseline"),
        candidate_label=_str(cand, "label", "candidate"),
        baseline_variant=_str(base, "variant") or None,
        candidate_variant=_str(cand, "variant") or None,
        run_ids=list(dict.fromkeys(runs)),
        confidence=_float(doc, "confidence"),
    )


def load_gate(path: Path) -> GateView:
    target = gate_path(path)
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = "no gate.json here (run `callgate gate ... --out DIR`)"
        raise UsageError(msg, source=target) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read ({exc})", source=target) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON (line {exc.lineno}: {exc.msg})", source=target) from None
    if not isinstance(doc, dict):
        raise UsageError("not a gate report (expected a JSON object)", source=target)
    return parse_gate(doc, target)


def find_gates(roots: list[Path], depth: int = 2) -> list[Path]:
    """gate.json files in these folders and up to ``depth`` levels below (for the web UI)."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        patterns = ["gate.json"] + [
            "/".join(["*"] * i + ["gate.json"]) for i in range(1, depth + 1)
        ]
        for pattern in patterns:
            found += sorted(p for p in root.glob(pattern) if p.is_file())
    return list(dict.fromkeys(p.resolve() for p in found))


# -- numbers as people read them ------------------------------------------------------------------


def fmt_value(ch: Check, x: float | None) -> str:
    if x is None:
        return "-"
    if ch.share:
        return f"{100 * x:.1f}%"
    return f"{x:.3g}{' ' + ch.unit if ch.unit in ('s', 'ms') else ''}"


def fmt_delta(ch: Check, x: float | None) -> str:
    if x is None:
        return "-"
    if ch.share:
        return f"{100 * x:+.1f} pts"
    return f"{x:+.3g}{' ' + ch.unit if ch.unit in ('s', 'ms') else ''}"


def fmt_interval(ch: Check) -> str:
    if ch.ci_low is None or ch.ci_high is None:
        return "-"
    return f"{fmt_delta(ch, ch.ci_low)} to {fmt_delta(ch, ch.ci_high)}"
