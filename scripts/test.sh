#!/usr/bin/env bash
# Set up (first time only), then lint, type-check and run the whole test suite, slow tests included.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The browser tests (tests/browser) drive Debian's Chromium; install it when missing and root.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
CALLGATE_EXTRAS="speech,dev,agents,kokoro,ray" source "$ROOT/scripts/setup.sh"
cd "$ROOT"
ruff check src tests scripts benchmarks plugins examples
ruff format --check src tests scripts benchmarks plugins examples
mypy
exec python -m pytest -q "$@"
