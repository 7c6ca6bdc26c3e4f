#!/usr/bin/env bash
# Part 2b: a probe run past one invocation (issue 17): 100,000 server targets in groups of 10
# behind a loopback server that delays each answer 200 ms, one table made for the bench on
# DynamoDB Local, the run fanned out into 10 shard tasks (per-shard budget 10,000) on a bench
# queue on moto SQS, taken by 5 worker processes of the probe function (`probe --poll <queue>
# --until-idle`) at concurrency 100 each: C = 500 (tests/examples/fanout_bench.rs).
#
# Why C = 500 on 2 cores: at C = 1,000 (5,000 checks/s) the machine was 94 % busy and the run
# took 1.58 × its ideal: the workers used about 0.4 of a core (133 µs per check), DynamoDB Local
# (the shards' writes and reads), the delay server and moto the rest, so the CPU, not the
# fan-out, set the pace. At 2,500 checks/s they fit. The part prints the machine's CPU busy
# share over the run so a reader can see whether the CPU was the limit.
# 5 workers rather than 4: 10 shards split evenly over 5 workers (two shards each), so no worker
# idles while another runs a third shard.
#
# BENCH_SMOKE=1: 300 targets, 100 per shard (3 shards), 2 workers × 50, debug builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/local/stack.sh up > /dev/null
# 1,000 probes in flight in one process (the in-process runs) need about 2 file descriptors
# each (the probe engine lowers its concurrency to (open-file limit - 64) / 2 otherwise).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 2100 )); then ulimit -n 4096 2>/dev/null || true; fi
echo "open-file limit: $(ulimit -n)"
# One cargo invocation for both binaries: the harness and the probe function it starts.
# shellcheck disable=SC2086
cargo build $BENCH_CARGO_FLAGS -q -p lookout-tests --example fanout_bench -p probe --bin probe
profile=release; [[ -z "$BENCH_CARGO_FLAGS" ]] && profile=debug
# Copies of the two binaries: the target directory is shared, and another build replacing them
# while the bench runs must not take a worker's binary away.
mkdir -p .local/bench/bin
cp "$CARGO_TARGET_DIR/$profile/examples/fanout_bench" "$CARGO_TARGET_DIR/$profile/probe" .local/bench/bin/
bin=.local/bench/bin/fanout_bench
probe_bin="$PWD/.local/bench/bin/probe"
: > .local/bench/fanout-server.url
# The delay server in its own process; its stdin is a pipe we hold, closed at exit.
exec 3> >("$bin" serve > .local/bench/fanout-server.url)
trap 'exec 3>&-' EXIT
for _ in $(seq 50); do [[ -s .local/bench/fanout-server.url ]] && break; sleep 0.1; done
url="$(head -1 .local/bench/fanout-server.url)"
[[ -n "$url" ]] || { echo "the delay server did not start" >&2; exit 1; }
echo "delay server: $url"
if [[ "${BENCH_SMOKE:-0}" == 1 ]]; then
  timeout 300 "$bin" run "$url" 300 100 2 50 "$probe_bin"
else
  timeout 3600 "$bin" run "$url" 100000 10000 5 100 "$probe_bin"
fi
