#!/usr/bin/env bash
# Part 5a: API latency, GET /v1/summary and /v1/status with 10,000 targets in DynamoDB Local
# (tests/examples/api_bench.rs, from its issue).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
n=10000; [[ "${BENCH_SMOKE:-0}" == 1 ]] && n=50
# shellcheck disable=SC2086
cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example api_bench -- "$n"
