"""Production signals: how the imported calls of each release fare, per cohort, with intervals.

For every release (the calls' variant) and every cohort slice (``all``, each value of each
``by`` tag, each combination of a ``tag+tag`` grouping), optionally within a window of start times
and per time bucket, eight signals, each with its interval and the number of calls behind it:

* ``eval_fail_rate``: share of scored calls that fail callgate's failure rule (the task was not
  completed, or the tools were not used as expected); Wilson interval over calls.
* ``ttfa_p50_s``, ``ttfa_p95_s``, ``ttfa_p99_s``: nearest-rank percentiles of time to first audio
  over every answered turn; order-statistic interval with the design effect of calls
  (:func:`~callgate.production.signals.stats.quantile_interval`).
* ``transfer_rate``: share of calls handed to a human; Wilson over calls.
* ``correction_rate``: share of calls where the caller had to repeat or correct itself at least
  once; Wilson over calls.
* ``low_confidence_rate``: share of recognised caller turns (an agent turn's ASR result) whose
  confidence is below the threshold, turns without a confidence left out; Wilson interval on the
  effective number of turns (design effect of the calls).
* ``cost_per_completed``: total cost over the calls completed (``task_completion`` = 1), among
  calls with both a cost and a completion score; cluster-bootstrap percentile interval.

A signal computed on fewer calls than ``min_calls`` is kept, with its n, and marked ``few``.
Computation only: :mod:`callgate.cli.signals_cmd` prints, :mod:`callgate.report.signals` draws.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from callgate.errors import UsageError
from callgate.production.signals.model import (
    ALL,
    ReleaseSpan,
    SignalGroup,
    SignalsReport,
    SignalsSettings,
    SignalValue,
    Status,
)
from callgate.production.signals.stats import (
    ClusterBootstrap,
    clustered_share,
    interval_of,
    min_turns,
    nearest_rank,
    quantile_interval,
    sorted_turns,
    wilson,
    z_for,
)
from callgate.store.reader import RunRow, StoreReader
from callgate.store.records import CallRow, CallScores
from callgate.traces.model import CallTrace

Key = tuple[str | None, str | None]  # (release, time bucket) of a group

# -- reading the calls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFacts:
    """What the signals read from one imported call and its scores."""

    release: str
    started: datetime
    cohort: dict[str, str]
    run_id: str
    failed: bool | None
    ttfa: list[float]
    transferred: bool
    corrected: bool
    confidences: list[float]  # of recognised turns that have one
    cost: float | None
    completed: bool | None
    currency: str | None = None  # of the call's costs (ingest refuses a call mixing currencies)

    @classmethod
    def of(cls, trace: CallTrace, scores: CallScores | None) -> CallFacts | None:
        """None for a call without an import record: it has no start time to place it by."""
        if trace.imported is None:
            return None
        row = CallRow.of(trace, scores)
        metrics = row.metrics
        task = metrics.get("task_completion")
        started = datetime.fromisoformat(trace.imported.started_at)
        return cls(
            release=trace.variant,
            started=started.replace(tzinfo=UTC) if started.tzinfo is None else started,
            cohort=dict(trace.cohort),
            run_id=trace.run_id,
            failed=row.failed,
            ttfa=row.ttfa,
            transferred=trace.transferred,
            corrected=any(u.why in ("repeat", "correction") for u in trace.caller_turns),
            confidences=[
                t.asr.confidence
                for t in trace.agent_turns
                if t.asr is not None and t.asr.confidence is not None
            ],
            cost=metrics.get("cost_per_call"),
            currency=trace.cost[0].currency if trace.cost else None,
            completed=None if task is None else task >= 1.0,
        )


def imported_runs(store: StoreReader, runs: Iterable[str] = ()) -> list[RunRow]:
    """The named import runs, or every one of the store (:meth:`StoreReader.imported_runs`)."""
    return store.imported_runs(list(runs))


def load_calls(store: StoreReader, run_ids: list[str]) -> list[CallFacts]:
    out: list[CallFacts] = []
    for run_id in run_ids:
        scores = store.scores(run_id)
        for trace in store.calls(run_id):
            if (facts := CallFacts.of(trace, scores.get(trace.call_id))) is not None:
                out.append(facts)
    return out


def parse_time(text: str, field: str) -> datetime:
    """A --since/--until value: a date (midnight) or a date and time, UTC unless it says."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{text!r} is not a date or time (write 2026-11-01 or 2026-11-01T08:00Z)", field=field
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def compute_signals(store: StoreReader, settings: SignalsSettings) -> SignalsReport:
    """Read the imported runs ``settings.runs`` (default: all) and compute their signals."""
    rows = imported_runs(store, settings.runs)
    settings = settings.model_copy(update={"runs": [r.run_id for r in rows]})
    return signals_of(load_calls(store, settings.runs), settings)


# -- grouping -------------------------------------------------------------------------------------


