#!/usr/bin/env bash
# Set up (first time only) and run the demo: the banking suite (plugins/banking), baseline vs
# candidate.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec callgate demo --suite banking "$@"
