#!/usr/bin/env bash
# Part 5b: the status page, GET / with 1,000 targets, a 90-day uptime table and an open
# incident in DynamoDB Local, 200 warm calls through the router, against the page before
# issue 18 in the same run (tests/examples/page_bench.rs; the anchor in
# tests/examples/support/page_before/). Goals: p99 ≤ 100 ms, ≤ 150 KB gzipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
n=1000; calls=200
[[ "${BENCH_SMOKE:-0}" == 1 ]] && n=50 && calls=20
# shellcheck disable=SC2086
cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example page_bench -- "$n" "$calls"
