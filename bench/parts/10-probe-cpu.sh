#!/usr/bin/env bash
# Part probe-cpu: probe cost of Lookout's prober against Prometheus's blackbox_exporter.
#
# nginx (Debian's nginx-light, one worker process) serves /health ("ok", 200, no access log) on a
# free loopback port; blackbox_exporter (Debian's prometheus-blackbox-exporter, module http_2xx:
# HTTP/1.1, 5 s timeout) listens on another. tests/examples/probe_cpu.rs probes nginx with
# Lookout's prober in its own process, and drives the exporter over HTTP, at concurrency 32 and
# 256 for the same time: probes per second, CPU µs per probe (the prober process's user + system
# time), peak RSS (VmHWM). Both open a new connection to nginx per probe: nginx's stub_status
# counts accepted connections and requests over each window, shown in the rows' note.
#
# Installs the two packages with apt-get when missing (as root, or with sudo). Both servers are
# plain processes of this script, stopped by PID on exit (a trap, also on failure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"

need=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
command -v prometheus-blackbox-exporter >/dev/null || need+=(prometheus-blackbox-exporter)
if ((${#need[@]})); then
  SUDO=()
  [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
  echo "probe-cpu: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get install -y -qq "${need[@]}" \
    || { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq "${need[@]}"; }
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Build first, so that the servers only run while measuring.
# shellcheck disable=SC2086
cargo build $BENCH_CARGO_FLAGS -q -p lookout-tests --example probe_cpu

DIR="$ROOT/.local/bench/nginx"
mkdir -p "$DIR/tmp"
NGINX_PORT="$(free_port)"
cat > "$DIR/nginx.conf" <<EOF
# Written by bench/parts/10-probe-cpu.sh.
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $DIR/tmp/body;
  proxy_temp_path $DIR/tmp/proxy;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location = /health { default_type text/plain; return 200 "ok"; }
    location = /nginx_status { stub_status; }
  }
}
EOF

BB_PORT="$(free_port)"
BB_CONF="$ROOT/.local/bench/blackbox.yml"
cat > "$BB_CONF" <<EOF
# Written by bench/parts/10-probe-cpu.sh.
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      valid_http_versions: ["HTTP/1.1"]
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
EOF

NGINX_PID=""
BB_PID=""
cleanup() {
  for pid in $BB_PID $NGINX_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $BB_PID $NGINX_PID; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

"$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" &
NGINX_PID=$!
prometheus-blackbox-exporter --config.file="$BB_CONF" \
  --web.listen-address="127.0.0.1:$BB_PORT" > "$ROOT/.local/bench/blackbox.log" 2>&1 &
BB_PID=$!

TARGET="http://127.0.0.1:$NGINX_PORT/health"
for _ in $(seq 100); do
  if curl -sf "$TARGET" >/dev/null && curl -sf "http://127.0.0.1:$BB_PORT/metrics" >/dev/null; then
    break
  fi
  sleep 0.1
done
curl -sf "$TARGET" >/dev/null || { echo "probe-cpu: nginx did not start" >&2; cat "$DIR/error.log" >&2; exit 1; }
if ! curl -sf "http://127.0.0.1:$BB_PORT/probe?target=$TARGET&module=http_2xx" | grep -q '^probe_success 1$'; then
  echo "probe-cpu: blackbox_exporter does not probe nginx" >&2
  cat "$ROOT/.local/bench/blackbox.log" >&2
  exit 1
fi
VERSION="$(prometheus-blackbox-exporter --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1)"

# shellcheck disable=SC2086
CLK_TCK="$(getconf CLK_TCK)" cargo run $BENCH_CARGO_FLAGS -q -p lookout-tests --example probe_cpu -- \
  all "$TARGET" "http://127.0.0.1:$NGINX_PORT/nginx_status" "http://127.0.0.1:$BB_PORT" "$BB_PID" \
  "blackbox_exporter $VERSION"
