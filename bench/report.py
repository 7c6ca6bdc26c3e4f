#!/usr/bin/env python3
"""Prints the benchmark rows of a run as one Markdown table and writes it, with the date and the
machine, to a file (BENCHMARKS.md for make bench).

Rows are JSON lines appended by each part (bench/parts/*.sh and the Rust examples they run):

    {"part": "probe-cpu", "name": "CPU per probe, concurrency 32", "unit": "µs",
     "lookout": 41.2, "anchor": 130.5, "anchor_name": "blackbox_exporter 0.25",
     "goal": "≤ 1/3 of the anchor", "met": true, "note": "..."}

`lookout` and `anchor` are numbers (or null); `ratio` is lookout / anchor, computed here when
both are there. `met` is true, false or null (no goal). Only `part`, `name` and `lookout` are
required.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}"
    return str(v)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc ?"
    return f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem}, {platform.system()} {platform.release()} {platform.machine()}, {rustc}"


def table(rows: list[dict]) -> str:
    out = ["| part | measure | unit | Lookout | anchor | anchor value | Lookout / anchor | goal | met |",
           "| --- | --- | --- | ---: | --- | ---: | ---: | --- | --- |"]
    for r in rows:
        ours, theirs = r.get("lookout"), r.get("anchor")
        ratio = r.get("ratio")
        if ratio is None and isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs:
            ratio = ours / theirs
        name = r.get("name", "")
        if r.get("note"):
            name += f" ({r['note']})"
        out.append("| " + " | ".join([
            r.get("part", ""), name, r.get("unit", ""), fmt(ours), r.get("anchor_name", "") or "–",
            fmt(theirs), fmt(ratio), r.get("goal", "") or "–", fmt(r.get("met")),
        ]) + " |")
    return "\n".join(out)


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: report.py RESULTS.jsonl [--write FILE]", file=sys.stderr)
        return 2
    rows = []
    for n, line in enumerate(Path(sys.argv[1]).read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"report: line {n} is not JSON ({e}): {line[:120]}", file=sys.stderr)
                return 1
    text = table(rows)
    print(text)
    if "--write" in sys.argv:
        target = Path(sys.argv[sys.argv.index("--write") + 1])
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        header = (f"# Benchmarks\n\nRun by `make bench` on {stamp}.\n\nMachine: {machine()}.\n\n"
                  "Every row was measured in the same run on this machine; ratios are Lookout / anchor "
                  "(below 1 is better for times, CPU and memory; above 1 is better for throughput).\n\n")
        # bench/notes.md: what the table does not say (how the parts measure, the goals not met
        # and what would reach them), kept by hand beside the harness.
        notes = Path(__file__).with_name("notes.md")
        tail = "\n" + notes.read_text() if notes.exists() else ""
        target.write_text(header + text + "\n" + tail)
        print(f"\nwritten to {target}")
    missing = [r for r in rows if r.get("met") is False]
    if missing:
        print(f"\n{len(missing)} goal(s) not met: " + "; ".join(r["name"] for r in missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
