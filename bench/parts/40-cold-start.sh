#!/usr/bin/env bash
# Cold start and size: every function built with the release profile, and a hello-world
# lambda_runtime function (bench/hello) built with the same profile as the anchor. Init time is
# exec → first GET .../invocation/next against a loopback stub of the Lambda runtime API; the zip
# is the binary alone as `bootstrap`. See bench/coldstart.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck disable=SC2086 # BENCH_CARGO_FLAGS is a list of flags
cargo build $BENCH_CARGO_FLAGS --bins -p probe -p api -p dump -p digest@0.1.0 -p hello-lambda
if [[ "$BENCH_CARGO_FLAGS" == *--release* ]]; then dir=release; else dir=debug; fi
bin="$CARGO_TARGET_DIR/$dir"
note="x86_64 $dir build (Lambda: arm64 via cargo-lambda)"
runs=20
if [[ "${BENCH_SMOKE:-0}" == 1 ]]; then
  runs=3
  note="smoke, figures meaningless: $note"
  smoke=--smoke
fi
.local/venv/bin/python bench/coldstart.py --runs "$runs" --note "$note" ${smoke:-} \
  --anchor "$bin/hello" "$bin/probe" "$bin/api" "$bin/dump" "$bin/digest"
