#!/usr/bin/env bash
# make bench: every benchmark side by side with its anchor, in one run on this machine, then one
# table (bench/report.py) printed and written to BENCHMARKS.md with the date and the machine.
#
# Each part appends JSON rows to $BENCH_OUT (see bench/report.py for the fields). A part that
# fails is reported as failed in the table; the others still run.
#
# BENCH_SMOKE=1 (make bench-smoke, run by make test) runs every harness at a tiny size with
# debug builds: it checks that the harnesses work, its figures mean nothing, and it writes
# .local/bench/smoke.md instead of BENCHMARKS.md.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lookout/target}"
mkdir -p .local/bench
export BENCH_OUT="${BENCH_OUT:-$ROOT/.local/bench/results.jsonl}"
: > "$BENCH_OUT"
SMOKE="${BENCH_SMOKE:-0}"
# Parts build with `cargo run $BENCH_CARGO_FLAGS ...`.
if [[ "$SMOKE" == 1 ]]; then export BENCH_CARGO_FLAGS=""; else export BENCH_CARGO_FLAGS="--release"; fi
export BENCH_SMOKE="$SMOKE"
set -a; source infra/local/local.env; set +a

failed=()
part() { # part NAME COMMAND...
  local name="$1"; shift
  echo "== bench: $name"
  if ! "$@"; then
    failed+=("$name")
    printf '{"part":"%s","name":"%s failed (see the output above)","lookout":null}\n' "$name" "$name" >> "$BENCH_OUT"
  fi
}
# bench/parts/NN-name.sh, in order; BENCH_ONLY=name runs one.
for script in bench/parts/*.sh; do
  [[ -e "$script" ]] || continue
  name="$(basename "$script" .sh)"
  [[ -n "${BENCH_ONLY:-}" && "$name" != *"$BENCH_ONLY"* ]] && continue
  part "$name" bash "$script"
done

if [[ "$SMOKE" == 1 ]]; then
  .local/venv/bin/python bench/report.py "$BENCH_OUT" --write .local/bench/smoke.md
else
  .local/venv/bin/python bench/report.py "$BENCH_OUT" --write BENCHMARKS.md
fi
status=$?
if ((${#failed[@]})); then
  echo "bench: failed parts: ${failed[*]}" >&2
  exit 1
fi
exit "$status"