def _groupings(calls: list[CallFacts], by: list[str] | None) -> list[list[str]]:
    present = sorted({t for c in calls for t in c.cohort})
    if by is None or not calls:  # an empty window is its own error, not an unknown tag
        return [[t] for t in present]
    out = []
    for item in by:
        tags = [t.strip() for t in item.split("+") if t.strip()]
        unknown = [t for t in tags if t not in present]
        if unknown or not tags:
            raise UsageError(
                f"unknown cohort tag {(unknown or [item])[0]!r} (tags in these calls: "
                f"{', '.join(present) or 'none'})",
                field="--by",
            )
        out.append(tags)
    return out


def _cohorts(calls: list[CallFacts], groupings: list[list[str]]) -> dict[str, np.ndarray]:
    """Cohort label -> positions of its calls, in display order (``all`` first)."""
    out: dict[str, np.ndarray] = {ALL: np.arange(len(calls))}
    for tags in groupings:
        keys = [tuple(c.cohort.get(t) for t in tags) for c in calls]
        for values in sorted({k for k in keys if None not in k}, key=lambda k: tuple(map(str, k))):
            conds = sorted(zip(tags, values, strict=True))
            label = "&".join(f"{t}={v}" for t, v in conds)
            if label not in out:
                out[label] = np.array([i for i, k in enumerate(keys) if k == values])
    return out


def _bucket(started: datetime, size: Literal["day", "week"]) -> str:
    day = started.date()
    return (day if size == "day" else day - timedelta(days=day.weekday())).isoformat()


class _Columns:
    """Every call's facts as arrays, built once and sliced per group."""

    def __init__(self, calls: list[CallFacts], low_confidence: float) -> None:
        self.n = len(calls)
        nan = float("nan")
        self.failed = np.array([nan if c.failed is None else float(c.failed) for c in calls])
        self.transferred = np.array([c.transferred for c in calls], dtype=bool)
        self.corrected = np.array([c.corrected for c in calls], dtype=bool)
        cost = np.array([nan if c.cost is None else c.cost for c in calls])
        done = np.array([nan if c.completed is None else float(c.completed) for c in calls])
        self.costed = np.isfinite(cost) & np.isfinite(done)
        self.cost = np.where(self.costed, cost, 0.0)
        self.completed = np.where(self.costed, done, 0.0)
        self.currency = np.array([c.currency or "" for c in calls], dtype=object)
        self.ttfa = np.array([v for c in calls for v in c.ttfa], dtype=np.float64)
        self.ttfa_call = np.repeat(np.arange(self.n), [len(c.ttfa) for c in calls])
        self.conf_units = np.array([len(c.confidences) for c in calls], dtype=np.float64)
        self.conf_hits = np.array(
            [sum(v < low_confidence for v in c.confidences) for c in calls], dtype=np.float64
        )


def _value(
    value: float | None,
    interval: tuple[float | None, float | None],
    n: int,
    min_calls: int,
    turns: int | None = None,
    needs_turns: int = 0,
) -> SignalValue:
    low, high = interval
    short = turns is not None and turns < needs_turns
    status: Status = "not scored" if value is None else "few" if n < min_calls or short else "ok"
    note = ""
    if status == "few":
        note = (
            f"fewer than {min_calls} calls"
            if n < min_calls
            else f"fewer than {needs_turns} turns (a percentile needs 5 turns above it)"
        )
    return SignalValue(value=value, low=low, high=high, n=n, turns=turns, status=status, note=note)


def _not_scored(note: str, n: int = 0, turns: int | None = None) -> SignalValue:
    return SignalValue(value=None, n=n, turns=turns, status="not scored", note=note)


def _share(hits: np.ndarray, z: float, min_calls: int) -> SignalValue:
    n = int(hits.size)
    if n == 0:
        return _not_scored("no call")
    p = float(hits.mean())
    return _value(p, wilson(p, n, z), n, min_calls)


