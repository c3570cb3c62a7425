"""benchmarks/ingest.py runs (on 300 calls) and prints every figure it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "ingest.py"


def test_the_ingest_benchmark_prints_its_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--calls", "300", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for figure in ("log: 300 calls", "ingest (one transaction", "re-ingest", "per call (", "peak"):
        assert figure in done.stdout, done.stdout
