#!/usr/bin/env bash
# make dev: serves the functions with `cargo lambda watch` (reloading on code changes) and runs a
# local scheduler that invokes them on the SAM template's schedules until Ctrl-C:
#   probe  {"kinds":["server","proxy"]} (as the template's one rule)  every LOOKOUT_DEV_PROBE_SECONDS (60, as rate(1 minute))
#   dump                                          daily at 03:00 UTC (cron(00 03 * * ? *), the template's DumpTime)
#   dump {"action":"export_results"}              daily at 03:30 UTC (the template's ResultsExportTime)
#   digest                                        hourly, from five past the hour (cron(5 * * * ? *))
# and the notify function's local event source mapping: `notify --poll $LOOKOUT_NOTIFY_QUEUE_URL`
# (batches of 10 from the notify queue to the channels; failures come back, then go to the DLQ),
# and one probe worker, `probe --poll $LOOKOUT_PROBE_QUEUE_URL` (the shard tasks of a run that
# fans out: above LOOKOUT_SHARD_TARGETS targets of a kind).
# With LOOKOUT_DEV_LLM=1 the digest's narratives are on: tests/llm/openai_server.py (an
# OpenAI-compatible Chat Completions server checked by the openai SDK's types) on 127.0.0.1:18075
# requires the stand-in key create_resources.py keeps in moto SSM (/lookout/llm-api-key), and
# the functions get LOOKOUT_LLM_BASE_URL, LOOKOUT_LLM_MODEL and
# LOOKOUT_LLM_API_KEY={{ssm:/lookout/llm-api-key}}. Its requests: GET :18075/_control/requests.
# The API is at http://127.0.0.1:${LOOKOUT_DEV_PORT:-9000}/lambda-url/api/v1/status and the
# console at http://127.0.0.1:${LOOKOUT_DEV_PORT:-9000}/lambda-url/api/console: cargo lambda watch
# serves a function under /lambda-url/<name>/ and hands it the path below that, so the console
# is told the prefix its links and cookies need (LOOKOUT_BASE_PATH; empty on AWS, where the
# HttpApi serves the function at the root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
export PATH="$ROOT/.local/venv/bin:$PATH"
PORT="${LOOKOUT_DEV_PORT:-9000}"
EVERY="${LOOKOUT_DEV_PROBE_SECONDS:-60}"
BASE_PATH=/lambda-url/api

LLM_ARGS=()
LLM_PID=""
if [[ "${LOOKOUT_DEV_LLM:-0}" == 1 ]]; then
  LLM_KEY="$(
    set -a
    # shellcheck source=local.env
    source infra/local/local.env
    set +a
    python -c 'import boto3; print(boto3.client("ssm").get_parameter(Name="/lookout/llm-api-key", WithDecryption=True)["Parameter"]["Value"])'
  )"
  python tests/llm/openai_server.py --port 18075 --api-key "$LLM_KEY" >/dev/null &
  LLM_PID=$!
  LLM_ARGS=(--env-var "LOOKOUT_LLM_BASE_URL=http://127.0.0.1:18075/v1" --env-var "LOOKOUT_LLM_MODEL=lookout-local"
            --env-var "LOOKOUT_LLM_API_KEY={{ssm:/lookout/llm-api-key}}")
  echo "lookout: narratives on: tests/llm/openai_server.py on 127.0.0.1:18075"
fi

cargo lambda watch -A 127.0.0.1 -P "$PORT" --env-file infra/local/local.env \
  --env-var "LOOKOUT_BASE_PATH=$BASE_PATH" "${LLM_ARGS[@]}" &
WATCH_PID=$!
# The notify poller, with local.env's settings (what the event source mapping does on AWS).
(
  set -a
  # shellcheck source=local.env
  source infra/local/local.env
  set +a
  exec cargo run -q -p notify -- --poll "$LOOKOUT_NOTIFY_QUEUE_URL"
) &
POLL_PID=$!
# One probe worker on the work queue (what the probe's event source mapping does on AWS).
(
  set -a
  # shellcheck source=local.env
  source infra/local/local.env
  set +a
  exec cargo run -q -p probe -- --poll "$LOOKOUT_PROBE_QUEUE_URL"
) &
WORKER_PID=$!
trap 'kill "$WATCH_PID" "$POLL_PID" "$WORKER_PID" $LLM_PID 2>/dev/null; wait "$WATCH_PID" "$POLL_PID" "$WORKER_PID" $LLM_PID 2>/dev/null; echo; echo "lookout: dev stopped"' EXIT INT TERM

for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.5
done
echo "lookout: API at http://127.0.0.1:$PORT$BASE_PATH/v1/status (admin token in infra/local/local.env)"
echo "lookout: console at http://127.0.0.1:$PORT$BASE_PATH/console (sign in with the admin token: LOOKOUT_ADMIN_TOKEN in infra/local/local.env)"
echo "lookout: probing every ${EVERY}s, dumping daily at 03:00 UTC, notifying from the notify queue; Ctrl-C stops"

invoke() {
  cargo lambda invoke "$1" -A 127.0.0.1 -P "$PORT" --data-ascii "$2" -o json \
    | cut -c1-300 || echo "lookout: $1 failed (see the watch output above)"
}

last_dump_day=""
last_export_day=""
last_digest_hour=""
while true; do
  invoke probe '{"kinds":["server","proxy"]}'
  if [[ "$(date -u +%H%M)" == "0300" && "$(date -u +%F)" != "$last_dump_day" ]]; then
    invoke dump '{}'
    last_dump_day="$(date -u +%F)"
  fi
  if [[ "$(date -u +%H%M)" == "0330" && "$(date -u +%F)" != "$last_export_day" ]]; then
    invoke dump '{"action":"export_results"}'
    last_export_day="$(date -u +%F)"
  fi
  # The digest of the hour that ended, from five minutes past the hour (cron(5 * * * ? *)).
  if (( 10#$(date -u +%M) >= 5 )) && [[ "$(date -u +%F%H)" != "$last_digest_hour" ]]; then
    invoke digest '{}'
    last_digest_hour="$(date -u +%F%H)"
  fi
  sleep "$EVERY"
done
