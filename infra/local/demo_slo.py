"""The demo's SLO step (issue 20): two SLOs through the API, a probe run that burns the dead
proxy's error budget, its page and ticket alerts on the topic, the SLOs' status, the status
page's SLO section, the `lookout_slo_*` metrics and the digest's SLO line. Kept apart from
demo.py, which runs it last (`slos(demo, say)`), so the earlier steps' alert counts hold."""

from __future__ import annotations

import json
import time


def slos(demo, say) -> None:
    """Every check of this step, in order."""
    say("\nSLOs and error budgets (POST /v1/slos, then one probe run)")
    vps = {"id": "vps-availability", "name": "VPS proxy availability", "target": "proxy-vps",
           "objective": 99.9, "window": "30d", "sli": {"type": "availability"}}
    backend = {"id": "backend-latency", "name": "Backend under 2 s", "tag": "backend",
               "objective": 99, "window": "calendar_month", "sli": {"type": "latency", "threshold_ms": 2000}}
    for slo in (vps, backend):
        status, body = demo.api("POST", "/v1/slos", slo, admin=True)
        demo.expect(status == 201 and (body.get("slo") or {}).get("id") == slo["id"], f"POST /v1/slos creates {slo['id']} ({status})")
    status, body = demo.api("POST", "/v1/slos", {**vps, "id": "too-good", "objective": 100.5}, admin=True)
    field = (body.get("error") or {}).get("field") if isinstance(body, dict) else None
    demo.expect(status == 422 and field == "objective", f"an objective above 99.999 is refused naming the field ({status}, {field})")
    status, _ = demo.api("PUT", "/v1/pages/default",
                         {"title": "Lookout demo", "slos": ["vps-availability", "backend-latency"]}, admin=True)
    demo.expect(status in (200, 201), f"the default status page lists both SLOs ({status})")

    demo.receive_all(idle_polls=1)
    demo.invoke("probe", "probe-now.json")
    status, one = demo.api("GET", "/v1/slos/vps-availability", admin=True)
    one = one.get("slo", {}) if isinstance(one, dict) else {}
    st = one.get("status", {}) if isinstance(one, dict) else {}
    budget = st.get("budget", {})
    page = (one.get("firing") or {}).get("page") if isinstance(one, dict) else None
    say(f"  vps-availability: SLI {st.get('sli')} % of {st.get('events')} checks, budget remaining "
        f"{budget.get('remaining_share')} ({budget.get('remaining_minutes')} of {budget.get('total_minutes')} min), "
        f"burn rates {[(b['window'], round(b['rate'], 1)) for b in st.get('burn_rates', [])]}, page {page}")
    demo.expect(status == 200 and st.get("events", 0) >= 1 and budget.get("remaining_share", 1) < 0
                and abs(budget.get("total_minutes", 0) - 43.2) < 1e-6,
                "the dead proxy's SLO has spent more than its budget (43.2 min over 30 days at 99.9 %)")
    demo.expect(bool(page) and "page_1h" in page.get("rules", []), "its page alert is firing (page_1h)")
    status, two = demo.api("GET", "/v1/slos/backend-latency", admin=True)
    two = two.get("slo", {}) if isinstance(two, dict) else {}
    demo.expect(status == 200 and two["status"]["events"] >= 2 and two["status"]["budget"]["spent_share"] == 0
                and not any((two.get("firing") or {}).values()),
                f"the backend latency SLO counts the live servers' checks, nothing spent, nothing firing ({two['status']['events']} events)")

    alerts = [json.loads(m["Message"]) for m in demo.receive_all(idle_polls=2)]
    burns = sorted((a["severity"], a["key"].split("#")[2]) for a in alerts if a["kind"] == "slo_burn")
    for a in alerts:
        if a["kind"] == "slo_burn":
            say(f"  {a['subject']}")
    demo.expect(burns == [("critical", "page"), ("warning", "ticket")],
                f"one page (critical) and one ticket (warning) alert on the topic ({burns})")
    again = demo.invoke("probe", "probe-now.json")
    more = [json.loads(m["Message"]) for m in demo.receive_all(idle_polls=2)]
    demo.expect(not [a for a in more if a["kind"] == "slo_burn"] and not [a for a in again.get("alerts", []) if a["kind"] == "slo_burn"],
                "a second run while it still burns raises no second alert")

    status, _, text = demo.page("/metrics")
    line = next((x for x in text.splitlines() if x.startswith("lookout_slo_error_budget_remaining_ratio") and "vps-availability" in x), "")
    say(f"  {line}")
    demo.expect(status == 200 and line != "" and float(line.rsplit(" ", 1)[1]) < 0,
                "/metrics has the SLO's remaining budget, below zero")
    status, _, html = demo.page("/")
    demo.expect(status == 200 and "VPS proxy availability" in html and "Backend under 2 s" in html,
                "the status page shows both SLOs")
    status, _, page_json = demo.page("/status.json")
    listed = {s["id"]: s for s in json.loads(page_json).get("slos", [])} if status == 200 else {}
    demo.expect(listed.get("vps-availability", {}).get("burning") is True and listed.get("backend-latency", {}).get("burning") is False,
                "the page's JSON marks the dead proxy's SLO as burning, the backend's not")

    hour = time.strftime("%Y-%m-%dT%H", time.gmtime())
    report = demo.invoke("digest", json.dumps({"hour": hour}))
    summary = report["global"]["summary"]
    line = next((x for x in summary.split("\n") if "VPS proxy availability has used" in x), "")
    say(f"  digest: {line.strip()}")
    demo.expect(line != "", "the hourly digest says how much of its budget the VPS proxy SLO has used")
    status, _ = demo.api("DELETE", "/v1/slos/backend-latency", admin=True)
    demo.expect(status == 204, f"DELETE /v1/slos/backend-latency ({status})")
