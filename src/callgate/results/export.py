"""Write a results table as CSV, Parquet or JSONL with stable column order and dtypes."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from callgate.errors import UsageError
from callgate.results.table import Dtype

FORMATS = ("csv", "parquet", "jsonl")


def write_table(
    rows: list[dict[str, Any]], columns: list[tuple[str, Dtype]], path: Path, fmt: str
) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (csv, parquet or jsonl)", field="--format")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: an interrupted export never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=path.suffix)
    except OSError as exc:  # a plain file where a folder should be, no permission, ...
        raise UsageError(f"cannot write here ({exc.strerror})", source=path) from None
    os.close(fd)
    try:
        {"csv": _csv, "parquet": _parquet, "jsonl": _jsonl}[fmt](rows, columns, Path(tmp))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # a results file is for sharing; mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cell(value: Any, dtype: Dtype) -> Any:
    if dtype == "float64":
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
    return value


def _csv(rows: list[dict[str, Any]], columns: list[tuple[str, Dtype]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c for c, _ in columns])
        for r in rows:
            writer.writerow(["" if (v := _cell(r.get(c), d)) is None else v for c, d in columns])


def _jsonl(rows: list[dict[str, Any]], columns: list[tuple[str, Dtype]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({c: _cell(r.get(c), d) for c, d in columns}) + "\n")


def _parquet(rows: list[dict[str, Any]], columns: list[tuple[str, Dtype]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(
            "parquet export needs the package 'pyarrow' (pip install pyarrow)"
        ) from None
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    schema = pa.schema([(c, types[d]) for c, d in columns])
    data = {c: [_cell(r.get(c), d) for r in rows] for c, d in columns}
    pq.write_table(pa.table(data, schema=schema), path)
