#!/usr/bin/env python3
"""Cold start and size of Lambda binaries (part 40-cold-start of make bench). Python 3 stdlib only.

    coldstart.py --runs N --anchor PATH [--note TEXT] [--smoke] BINARY...

For every binary (the anchor, a hello-world `lambda_runtime` function, included):

* init time: the time from just before the binary is spawned (`subprocess.Popen`) to the moment
  its first request, `GET /2018-06-01/runtime/invocation/next`, reaches a loopback stub of the
  Lambda runtime API (`AWS_LAMBDA_RUNTIME_API`). Lambda's own INIT phase ends at the same request.
  The stub never answers (the runtime long-polls there as on Lambda); the process is then killed
  by its PID. One discarded warm-up round first (page cache, loader); then N rounds, each running
  every binary once in turn (round-robin), so that machine noise hits all of them alike.
  Median and p90 per binary.
* binary size, and zip size: the binary alone in a zip as `bootstrap` (ZIP_DEFLATED, level 9),
  as a Lambda deployment package of the `provided.al2023` runtime. Sizes are in MB = 10^6 bytes.

The binaries get the environment of this process (the local settings, infra/local/local.env, with
loopback endpoints: building the SDK clients does no network I/O) plus the variables Lambda sets.

Rows are appended to $BENCH_OUT as JSON lines (see bench/report.py), a table is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

NEXT = b"/2018-06-01/runtime/invocation/next"
ZIP_GOAL_MB = 4.0
INIT_GOAL_FACTOR = 2.0
ANCHOR_NAME = "hello-world lambda_runtime"
TIMEOUT_S = 60.0


def lambda_env(name: str, api: str) -> dict[str, str]:
    """The environment of one run: ours, plus what Lambda sets for a provided.al2023 function."""
    env = dict(os.environ)
    # The API reads its tokens from SSM at init when this is set: that would be network I/O.
    env.pop("LOOKOUT_TOKEN_PARAM", None)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_LAMBDA_FUNCTION_NAME": f"lookout-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/lookout-{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]00000000000000000000000000000000",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "bootstrap",
    })
    return env


def init_once(name: str, path: Path) -> tuple[float, float]:
    """Spawns the binary once; returns (init ms, spawn ms): the time from just before Popen to the
    arrival of its first `GET .../invocation/next`, and the time Popen itself took (it returns
    once the exec has happened)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.setblocking(False)
    env = lambda_env(name, f"127.0.0.1:{srv.getsockname()[1]}")
    conns: dict[socket.socket, bytes] = {}
    with tempfile.TemporaryFile() as err:
        t0 = time.monotonic_ns()
        proc = subprocess.Popen([str(path)], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        spawned = time.monotonic_ns()
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                ready, _, _ = select.select([srv, *conns], [], [], 0.05)
                now = time.monotonic_ns()
                for s in ready:
                    if s is srv:
                        conn, _ = srv.accept()
                        conns[conn] = b""
                        continue
                    data = s.recv(65536)
                    if not data:
                        del conns[s]
                        s.close()
                        continue
                    conns[s] += data
                    line, sep, _ = conns[s].partition(b"\r\n")
                    if sep:
                        if line.startswith(b"GET ") and NEXT in line:
                            return (now - t0) / 1e6, (spawned - t0) / 1e6
                        raise RuntimeError(f"{name}: unexpected first request {line!r}")
                if proc.poll() is not None:
                    err.seek(0)
                    tail = err.read()[-2000:].decode(errors="replace")
                    raise RuntimeError(f"{name} exited ({proc.returncode}) before asking for an "
                                       f"invocation; stderr:\n{tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: no invocation/next within {TIMEOUT_S:.0f} s")
        finally:
            proc.kill()
            proc.wait()
            for c in conns:
                c.close()
            srv.close()


def zip_size(path: Path) -> int:
    """Bytes of a Lambda deployment package holding the binary as `bootstrap`."""
    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "bootstrap.zip"
        info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.writestr(info, path.read_bytes(), compresslevel=9)
        return target.stat().st_size


def p90(xs: list[float]) -> float:
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--anchor", type=Path, required=True, help="the hello-world binary")
    ap.add_argument("--note", default="", help="appended to every row's note")
    ap.add_argument("--smoke", action="store_true", help="figures mean nothing: no goal is judged")
    ap.add_argument("binaries", type=Path, nargs="+")
    args = ap.parse_args()
    out = os.environ.get("BENCH_OUT")

    bins = {"hello": args.anchor} | {p.name: p for p in args.binaries}
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            print(f"coldstart: {path} is not an executable", file=sys.stderr)
            return 1

    load0 = os.getloadavg()[0]
    for name, path in bins.items():  # warm-up round, discarded
        init_once(name, path)
    inits: dict[str, list[float]] = {n: [] for n in bins}
    spawns: list[float] = []
    for _ in range(args.runs):
        for name, path in bins.items():
            init, spawn = init_once(name, path)
            inits[name].append(init)
            spawns.append(spawn)
    load1 = os.getloadavg()[0]

    med = {n: statistics.median(v) for n, v in inits.items()}
    q90 = {n: p90(v) for n, v in inits.items()}
    size = {n: p.stat().st_size / 1e6 for n, p in bins.items()}
    zsize = {n: zip_size(p) / 1e6 for n, p in bins.items()}

    print(f"init: exec → first GET invocation/next, {args.runs} round-robin runs after one warm-up "
          f"(Popen itself: median {statistics.median(spawns):.2f} ms, counted in every figure); "
          f"1-min load average {load0:.2f} → {load1:.2f}")
    print(f"{'binary':<8} {'init median ms':>15} {'p90 ms':>8} {'× hello':>8} {'binary MB':>10} {'zip MB':>8}")
    for n in bins:
        print(f"{n:<8} {med[n]:>15.2f} {q90[n]:>8.2f} {med[n] / med['hello']:>8.2f} "
              f"{size[n]:>10.2f} {zsize[n]:>8.2f}")

    rows = []
    fns = [n for n in bins if n != "hello"]
    for n in fns:
        init_note = (f"p90 {q90[n]:.2f} ms, hello-world p90 {q90['hello']:.2f} ms; exec → first "
                     f"invocation/next, loopback runtime-API stub, page cache warm, "
                     f"load avg {load0:.1f}→{load1:.1f}")
        rows.append({
            "part": "cold-start", "name": f"init time {n} (median of {args.runs})", "unit": "ms",
            "lookout": round(med[n], 3), "anchor": round(med["hello"], 3), "anchor_name": ANCHOR_NAME,
            "goal": "≤ 2 × hello-world",
            "met": None if args.smoke else med[n] <= INIT_GOAL_FACTOR * med["hello"],
            "note": "; ".join(x for x in [init_note, args.note] if x),
        })
    for n in fns:
        rows.append({
            "part": "cold-start", "name": f"zip size {n}", "unit": "MB",
            "lookout": round(zsize[n], 3), "anchor": round(zsize["hello"], 3), "anchor_name": ANCHOR_NAME,
            "goal": "≤ 4 MB", "met": None if args.smoke else zsize[n] <= ZIP_GOAL_MB,
            "note": "; ".join(x for x in ["bootstrap, deflate 9, MB = 10^6 B", args.note] if x),
        })
    for n in fns:
        rows.append({
            "part": "cold-start", "name": f"binary size {n}", "unit": "MB",
            "lookout": round(size[n], 3), "anchor": round(size["hello"], 3), "anchor_name": ANCHOR_NAME,
            "goal": None, "met": None,
            "note": "; ".join(x for x in ["MB = 10^6 B", args.note] if x),
        })
    if out:
        with open(out, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
