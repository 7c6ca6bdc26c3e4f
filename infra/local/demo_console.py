"""The demo's admin console step (issue 22), over plain HTTP through `cargo lambda watch` (the
console's links and cookie path carry `LOOKOUT_BASE_PATH=/lambda-url/api`, as `make dev` sets
it): a page without a session goes to the sign-in form; the admin token signs in through the
form (its CSRF token taken from the page) and gets an HttpOnly, SameSite=Strict session cookie
that does not hold the token; the targets list names every demo target and never the token;
the proxy pools page names the active proxy; a form posted without its CSRF token is refused
(403) and one with it signs out. The browser tests (Selenium + Chromium) are in
tests/browser/console.py, run by `make test`."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

HOST = "127.0.0.1"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keeps a 303 as the answer, so that its `Location` and cookies can be checked."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 (urllib's signature)
        return None


def console(demo, say, port: int) -> None:
    base = f"http://{HOST}:{port}/lambda-url/api"
    say("\n== admin console (/console): sign-in, targets, pools, CSRF ==")
    cookies: dict[str, str] = {}
    opener = urllib.request.build_opener(NoRedirect)

    def send(method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str, list[str]]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(f"{base}{path}", data=data, method=method)
        if cookies:
            req.add_header("cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
        if data is not None:
            req.add_header("content-type", "application/x-www-form-urlencoded")
        for attempt in range(4):
            try:
                resp = opener.open(req, timeout=60)
                status, headers, body = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                status, headers, body = e.code, e.headers, e.read() or b""
                # cargo lambda watch's own 500 (see demo.py's `api`): sent again.
                if status == 500 and b"httpstatuses.com/500" in body and attempt < 3:
                    continue
            set_cookies = headers.get_all("set-cookie") or []
            for c in set_cookies:
                name, _, rest = c.partition("=")
                value = rest.split(";", 1)[0]
                if value and "Max-Age=0" not in c:
                    cookies[name] = value
                else:
                    cookies.pop(name, None)
            return status, {k.lower(): v for k, v in headers.items()}, body.decode("utf-8", "replace"), set_cookies
        raise AssertionError("unreachable")

    def csrf(page: str) -> str:
        m = re.search(r'name="_csrf" value="([^"]+)"', page)
        return m.group(1) if m else ""

    status, headers, _, _ = send("GET", "/console/targets")
    demo.expect(status == 303 and headers.get("location") == "/lambda-url/api/console/login",
                f"without a session /console/targets goes to the sign-in page ({status} → {headers.get('location')})")
    status, _, page, _ = send("GET", "/console/login")
    demo.expect(status == 200 and 'type="password"' in page and csrf(page), f"the sign-in form is served with a CSRF token ({status})")
    status, _, _, _ = send("POST", "/console/login", {"_csrf": csrf(page), "token": "not-the-token"})
    demo.expect(status == 401 and "lookout_session" not in cookies, f"a wrong token opens no session ({status})")
    status, _, page, _ = send("GET", "/console/login")
    status, headers, _, set_cookies = send("POST", "/console/login", {"_csrf": csrf(page), "token": demo.token})
    session = next((c for c in set_cookies if c.startswith("lookout_session=")), "")
    demo.expect(status == 303 and all(a in session for a in ("HttpOnly", "SameSite=Strict", "Path=/lambda-url/api/console"))
                and demo.token not in session,
                f"the admin token signs in: a 303 with an HttpOnly, SameSite=Strict cookie without the token ({status})")
    status, _, page, _ = send("GET", "/console/targets")
    missing = [t["id"] for t in demo.targets if f'data-id="{t["id"]}"' not in page]
    demo.expect(status == 200 and not missing and demo.token not in page,
                f"the targets list names all {len(demo.targets)} demo targets and not the token ({status}; missing {missing})")
    say(f"  /console/targets: {page.count('<tr data-id=')} rows")
    status, _, page, _ = send("GET", "/console/pools")
    demo.expect(status == 200 and 'class="pool' in page, f"the proxy pools page is served ({status})")
    active = re.findall(r'class="active[^"]*" data-id="([^"]+)"', page)
    say(f"  /console/pools: active proxies {active}")
    token = csrf(page)
    status, _, _, _ = send("POST", "/console/logout", {})
    demo.expect(status == 403 and "lookout_session" in cookies, f"a form without its CSRF token is refused ({status})")
    status, headers, _, _ = send("POST", "/console/logout", {"_csrf": token})
    demo.expect(status == 303 and "lookout_session" not in cookies, f"sign-out with the CSRF token ends the session ({status})")
