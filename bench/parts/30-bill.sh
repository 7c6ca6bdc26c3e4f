#!/usr/bin/env bash
# Part 3: the monthly bill for 100, 1,000, 10,000 and 20,000 targets from the capacity DynamoDB
# Local reports, next to Route 53 health checks and CloudWatch Synthetics; then 100,000 targets at
# one and at three locations, and three locations on one home table against a global table
# (tests/examples/bill/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# shellcheck disable=SC2086
cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example bill
