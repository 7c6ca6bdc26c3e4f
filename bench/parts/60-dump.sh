#!/usr/bin/env bash
# Part 5b: dump and restore against dynamodump on the same DynamoDB Local table
# (tests/examples/dump_bench.rs, from its issue; about 14 minutes at 100,000 items).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
test -x .local/dynamodump-venv/bin/dynamodump || {
  python3 -m venv .local/dynamodump-venv
  .local/dynamodump-venv/bin/pip install -q dynamodump==1.11.1
}
n=100000; [[ "${BENCH_SMOKE:-0}" == 1 ]] && n=300
# shellcheck disable=SC2086
cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example dump_bench -- "$n"
