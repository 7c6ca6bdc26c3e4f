"""The demo's operations step (issue 19): the audit log, the request log, check results as JSON
Lines, the daily results export to S3 and the API's cache statistics. Kept apart from demo.py,
which runs it with its `Demo` (`operations(demo)`)."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import urllib.error
import urllib.request


def raw_get(demo, path: str, admin: bool = True) -> tuple[int, dict[str, str], bytes]:
    """A GET answered as bytes: status, headers (lower-case names), body."""
    req = urllib.request.Request(f"http://127.0.0.1:{demo.watch_port}/lambda-url/api{path}")
    if admin:
        req.add_header("authorization", f"Bearer {demo.token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read() or b""


def audit(demo, say, secrets: list[str]) -> None:
    """The admin writes of the demo so far are in the audit log, with no secret."""
    say("\nAudit log (GET /v1/audit)")
    status, body = demo.api("GET", "/v1/audit?limit=1000", admin=True)
    entries = body.get("entries", []) if isinstance(body, dict) else []
    demo.expect(status == 200 and len(entries) > 0, f"GET /v1/audit lists the admin writes ({status}, {len(entries)} entries)")
    for e in entries[:5]:
        say(f"  {e['method']:6} {e['route']:32} {','.join(e['objects'])[:40]:40} {e['outcome']['result']} by {e['actor']['name']}")
    created = [e for e in entries if e["method"] == "POST" and e["route"] == "/v1/targets"]
    first = created[-1] if created else {}
    demo.expect(bool(first) and len(first["objects"]) == len(demo.targets) and first["actor"]["name"] == "admin"
                and first["outcome"]["result"] == "ok",
                f"the example targets' creation is one entry by admin naming all {len(demo.targets)}, ok")
    channels = [e for e in entries if e["route"] == "/v1/channels" and e["method"] == "POST"]
    demo.expect(len(channels) >= 4, f"each channel's creation is recorded ({len(channels)})")
    text = json.dumps(body)
    leaked = [s for s in secrets if s in text]
    demo.expect(not leaked, f"no secret (proxy password, channel secrets, admin token) in the audit log{': ' + str(leaked) if leaked else ''}")
    status, only = demo.api("GET", "/v1/audit?object=channel", admin=True)
    demo.expect(status == 200 and only["entries"] and all(any(o.startswith("channel:") for o in e["objects"]) for e in only["entries"]),
                "?object=channel keeps the channels' entries only")


def request_log(demo, say, log_path, secrets: list[str]) -> None:
    """The API's log has one request line per call, with the route template and no secret."""
    say("\nRequest log (the API function's log)")
    text = log_path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if " request " in line or '"message":"request"' in line]
    audit_lines = [line for line in lines if 'route="/v1/audit"' in line or '"route":"/v1/audit"' in line]
    demo.expect(len(audit_lines) >= 2 and all("caller=\"admin\"" in line or '"caller":"admin"' in line or "caller=admin" in line for line in audit_lines),
                f"the audit reads are logged with their route template and caller ({len(audit_lines)} lines)")
    if audit_lines:
        say(f"  {audit_lines[-1].strip()[:200]}")
    leaked = [s for s in secrets if s in "\n".join(lines)]
    demo.expect(not leaked, "no token or secret in the request lines")


def results_jsonl(demo, say) -> None:
    """GET /v1/results?format=jsonl answers the JSON answer's results, one a line."""
    say("\nCheck results as JSON Lines (GET /v1/results?format=jsonl)")
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    window = f"since={since}&until={until}"
    status, headers, raw = raw_get(demo, f"/v1/results?format=jsonl&{window}")
    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    demo.expect(status == 200 and headers.get("content-type", "").startswith("application/x-ndjson"),
                f"answered as application/x-ndjson ({status}, {headers.get('content-type')})")
    results, cursor = [], None
    for _ in range(20):
        path = f"/v1/results?{window}&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        code, page = demo.api("GET", path, admin=True)
        if code != 200:
            break
        results += page["results"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    demo.expect(len(lines) == len(results) > 0, f"{len(lines)} lines, as many as the JSON pages' results ({len(results)})")
    demo.expect(all("target" in line and "outcome" in line for line in lines), "every line names its target and outcome")
    status, _, _ = raw_get(demo, "/v1/results?format=xml")
    demo.expect(status == 400, f"format=xml is a 400 ({status})")


def results_export(demo, say) -> None:
    """POST /v1/exports/results writes today's results and a manifest whose SHA-256 and count hold."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    say(f"\nResults export (POST /v1/exports/results?day={day})")
    status, answer = demo.api("POST", f"/v1/exports/results?day={day}", admin=True)
    demo.expect(status in (201, 202), f"the export is made ({status})")
    bucket = demo.env["LOOKOUT_BUCKET"]
    manifest = None
    for _ in range(60):
        try:
            manifest = json.loads(demo.s3.get_object(Bucket=bucket, Key=f"results/{day}.manifest.json")["Body"].read())
            break
        except demo.s3.exceptions.NoSuchKey:
            time.sleep(1)
    demo.expect(manifest is not None, f"results/{day}.manifest.json is in the bucket")
    if manifest is None:
        return
    body = demo.s3.get_object(Bucket=bucket, Key=f"results/{day}.jsonl.gz")["Body"].read()
    count = sum(1 for line in gzip.decompress(body).splitlines() if line.strip())
    say(f"  s3://{bucket}/results/{day}.jsonl.gz: {len(body)} bytes, {count} results")
    demo.expect(hashlib.sha256(body).hexdigest() == manifest["sha256"], "the object matches the manifest's SHA-256")
    demo.expect(count == manifest["count"] > 0, f"it holds the {manifest['count']} results the manifest counts")


def cache_stats(demo, say) -> None:
    """A second status read is a hit of this instance's cache, and the statistics say so."""
    say("\nCached reads (GET /v1/cache/stats)")
    _, before = demo.api("GET", "/v1/cache/stats", admin=True)
    hits = lambda stats: ((stats or {}).get("caches", {}).get("status") or {}).get("hits", 0)  # noqa: E731
    for _ in range(3):
        demo.api("GET", "/v1/status")
    status, after = demo.api("GET", "/v1/cache/stats", admin=True)
    got = hits(after) - hits(before)
    say(f"  status: {json.dumps((after or {}).get('caches', {}).get('status'))}")
    demo.expect(status == 200 and got >= 1, f"repeated status reads are cache hits ({got} new hits of 3 reads)")
    code, page = demo.api("GET", "/v1/status?limit=2&fields=id,status")
    rows = page.get("targets", []) if isinstance(page, dict) else []
    demo.expect(code == 200 and len(rows) == 2 and all(set(r) == {"id", "status"} for r in rows) and page.get("next_cursor"),
                f"?limit=2&fields=id,status gives two rows of those fields and a next_cursor ({code})")


def operations(demo, say, log_path, secrets: list[str]) -> None:
    """Every check of this step, in order."""
    audit(demo, say, secrets)
    demo.api("GET", "/v1/audit?limit=1", admin=True)
    request_log(demo, say, log_path, secrets)
    results_jsonl(demo, say)
    results_export(demo, say)
    cache_stats(demo, say)
