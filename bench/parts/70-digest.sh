#!/usr/bin/env bash
# The hourly digest over 1,000 targets with an hour of one-minute history and 7 days of rollups
# (tests/examples/digest_bench.rs, from its issue).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
args=(1000 168); [[ "${BENCH_SMOKE:-0}" == 1 ]] && args=(20 30)
# shellcheck disable=SC2086
cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example digest_bench -- "${args[@]}"
