#!/usr/bin/env bash
# The tuning loop end to end (docs/tuning.md): baseline on the dev split, dataset check, tuning
# jobs, each candidate gated against the baseline on the holdout split, a report to inspect, a
# second (combined) candidate, training data, then the same loop on the pharmacy example domain.
#
#   examples/tuning/walkthrough.sh [WORK]     (default WORK: ./walkthrough; about 15 minutes on
#                                              2 cores the first time, seconds when resumed)
#
# Every step resumes: run it again and stored calls are reused. Gate exit codes (0 PROMOTE,
# 1 BLOCK, 3 UNDECIDED) are reported, not treated as failures.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/setup.sh"
if ! python -c "import callgate_pharmacy" 2>/dev/null; then
  python -m pip install --quiet --disable-pip-version-check -e "$ROOT/examples/pharmacy"
fi
WORK="$(mkdir -p "${1:-walkthrough}" && cd "${1:-walkthrough}" && pwd)"
STORE="$WORK/store"
POLICY="$ROOT/examples/tuning/holdout-policy.yaml"
export CALLGATE_STORE="$STORE"

step() { printf '\n== %s\n' "$*"; }
run_id() { sed -n 's/^run \([0-9a-f]\{12\}\): .* calls stored in .*/\1/p' "$1" | tail -1; }
gate() {  # gate RUN CANDIDATE OUT: print the decision line, keep going whatever it is
  local code=0
  callgate gate "$1:baseline" "$1:$2" --policy "$POLICY" --out "$3" > "$3.txt" 2>&1 || code=$?
  [ "$code" -le 3 ] || { cat "$3.txt" >&2; exit "$code"; }
  printf '%-28s exit %s: %s\n' "$2" "$code" "$(grep -m1 -E '^(PROMOTE|BLOCK|UNDECIDED)' "$3.txt")"
}

loop() {  # loop SUITE GRID REPEATS JOB...: the whole loop on one suite
  local suite="$1" grid="$2" repeats="$3" out="$WORK/$1"
  shift 3
  mkdir -p "$out"
  step "$suite 1. the baseline on the dev split (grid $grid)"
  callgate run --suite "$suite" -v baseline --grid "$grid" --split dev | tee "$out/dev.txt"
  local dev
  dev="$(run_id "$out/dev.txt")"

  step "$suite 2. is the dataset fit to tune on? (warnings only)"
  callgate check "$suite" --grid "$grid" --by accent,noise,channel,split || true

  step "$suite 3. tune on the dev calls of run $dev: one change per candidate, and one combined"
  local jobs=() combine=()
  for j in "$@"; do jobs+=(-j "$j"); done
  [ "$#" -ge 2 ] && combine=(--combine)
  callgate tune "$dev" -v baseline "${jobs[@]}" "${combine[@]}" --out "$out/tuned"

  step "$suite 4. baseline and every candidate on the holdout split ($repeats repeats)"
  local variants=(-v baseline)
  for c in "$out"/tuned/*/candidate.yaml; do variants+=(-v "$c"); done
  callgate run --suite "$suite" "${variants[@]}" --grid "$grid" --split holdout \
    --repeats "$repeats" | tee "$out/holdout.txt"
  local held
  held="$(run_id "$out/holdout.txt")"

  step "$suite 5. gate each candidate against the baseline on holdout calls (policy $POLICY)"
  for c in "$out"/tuned/*/candidate.yaml; do
    local name
    name="$(sed -n 's/^name: //p' "$c")"
    gate "$held" "$name" "$out/gate-$name"
  done

  step "$suite 6. judged on its own tuning data, the gate warns"
  callgate compare "$dev:baseline" "$dev:baseline" 2>&1 | grep -m1 "warning" || true

  step "$suite 7. inspect: the report of the holdout run, with the first candidate's gate"
  local first
  first="$(ls -d "$out"/gate-*/ | head -1)"
  callgate report "$held" --gate "$first" -o "$out/report.html"

  step "$suite 8. training data from the dev run (repair turns and corrected failures included)"
  callgate export-training "$dev" --variant baseline --out "$out/training"
}

loop banking tuning 2 asr-hints intent-retrain end-of-turn routing
loop pharmacy default 2 asr-hints end-of-turn routing
step "done: everything is under $WORK (callgate serve --store $STORE to browse the calls)"
