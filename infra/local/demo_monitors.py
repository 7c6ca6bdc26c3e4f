"""The demo's monitor kinds step (issue 21): a TCP port that answers PING with +PONG and one
where nothing listens, a TLS port whose certificate expires in 5 days, a DNS server on
loopback (dnslib) asked for an A record, and a heartbeat (push) target pinged through its
secret push URL: ok, then a reported failure (down, one alert), then ok again (up, one
recovery). Every server is on 127.0.0.1 and started here. Kept apart from demo.py, which runs
it last (`monitors(demo, say)`), so the earlier steps' alert counts hold."""

from __future__ import annotations

import datetime
import json
import socket
import socketserver
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
PONG_PORT, CLOSED_PORT, TLS_PORT, DNS_PORT = 18110, 18119, 18111, 18153
TLS_NAME = "tls.demo.test"


class Pong(socketserver.BaseRequestHandler):
    """Answers a line `PING` with `+PONG` (what redis-server does)."""

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            line = self.request.recv(64)
        except OSError:
            return
        if line.startswith(b"PING"):
            self.request.sendall(b"+PONG\r\n")


class Threaded(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_certificates(days: int) -> tuple[bytes, bytes, bytes]:
    """A test CA and a leaf for TLS_NAME valid `days` days: (CA PEM, leaf PEM, leaf key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lookout Demo CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TLS_NAME)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days, hours=12))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(TLS_NAME)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), leaf.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def serve_tls(leaf: bytes, key: bytes) -> socket.socket:
    """A TLS port that completes handshakes and closes (a server that speaks TLS at once)."""
    folder = Path(tempfile.mkdtemp(prefix="lookout-demo-tls-"))
    (folder / "leaf.pem").write_bytes(leaf)
    (folder / "key.pem").write_bytes(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "leaf.pem", folder / "key.pem")
    listener = socket.create_server((HOST, TLS_PORT), reuse_port=False)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            def handshake(c: socket.socket = conn) -> None:
                c.settimeout(5)
                try:
                    with ctx.wrap_socket(c, server_side=True) as s:
                        s.recv(1)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    c.close()
            threading.Thread(target=handshake, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def serve_dns():
    """dnslib's server on DNS_PORT (UDP and TCP) answering the demo zone."""
    from dnslib import RR, QTYPE, A, MX, TXT
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    zone = {("api.demo.test.", "A"): [RR("api.demo.test.", QTYPE.A, rdata=A("127.0.0.1"), ttl=60)],
            ("demo.test.", "MX"): [RR("demo.test.", QTYPE.MX, rdata=MX("mail.demo.test.", 10), ttl=60)],
            ("demo.test.", "TXT"): [RR("demo.test.", QTYPE.TXT, rdata=TXT("v=spf1 -all"), ttl=60)]}

    class Zone(BaseResolver):
        def resolve(self, request, handler):  # noqa: ANN001 (dnslib's interface)
            reply = request.reply()
            q = request.q
            found = zone.get((str(q.qname).lower(), QTYPE[q.qtype]))
            if found:
                for rr in found:
                    reply.add_answer(rr)
            elif not any(name == str(q.qname).lower() for name, _ in zone):
                reply.header.rcode = 3  # NXDOMAIN
            return reply

    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    servers = [DNSServer(Zone(), port=DNS_PORT, address=HOST, tcp=tcp, logger=quiet) for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    return servers


def push(demo, url: str, suffix: str = "", body: bytes | None = None) -> int:
    req = urllib.request.Request(url + suffix, data=body if body is not None else b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def monitors(demo, say) -> None:
    """Every check of this step, in order."""
    say("\nMore than HTTP: TCP, TLS, DNS and heartbeat targets (issue 21)")
    pong = Threaded((HOST, PONG_PORT), Pong)
    threading.Thread(target=pong.serve_forever, daemon=True).start()
    ca, leaf, key = make_certificates(days=5)
    tls = serve_tls(leaf, key)
    dns = serve_dns()
    say(f"  loopback servers up: PING/+PONG :{PONG_PORT}, nothing on :{CLOSED_PORT}, TLS :{TLS_PORT} "
        f"(certificate for {TLS_NAME}, 5 days left), DNS (dnslib) :{DNS_PORT}")
    common = {"group": "monitors", "failure_threshold": 1, "tags": ["monitors"]}
    targets = [
        {"id": "tcp-pong", "name": "Cache (TCP)", "kind": "tcp", "host": HOST, "port": PONG_PORT,
         "send": "PING\r\n", "expect_prefix": "+PONG"},
        {"id": "tcp-closed", "name": "Queue (TCP, nothing listens)", "kind": "tcp", "host": HOST, "port": CLOSED_PORT},
        {"id": "tls-port", "name": "Mail (TLS)", "kind": "tls", "host": HOST, "port": TLS_PORT,
         "server_name": TLS_NAME, "ca_pem": ca.decode()},
        {"id": "dns-api", "name": "api.demo.test (DNS)", "kind": "dns", "query_name": "api.demo.test",
         "record_type": "A", "resolver": f"{HOST}:{DNS_PORT}", "expect_contains": ["127.0.0.1"]},
        {"id": "dns-mx", "name": "demo.test MX (DNS)", "kind": "dns", "query_name": "demo.test",
         "record_type": "MX", "resolver": f"{HOST}:{DNS_PORT}", "expect_equals": ["10 mail.demo.test"]},
    ]
    status, body = demo.api("POST", "/v1/targets", {"targets": [{**common, **t} for t in targets]}, admin=True)
    demo.expect(status == 201, f"POST /v1/targets creates {len(targets)} tcp, tls and dns targets ({status})")
    status, body = demo.api("POST", "/v1/targets", {**common, "id": "bad-dns", "kind": "dns", "query_name": "x.test",
                                                      "record_type": "A", "resolver": "ns.example.com"}, admin=True)
    field = (body.get("error") or {}).get("field") if isinstance(body, dict) else None
    demo.expect(status == 422 and field == "resolver", f"a DNS target with a host name as resolver is refused naming the field ({status}, {field})")
    status, body = demo.api("POST", "/v1/targets", {**common, "id": "nightly-backup", "name": "Nightly backup",
                                                      "kind": "heartbeat", "period_s": 86400, "grace_s": 3600}, admin=True)
    text = json.dumps(body)
    push_url = next((v for v in _strings(body) if "/v1/push/" in v), "")
    token = push_url.rsplit("/", 1)[-1]
    demo.expect(status == 201 and len(token) >= 22, f"a heartbeat target gets a push URL, shown once ({status})")
    say(f"  push URL: {push_url[: push_url.find('/v1/push/') + 9]}<token, {len(token)} characters>")
    local_push = f"http://{HOST}:{demo.watch_port}/lambda-url/api/v1/push/{token}"

    demo.receive_all(idle_polls=1)
    code = push(demo, local_push, "?msg=backup+done", b"rows: 1200\n")
    demo.expect(code == 200, f"the job's ping is accepted ({code})")
    demo.invoke("probe", "probe-now.json")
    rows = _rows(demo)
    for tid in ["tcp-pong", "tcp-closed", "tls-port", "dns-api", "dns-mx", "nightly-backup"]:
        r = rows.get(tid, {})
        say(f"  {tid:15} {r.get('check_kind', '?'):9} {r.get('status', '?'):9} {r.get('latency_ms', '')!s:>4} ms  {r.get('message') or ''}")
    demo.expect(rows.get("tcp-pong", {}).get("status") == "healthy", "the TCP port answering +PONG is up")
    demo.expect(rows.get("tcp-closed", {}).get("status") == "down", "the TCP port where nothing listens is down")
    demo.expect(rows.get("tls-port", {}).get("status") == "degraded", "the TLS port whose certificate ends in 5 days is degraded")
    demo.expect(rows.get("dns-api", {}).get("status") == "healthy" and rows.get("dns-mx", {}).get("status") == "healthy",
                "both DNS checks against the loopback server are up")
    demo.expect(rows.get("nightly-backup", {}).get("status") == "healthy", "the pinged heartbeat is up")
    alerts = [json.loads(m["Message"]) for m in demo.receive_all(idle_polls=2)]
    mine = [(a["kind"], a.get("target_id", "")) for a in alerts
            if a.get("target_id") in ("tcp-closed", "tls-port", "nightly-backup")]
    say(f"  alerts: {mine}")
    demo.expect([k for k, t in mine if t == "tcp-closed"] == ["status_change"], "one alert says the closed TCP port is down")
    demo.expect([k for k, t in mine if t == "tls-port"] == ["cert_expiring"], "one certificate alert for the TLS port")

    code = push(demo, local_push, "/fail?msg=disk+full", b"tar: /backup: No space left on device\n")
    demo.expect(code == 200, f"a failure ping is accepted ({code})")
    demo.invoke("probe", "probe-now.json")
    rows = _rows(demo)
    demo.expect(rows.get("nightly-backup", {}).get("status") == "down",
                f"the heartbeat that reported a failure is down ({rows.get('nightly-backup', {}).get('message')})")
    code = push(demo, local_push)
    demo.invoke("probe", "probe-now.json")
    rows = _rows(demo)
    demo.expect(rows.get("nightly-backup", {}).get("status") == "healthy", "the next good ping brings it back up")
    alerts = [json.loads(m["Message"]) for m in demo.receive_all(idle_polls=2)]
    beats = [a["kind"] for a in alerts if a.get("target_id") == "nightly-backup"]
    say(f"  heartbeat alerts: {beats}")
    demo.expect(len(beats) == 2, "one alert for the failure and one for the recovery")
    status, pings = demo.api("GET", "/v1/targets/nightly-backup/pings", admin=True)
    demo.expect(status == 200 and "No space left on device" in json.dumps(pings), "GET /v1/targets/nightly-backup/pings keeps the failure's body")
    status, one = demo.api("GET", "/v1/targets/nightly-backup", admin=True)
    demo.expect(status == 200 and token not in json.dumps(one) and token not in text.replace(push_url, ""),
                "the push token is in no answer but the one that made it")
    status, one = demo.api("GET", "/v1/targets/tcp-pong", admin=True)
    demo.expect("PING" not in json.dumps(one), "what a TCP check sends is masked in the answer")
    code = push(demo, f"http://{HOST}:{demo.watch_port}/lambda-url/api/v1/push/{'x' * 32}")
    demo.expect(code == 404, f"an unknown push token is 404 ({code})")

    pong.shutdown()
    tls.close()
    for s in dns:
        s.stop()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _rows(demo) -> dict[str, dict]:
    status, body = demo.api("GET", "/v1/status", admin=True)
    rows = body.get("targets", []) if isinstance(body, dict) else []
    return {r.get("id"): {**r, **(r.get("last_result") or {})} for r in rows if r.get("group") == "monitors"}
