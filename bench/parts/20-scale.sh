#!/usr/bin/env bash
# Part 2: the scale of one probe invocation: 10,000 and 1,000 targets behind a loopback server
# that delays each answer 200 ms, at concurrency 500 (tests/examples/probe_scale.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# 500 probes in flight need about 2 file descriptors each (the probe engine lowers its
# concurrency to (open-file limit - 64) / 2 otherwise).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 1100 )); then ulimit -n 4096 2>/dev/null || true; fi
echo "open-file limit: $(ulimit -n)"
# shellcheck disable=SC2086
cargo build $BENCH_CARGO_FLAGS -q -p lookout-tests --example probe_scale
profile=release; [[ -z "$BENCH_CARGO_FLAGS" ]] && profile=debug
bin="$CARGO_TARGET_DIR/$profile/examples/probe_scale"
# The delay server in its own process; its stdin is a pipe we hold, closed at exit.
exec 3> >("$bin" serve > .local/bench/scale-server.url)
trap 'exec 3>&-' EXIT
for _ in $(seq 50); do [[ -s .local/bench/scale-server.url ]] && break; sleep 0.1; done
url="$(head -1 .local/bench/scale-server.url)"
echo "delay server: $url"
if [[ "${BENCH_SMOKE:-0}" == 1 ]]; then sizes=(200); else sizes=(1000 10000); fi
for n in "${sizes[@]}"; do
  "$bin" run "$url" "$n" 500
done
