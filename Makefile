# Lookout: make demo (the whole system on this machine), make test (every test), make dev.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.local/venv/bin
export PATH := $(VENV):$(PATH)
LOCAL_ENV = set -a && source infra/local/local.env && set +a

.PHONY: bench bench-smoke bench-api bench-page bench-digest bench-dump demo test dev stack-up stack-down stack-status build unit-test integration-test lint fmt

## demo: stack up, build, probe real loopback targets, alerts through SNS→SQS, dump to S3
demo: stack-up build
	$(VENV)/python infra/local/demo.py

## test: every test (unit, adapters against DynamoDB Local and moto, the template lint, the demo)
test: stack-up
	infra/local/stack.sh install-test-tools
	$(LOCAL_ENV) && cargo test --workspace
	$(VENV)/cfn-lint infra/template.yaml
	$(MAKE) --no-print-directory bench-smoke
	LOOKOUT_DEMO_FULL=1 $(MAKE) --no-print-directory demo

## bench: every benchmark side by side with its anchor in one run; prints one table and writes BENCHMARKS.md
bench: stack-up
	bench/run.sh

## bench-smoke: every benchmark harness at a tiny size with debug builds (run by make test; figures mean nothing)
bench-smoke: stack-up
	BENCH_SMOKE=1 bench/run.sh

## dev: stack, `cargo lambda watch` serving the API on http://127.0.0.1:9000, local scheduler
dev: stack-up build
	infra/local/dev.sh

## bench-digest: the hourly digest over 1,000 targets with one hour of one-minute history and 7 days of rollups (wall time, peak RSS)
bench-digest: stack-up
	$(LOCAL_ENV) && cargo run --release -q -p lookout-tests --example digest_bench

## bench-api: p50/p99 of GET /v1/summary and /v1/status with 10,000 targets (prints a table)
bench-api: stack-up
	$(LOCAL_ENV) && cargo run --release -q -p lookout-tests --example api_bench

## bench-page: GET / (the status page) with 1,000 targets, 200 warm calls, against the page before issue 18 (prints a table)
bench-page: stack-up
	$(LOCAL_ENV) && cargo run --release -q -p lookout-tests --example page_bench

## bench-dump: dump and restore of 100,000 items, ours against dynamodump on the same table (prints a table)
# dynamodump pins boto3 1.40.43, which moto's boto3 conflicts with: it gets a venv of its own.
bench-dump: stack-up
	test -x .local/dynamodump-venv/bin/dynamodump || (python3 -m venv .local/dynamodump-venv && .local/dynamodump-venv/bin/pip install -q dynamodump==1.11.1)
	$(LOCAL_ENV) && cargo run --release -q -p lookout-tests --example dump_bench

stack-up:
	infra/local/stack.sh up

stack-down:
	infra/local/stack.sh down

stack-status:
	infra/local/stack.sh status

build:
	cargo build --workspace --bins

## lint: formatting, clippy with warnings as errors, unused dependencies (cargo machete), the template (cfn-lint)
lint:
	infra/local/stack.sh install-lint-tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(ROOT)/.local/cargo/bin/cargo-machete
	$(VENV)/cfn-lint infra/template.yaml