def _group_signals(
    cols: _Columns, idx: np.ndarray, settings: SignalsSettings, label: str
) -> dict[str, SignalValue]:
    z, min_calls = z_for(settings.confidence), settings.min_calls
    n = int(idx.size)
    out: dict[str, SignalValue] = {}
    failed = cols.failed[idx]
    scored = failed[np.isfinite(failed)]
    out["eval_fail_rate"] = (
        _share(scored, z, min_calls)
        if scored.size
        else _not_scored("no call scored by the failure rule")
    )

    # Per-turn TTFA and the cost ratio share one cluster bootstrap of the group's calls.
    local = np.full(cols.n, -1)
    local[idx] = np.arange(n)
    where = local[cols.ttfa_call]
    keep = where >= 0
    turns = sorted_turns(cols.ttfa[keep], where[keep])
    ttfa_calls = int(np.unique(turns.calls).size)
    qs = (0.5, 0.95, 0.99)
    cost, done = cols.cost[idx], cols.completed[idx]
    costed = int(cols.costed[idx].sum())
    rng = np.random.default_rng([settings.seed, zlib.crc32(label.encode("utf-8"))])
    boot = ClusterBootstrap(n, settings.resamples, rng)
    _, r_reps = boot.run(turns, (), [(cost, done)] if costed and done.sum() > 0 else [])
    for q in qs:
        name = f"ttfa_p{round(q * 100)}_s"
        if turns.values.size == 0:
            out[name] = _not_scored("no answered turn")
            continue
        out[name] = _value(
            nearest_rank(turns, n, q),
            quantile_interval(turns, n, q, z),
            ttfa_calls,
            min_calls,
            int(turns.values.size),
            min_turns(q),
        )

    out["transfer_rate"] = _share(cols.transferred[idx].astype(np.float64), z, min_calls)
    out["correction_rate"] = _share(cols.corrected[idx].astype(np.float64), z, min_calls)

    units, hits = cols.conf_units[idx], cols.conf_hits[idx]
    has = units > 0
    if has.any():
        share, interval, _ = clustered_share(hits[has], units[has], z)
        out["low_confidence_rate"] = _value(
            share, interval, int(has.sum()), min_calls, int(units.sum())
        )
    else:
        out["low_confidence_rate"] = _not_scored("no recognised turn with an ASR confidence")

    currencies = sorted(set(cols.currency[idx][cols.costed[idx]]) - {""})
    if not costed:
        out["cost_per_completed"] = _not_scored("no call with both a cost and a completion score")
    elif len(currencies) > 1:
        # Amounts in different currencies do not add up: slice by a currency tag instead.
        out["cost_per_completed"] = _not_scored(
            f"costs in several currencies ({', '.join(currencies)})", n=costed
        )
    elif done.sum() == 0:
        out["cost_per_completed"] = _not_scored(
            f"no completed call (total cost {cost.sum():.4f})", n=costed
        )
    else:
        ratio = float(cost.sum() / done.sum())
        out["cost_per_completed"] = _value(
            ratio, interval_of(r_reps[0], settings.confidence), costed, min_calls
        )
    return out


def _groups(
    calls: list[CallFacts],
    cols: _Columns,
    cohorts: dict[str, np.ndarray],
    keys: list[Key],
    key_of: list[Key],
    settings: SignalsSettings,
) -> list[SignalGroup]:
    """One group per (release or bucket) key and cohort with at least one call."""
    out = []
    members = {k: np.array([i for i, ki in enumerate(key_of) if ki == k]) for k in keys}
    for key, cohort in itertools.product(keys, cohorts):
        idx = np.intersect1d(members[key], cohorts[cohort])
        if idx.size == 0:
            continue
        release, bucket = key
        started = [calls[i].started for i in idx]
        label = f"{release or ''}|{bucket or ''}|{cohort}"
        out.append(
            SignalGroup(
                release=release,
                bucket=bucket,
                cohort=cohort,
                calls=int(idx.size),
                first_started_at=min(started),
                last_started_at=max(started),
                signals=_group_signals(cols, idx, settings, label),
            )
        )
    return out


def signals_of(calls: list[CallFacts], settings: SignalsSettings) -> SignalsReport:
    """The signals of these calls (those inside the settings' window), per release and cohort."""
    calls = [
        c
        for c in calls
        if (settings.since is None or c.started >= settings.since)
        and (settings.until is None or c.started < settings.until)
    ]
    groupings = _groupings(calls, settings.by)
    settings = settings.model_copy(update={"by": ["+".join(g) for g in groupings]})
    first: dict[str, datetime] = {}
    for c in calls:
        first[c.release] = min(first.get(c.release, c.started), c.started)
    releases = sorted(first, key=lambda r: (first[r], r))
    spans = []
    for r in releases:
        mine = [c for c in calls if c.release == r]
        spans.append(
            ReleaseSpan(
                release=r,
                calls=len(mine),
                first_started_at=first[r],
                last_started_at=max(c.started for c in mine),
                runs=sorted({c.run_id for c in mine}),
            )
        )
    cols = _Columns(calls, settings.low_confidence)
    cohorts = _cohorts(calls, groupings)
    by_release: list[Key] = [(c.release, None) for c in calls]
    groups = _groups(calls, cols, cohorts, [(r, None) for r in releases], by_release, settings)
    buckets: list[SignalGroup] = []
    if settings.bucket is not None:
        size = settings.bucket
        by_bucket: list[Key] = [(None, _bucket(c.started, size)) for c in calls]
        keys = sorted(set(by_bucket), key=lambda k: k[1] or "")
        buckets = _groups(calls, cols, cohorts, keys, by_bucket, settings)
    return SignalsReport(
        settings=settings,
        calls=len(calls),
        releases=spans,
        cohorts=list(cohorts),
        groups=groups,
        buckets=buckets,
    )
