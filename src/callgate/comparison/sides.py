"""One side of a comparison: the calls of one variant, from a stored run or a results file.

A side is written ``SPEC[:VARIANT]``: SPEC is a results file (csv, parquet or jsonl with the columns
of docs/results.md) or a run id (prefix) in the store. A run or file holding several variants needs
``:VARIANT``. Files only need ``call_id``, ``variant`` and metric columns, so calls from outside
callgate (production) can be compared too; ``scenario_id``, ``cohort_id`` and ``repeat`` (when
both sides have them) let calls be paired.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from callgate.errors import UsageError
from callgate.results.table import CALL_COLUMNS, TAG_PREFIX

REQUIRED_COLUMNS = ("call_id", "variant")
PAIR_KEYS = ("scenario_id", "cohort_id", "repeat")
FILE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_TEXT_COLUMNS = {*CALL_COLUMNS, "reasons"}


@dataclass
class Side:
    """The calls of one variant: text columns (identity and ``tag_*``) and float metric columns."""

    label: str
    origin: str  # "run" or "file"
    variant: str
    text: dict[str, np.ndarray]  # object arrays of str, None where missing
    metrics: dict[str, np.ndarray]  # float64, NaN = not scored
    run_ids: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.text["call_id"])

    @property
    def tags(self) -> list[str]:
        return [c[len(TAG_PREFIX) :] for c in self.text if c.startswith(TAG_PREFIX)]

    def has_keys(self) -> bool:
        return all(k in self.text for k in PAIR_KEYS)

    def subset(self, keep: np.ndarray, label: str | None = None) -> Side:
        return Side(
            label or self.label,
            self.origin,
            self.variant,
            {k: v[keep] for k, v in self.text.items()},
            {k: v[keep] for k, v in self.metrics.items()},
            self.run_ids,
        )


def split_spec(spec: str) -> tuple[str, str | None]:
    """``SPEC[:VARIANT]`` -> (SPEC, VARIANT); a file whose own name holds ':' is taken whole."""
    if Path(spec).is_file() or ":" not in spec:
        return spec, None
    head, _, variant = spec.rpartition(":")
    if not variant:
        raise UsageError(f"{spec!r}: empty variant after ':'", field="side")
    return head, variant


def load_side(spec: str, store_dir: Path | None) -> Side:
    """Load one side; raises :class:`UsageError` (one line) for anything wrong with it."""
    target, variant = split_spec(spec)
    path = Path(target)
    if path.is_file():
        return _from_file(path, variant)
    if path.suffix.lower() in FILE_SUFFIXES or "/" in target:
        raise UsageError("file not found", source=path)
    return _from_store(target, variant, store_dir)


def _from_store(prefix: str, variant: str | None, store_dir: Path | None) -> Side:
    from callgate.results.table import call_rows
    from callgate.store.reader import StoreReader

    if store_dir is None:
        raise UsageError(f"{prefix!r} is not a results file and no store was given")
    with StoreReader.open(store_dir) as store:
        run = store.run(prefix)
        if not store.scores(run.run_id):
            raise UsageError(f"run {run.run_id} is not scored yet (run `callgate evaluate`)")
        rows, columns = call_rows(store, run.run_id)
    metric_names = [c for c, d in columns if d == "float64"]
    side = _from_rows(rows, f"run {run.run_id}", metric_names)
    return _pick_variant(side, variant, run.run_id, "run", origin="run")


def _from_rows(rows: list[dict[str, Any]], where: str, metric_names: list[str]) -> Side:
    names = list(dict.fromkeys(k for r in rows for k in r))
    text = {c: _text([r.get(c) for r in rows]) for c in names if _is_text(c, metric_names)}
    metrics = {
        c: np.array([_num(r.get(c)) for r in rows], dtype=np.float64)
        for c in names
        if c in metric_names
    }
    return Side(where, "", "", text, metrics)


def _is_text(col: str, metric_names: list[str]) -> bool:
    return col in _TEXT_COLUMNS or col.startswith(TAG_PREFIX) or col not in metric_names


def _text(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    if all(type(v) is str and v for v in values):
        out[:] = values  # the common case (CSV, parquet strings): no per-value work
        return out
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            out[i] = None
        elif isinstance(v, float) and v.is_integer():
            out[i] = str(int(v))  # a repeat index read back as 1.0 is still repeat 1
        else:
            out[i] = str(v)
    return out


def _num(v: Any) -> float:
    if v is None or v == "":
        return math.nan
    return float(v)


def _from_file(path: Path, variant: str | None) -> Side:
    fmt = FILE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"unknown results format {path.suffix or '(none)'!r} (csv, parquet or jsonl)",
            source=path,
        )
    readers = {"csv": _read_csv, "parquet": _read_parquet, "jsonl": _read_jsonl}
    columns = readers[fmt](path)
    side = _from_columns(columns, path)
    return _pick_variant(side, variant, str(path), "file", origin="file")


def _numbers(values: list[Any] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    arr = np.array(values, dtype=object)
    # Empty cells (CSV) and nulls (JSON) are "not scored"; numpy parses the rest itself.
    arr[(arr == "") | (arr == None)] = math.nan  # noqa: E711 - elementwise comparison
    return arr.astype(np.float64)


def _from_columns(columns: dict[str, list[Any] | np.ndarray], path: Path) -> Side:
    from callgate.evaluators.base import metric_index
    from callgate.evaluators.suite import load_evaluators

    load_evaluators()
    known = metric_index()
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UsageError(f"missing column {missing[0]!r} (see docs/results.md)", source=path)
    text: dict[str, np.ndarray] = {}
    metrics: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name in _TEXT_COLUMNS or name.startswith(TAG_PREFIX):
            text[name] = _text(list(values))
            continue
        try:
            metrics[name] = _numbers(values)
        except (TypeError, ValueError):
            if name in known:
                raise UsageError(f"column {name!r}: not a number", source=path) from None
            text[name] = _text(
                list(values)
            )  # a text column of the user's own: carried, not compared
    if not metrics:
        raise UsageError("no metric columns (see docs/results.md)", source=path)
    for name, values in metrics.items():
        _in_range(name, values, known.get(name), path)
    for name in REQUIRED_COLUMNS:
        _no_gaps(text[name], name, path, "")
    for name in PAIR_KEYS:
        col = text.get(name)
        if col is not None and all(v is None for v in col):
            del text[name]  # an empty key column is as good as none: compare unpaired
        elif col is not None:
            _no_gaps(col, name, path, " (needed to pair calls)")
    return Side(str(path), "file", "", text, metrics)


def _in_range(name: str, values: np.ndarray, metric: Any, path: Path) -> None:
    """A value no call can have (inf, or a pass/fail cell of 7) is a broken file, not a score."""
    bad = np.isinf(values)
    what = "infinite"
    if metric is not None and metric.kind == "binary":
        bad |= ~np.isnan(values) & (values != 0.0) & (values != 1.0)
        what = "not 0 or 1 (a pass/fail metric)"
    # Rates are left alone: a word error rate above 1 (many insertions) is a real value.
    rows = np.flatnonzero(bad)
    if len(rows):
        raise UsageError(
            f"column {name!r}: data row {rows[0] + 1}: {values[rows[0]]:g} is {what}"
            f"{f' ({len(rows)} such rows)' if len(rows) > 1 else ''}",
            source=path,
        )


def _no_gaps(col: np.ndarray, name: str, path: Path, why: str) -> None:
    gaps = [i for i, v in enumerate(col) if v is None]
    if gaps:
        raise UsageError(
            f"column {name!r}: {len(gaps)} rows have no value (first: data row {gaps[0] + 1}){why}",
            source=path,
        )


def _pick_variant(side: Side, variant: str | None, where: str, what: str, *, origin: str) -> Side:
    values = side.text["variant"]
    present = sorted({str(v) for v in values if v is not None})
    if variant is None:
        if len(present) > 1:
            raise UsageError(
                f"mixed variants ({', '.join(present)}): name one as {where}:VARIANT",
                source=where if what == "file" else None,
            )
        if not present:
            raise UsageError(f"{what} {where} holds no calls")
        variant = present[0]
    elif variant not in present:
        raise UsageError(
            f"no calls of variant {variant!r} in {what} {where} (has: {', '.join(present)})"
        )
    picked = side.subset(values == variant, label=f"{where}:{variant}")
    picked.origin = origin
    picked.variant = variant
    picked.run_ids = sorted({str(r) for r in picked.text.get("run_id", []) if r is not None})
    return picked


def _read_csv(path: Path) -> dict[str, list[Any] | np.ndarray]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read CSV ({exc.__class__.__name__})", source=path) from None
    if header is None:
        raise UsageError("empty file", source=path)
    _unique_columns(header, path)
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        return _read_csv_slowly(path, header)
    # pyarrow parses in C++ (several times faster on 100k-row files); identity and tag columns
    # stay text, so a tag such as snr_db=10 is never turned into a number.
    text = {c: pa.string() for c in header if c in _TEXT_COLUMNS or c.startswith(TAG_PREFIX)}
    options = pcsv.ConvertOptions(column_types=text, strings_can_be_null=True)
    try:
        table = pcsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise UsageError(f"cannot read CSV: {reason}", source=path) from None
    return _arrow_columns(table)


def _unique_columns(names: list[str], path: Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"column {name!r} appears twice", source=path)
        seen.add(name)


def _read_csv_slowly(path: Path, header: list[str]) -> dict[str, list[Any] | np.ndarray]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))[1:]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read CSV ({exc.__class__.__name__})", source=path) from None
    bad = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
    if bad is not None:
        raise UsageError(
            f"line {bad + 2}: {len(rows[bad])} fields, the header has {len(header)}", source=path
        )
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return {name: list(values) for name, values in zip(header, cols, strict=True)}


def _read_jsonl(path: Path) -> dict[str, list[Any] | np.ndarray]:
    records: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    raise UsageError(f"line {lineno}: not JSON", source=path) from None
                if not isinstance(rec, dict):
                    raise UsageError(f"line {lineno}: not a JSON object", source=path)
                records.append(rec)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read file ({exc.__class__.__name__})", source=path) from None
    names = list(dict.fromkeys(k for r in records for k in r))
    return {name: [r.get(name) for r in records] for name in names}


def _read_parquet(path: Path) -> dict[str, list[Any] | np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading parquet needs the package 'pyarrow'", source=path) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow has its own error types for corrupt files
        raise UsageError(f"cannot read parquet ({exc.__class__.__name__})", source=path) from None
    _unique_columns(list(table.column_names), path)
    return _arrow_columns(table)


def _arrow_columns(table: Any) -> dict[str, list[Any] | np.ndarray]:
    import pyarrow as pa

    out: dict[str, list[Any] | np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        numeric = pa.types.is_floating(col.type) or pa.types.is_integer(col.type)
        if numeric and name not in _TEXT_COLUMNS:
            # Numeric columns go straight to numpy (nulls become NaN): no per-value parsing.
            out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64)
        elif pa.types.is_null(col.type):
            out[name] = [None] * len(col)  # a column with no value at all
        else:
            out[name] = col.to_pylist()
    return out
