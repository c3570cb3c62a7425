#!/usr/bin/env bash
# Set up (first time only), then lint, type-check and run the whole test suite, slow tests included.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
ruff check src tests scripts benchmarks
ruff format --check src tests scripts benchmarks
mypy
exec python -m pytest -q "$@"
