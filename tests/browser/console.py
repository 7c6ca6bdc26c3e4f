#!/usr/bin/env python3
"""The admin console in a real browser: Selenium drives Debian's headless Chromium through
Debian's chromedriver (never Selenium Manager: no internet is needed or used).

Run by tests/it/console_browser.rs, which seeds a table, serves the API on loopback and passes:
  LOOKOUT_CONSOLE_URL          the API's root URL (the console is <url>/console)
  LOOKOUT_CONSOLE_ADMIN_TOKEN  the admin token
  LOOKOUT_CONSOLE_READ_TOKEN   the read token
  LOOKOUT_CONSOLE_FIXTURE      JSON: up_id, down_id, hostile_id, hostile_name, pool, proxies
                               (cheapest first), server_url, proxy_url, test_url
  LOOKOUT_CONSOLE_SHOTS        where the screenshots go (<page>-<lang>-<width>.png)
  LOOKOUT_CONSOLE_PROFILE      a fresh Chromium profile directory

Every step prints one line (`step N <name>: ok ...` or `step N <name>: FAILED ...`); a failed
step does not stop the others (a step that needs a failed one says so and fails too). The
script exits 1 naming the failed steps, 0 when all passed. The selectors are the console's
contract (the helpers' brief, "Selectors the browser tests rely on").
"""

import base64
import json
import os
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    TimeoutException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.environ["LOOKOUT_CONSOLE_URL"].rstrip("/")
CONSOLE = ROOT + "/console"
ADMIN = os.environ["LOOKOUT_CONSOLE_ADMIN_TOKEN"]
READ = os.environ["LOOKOUT_CONSOLE_READ_TOKEN"]
FIX = json.loads(os.environ["LOOKOUT_CONSOLE_FIXTURE"])
SHOTS = os.environ["LOOKOUT_CONSOLE_SHOTS"]
PROFILE = os.environ["LOOKOUT_CONSOLE_PROFILE"]
WAIT_S = 10
# The tallest screenshot, px (a taller page is cut there).
MAX_SHOT_HEIGHT = 16000
# The target the forms create, and the refused URL (a scheme the API refuses for `url`).
NEW_SERVER = "console-web"
NEW_PROXY = "console-proxy"
BAD_URL = "ftp://bad.example/health"
# Every write button of a target's detail page.
WRITE_ACTIONS = ["check", "enable", "disable", "mark_down", "mark_healthy", "reset", "delete", "edit"]


class StepFailed(Exception):
    """A check of a step did not hold."""


def need(cond, what):
    if not cond:
        raise StepFailed(what)


def start_driver():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--disable-extensions",
        "--window-size=1280,900",
        "--lang=en-US",
        f"--user-data-dir={PROFILE}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(30)
    return driver


D = None


def wait(cond, what, timeout=WAIT_S):
    try:
        return WebDriverWait(D, timeout).until(lambda d: cond())
    except TimeoutException:
        raise StepFailed(f"waited {timeout} s for {what}") from None


def one(css, root=None):
    try:
        return (root or D).find_element(By.CSS_SELECTOR, css)
    except NoSuchElementException:
        raise StepFailed(f"no {css} on {D.current_url}") from None


def some(css, root=None):
    return (root or D).find_elements(By.CSS_SELECTOR, css)


def no_token_leak():
    """Neither token is in the page's source or its URL."""
    src, url = D.page_source, D.current_url
    for name, token in (("admin", ADMIN), ("read", READ)):
        need(token not in url, f"the {name} token is in the URL {url}")
        need(token not in src, f"the {name} token is in the source of {url}")


def get(path):
    """Opens <console><path> and checks that no token leaks into it."""
    D.get(CONSOLE + path)
    no_token_leak()


def loaded_after(action, old_html):
    """Runs `action` (a click that loads a page) and waits until the old page is gone."""
    action()
    accept_confirm()
    wait(lambda: stale(old_html), "the next page to load")
    wait(lambda: D.execute_script("return document.readyState") == "complete", "the page to load")
    no_token_leak()


def stale(el):
    try:
        el.is_enabled()
        return False
    except Exception:  # StaleElementReferenceException: the page changed
        return True


def accept_confirm():
    """Accepts a `data-confirm` question, if the click asked one."""
    try:
        WebDriverWait(D, 1).until(EC.alert_is_present()).accept()
    except TimeoutException:
        pass


def submit(form):
    html = one("html")
    button = one("button[type=submit]", form)
    loaded_after(button.click, html)


def sign_in(token):
    get("/login")
    form = one("form#login")
    need(some("input[type=hidden][name=_csrf]", form), "the sign-in form has no _csrf")
    one("input[name=token]", form).send_keys(token)
    submit(form)
    need("/console/login" not in D.current_url, f"still on the sign-in page: {D.current_url}")


def sign_out():
    if not some("form#logout"):
        get("/targets")
    html = one("html")
    loaded_after(one("form#logout button[type=submit]").click, html)
    need("/console/login" in D.current_url, f"sign-out led to {D.current_url}")


def fill(form, name, value):
    """Sets the field named `name` (an input, a textarea or a select) to `value`."""
    el = one(f'[name="{name}"]', form)
    if el.tag_name == "select":
        D.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            el,
            value,
        )
    else:
        el.clear()
        el.send_keys(value)


def fill_if_there(form, name, value):
    if some(f'[name="{name}"]', form):
        fill(form, name, value)


def row(tid):
    rows = some(f'table.list tr[data-id="{tid}"]')
    return rows[0] if rows else None


def post(path, fields):
    """POSTs a form from the page, as a forged form would: the answer's status."""
    return D.execute_async_script(
        """
        var done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: 'POST', credentials: 'same-origin', redirect: 'manual',
          headers: {'Content-Type': 'application/x-www-form-urlencoded'},
          body: new URLSearchParams(arguments[1]).toString()})
          .then(function (r) { done(r.status); }, function (e) { done(String(e)); });
        """,
        CONSOLE + path,
        fields,
    )


def action_path(selector, fallback):
    """The path (below the console) a form posts to: the form holding `selector` on the page."""
    for el in some(selector):
        form = el if el.tag_name == "form" else D.execute_script("return arguments[0].form || arguments[0].closest('form')", el)
        if form is not None:
            action = form.get_attribute("action") or ""
            if "/console" in action:
                return action.split("/console", 1)[1]
    return fallback


STATE = {}


# ----------------------------------------------------------------------------- the steps


def step1_sign_in():
    sign_in(ADMIN)
    need(D.current_url.split("?")[0].endswith("/console/targets"), f"signed in to {D.current_url}")
    one("table.list")
    for tid, want in ((FIX["up_id"], "operational"), (FIX["down_id"], "down")):
        r = row(tid)
        need(r is not None and want in (r.get_attribute("class") or "").split(), f"{tid}'s row is not {want}")
    cookies = {c["name"]: c for c in D.get_cookies()}
    s = cookies.get("lookout_session")
    need(s is not None, f"no lookout_session cookie: {sorted(cookies)}")
    attrs = {k: v for k, v in s.items() if k != "value"}
    need(s.get("httpOnly") is True, f"the session cookie is not HttpOnly: {attrs}")
    need(s.get("sameSite") == "Strict", f"the session cookie is SameSite {s.get('sameSite')}")
    need("lookout_session" not in D.execute_script("return document.cookie"), "document.cookie shows the session")
    need(ADMIN not in s["value"], "the token is in the cookie")
    return "HttpOnly, SameSite=Strict, the token in no page, URL or cookie"


def step2_create_server():
    get("/targets/new?kind=server")
    form = one("form#target-form")
    kinds = {a.get_attribute("data-kind") for a in some("a[data-kind]")}
    need({"server", "proxy", "tcp", "tls", "dns", "heartbeat"} <= kinds, f"the kind switch has {sorted(kinds)}")
    need(some("input[type=hidden][name=_csrf]", form), "the target form has no _csrf")
    D.execute_script("arguments[0].noValidate = true", form)
    fill_if_there(form, "id", NEW_SERVER)
    fill(form, "name", "Console web")
    fill_if_there(form, "group", "web")
    fill(form, "url", BAD_URL)
    submit(form)
    box = one('div.field[data-field="url"]')
    err = one("p.field-error", box)
    need(err.is_displayed() and err.text.strip(), "the url field's error is not shown")
    need("bad" in (box.get_attribute("class") or "").split(), "the url field has no class bad")
    kept = one('[name="url"]', box).get_attribute("value")
    need(kept == BAD_URL, f"the url input kept {kept!r}, not {BAD_URL!r}")
    message = err.text.strip()
    form = one("form#target-form")
    D.execute_script("arguments[0].noValidate = true", form)
    fill(form, "url", FIX["server_url"])
    submit(form)
    need(not some("p.field-error, p.form-error"), f"the good form was refused: {[e.text for e in some('p.field-error, p.form-error')]}")
    get("/targets")
    need(row(NEW_SERVER) is not None, f"{NEW_SERVER} is not in the list")
    STATE["server"] = NEW_SERVER
    return f"refused first ({message!r} at url, input kept), then created; in the list"


def step3_create_proxy():
    get("/targets/new?kind=proxy")
    form = one("form#target-form")
    D.execute_script("arguments[0].noValidate = true", form)
    fill_if_there(form, "id", NEW_PROXY)
    fill(form, "name", "Console proxy")
    fill(form, "group", FIX["pool"])
    fill(form, "proxy_url", FIX["proxy_url"])
    fill(form, "test_urls", FIX["test_url"])
    fill_if_there(form, "cost_per_gb", "9")
    submit(form)
    errors = [e.text for e in some("p.field-error, p.form-error")]
    need(not errors, f"the proxy form was refused: {errors}")
    need(FIX["proxy_url"] not in D.page_source, "the proxy's credentials are on the page")
    get("/targets")
    r = row(NEW_PROXY)
    need(r is not None, f"{NEW_PROXY} is not in the list")
    need(FIX["pool"] in r.text, f"{NEW_PROXY}'s row does not name the pool: {r.text!r}")
    get("/pools")
    pool = one(f'section.pool[data-group="{FIX["pool"]}"]')
    need(some(f'[data-id="{NEW_PROXY}"]', pool), f"the pool's section does not list {NEW_PROXY}")
    return f"created {NEW_PROXY} in {FIX['pool']}: in the list and the pool's section"


def step4_check_now():
    get(f"/targets/{FIX['up_id']}")
    button = one('form[data-inline="check-result"] button[data-action="check"]')
    out = one("output#check-result")
    D.execute_script("window.__lookoutNoLoad = 1")
    url = D.current_url
    button.click()
    text = wait(lambda: out.text.strip(), "text in #check-result")
    need(D.execute_script("return window.__lookoutNoLoad") == 1, "the page was loaded again")
    need(D.current_url == url, f"the URL changed to {D.current_url}")
    no_token_leak()
    return f"#check-result: {text[:80]!r} without a page load"


def active_proxy():
    get("/pools")
    pool = one(f'section.pool[data-group="{FIX["pool"]}"]')
    active = one(".active[data-id]", pool).get_attribute("data-id")
    order = [li.get_attribute("data-id") for li in some("ol.order > li[data-id]", pool)]
    return active, order


def step5_mark_down():
    before, order = active_proxy()
    need(before == FIX["proxies"][0], f"the active proxy is {before}, not the cheapest {FIX['proxies'][0]}")
    need(order[:2] == FIX["proxies"], f"the failover order is {order}, not {FIX['proxies']} first")
    get(f"/targets/{before}")
    html = one("html")
    loaded_after(one('button[data-action="mark_down"]').click, html)
    need(not some("p.form-error"), f"marking down was refused: {[e.text for e in some('p.form-error')]}")
    get(f"/targets/{before}")
    status = one(".state [data-status]").get_attribute("data-status")
    need(status == "down", f"{before} is {status!r} after mark down")
    after, order = active_proxy()
    need(after != before and after, f"the active proxy is still {after}")
    need(before not in order, f"{before} is still in the failover order {order}")
    return f"active {before} -> {after}; order now {order}"


def step6_delete():
    get(f"/targets/{STATE['server']}")
    html = one("html")
    loaded_after(one('[data-action="delete"]').click, html)
    form = one("form#delete-form")
    html = one("html")
    loaded_after(one('button[data-action="confirm-delete"]', form).click, html)
    get("/targets")
    need(row(STATE["server"]) is None, f"{STATE['server']} is still in the list")
    return f"{STATE['server']} deleted through the confirmation page"


def enabled_in_list(tid):
    get("/targets")
    r = row(tid)
    need(r is not None, f"{tid} is not in the list")
    return "off" not in (r.get_attribute("class") or "").split()


def step7_csrf():
    tid = FIX["up_id"]
    get(f"/targets/{tid}")
    write = action_path('[data-action="disable"]', f"/targets/{tid}/disable")
    results, wrong = [], []
    for path in ("/logout", write):
        for label, fields in (("no _csrf", {"x": "1"}), ("a wrong _csrf", {"_csrf": "forged" + "A" * 37})):
            status = post(path, fields)
            (results if status == 403 else wrong).append(f"POST {path} with {label}: {status}")
    need(not wrong, "not 403: " + "; ".join(wrong) + (f" (403: {'; '.join(results)})" if results else ""))
    need(enabled_in_list(tid), f"{tid} was disabled by a forged form")
    need("/console/login" not in D.current_url, "a forged sign-out ended the session")
    return "403 for " + "; ".join(r.split(": ")[0] for r in results)


def step8_read_token():
    sign_out()
    sign_in(READ)
    one("table.list")
    for css in ('a[data-action^="new"]', 'a[data-action="import"]', "form#target-form"):
        need(not some(css), f"the read session sees {css} on the list")
    get(f"/targets/{FIX['up_id']}")
    one(".state [data-status]")
    shown = [a for a in WRITE_ACTIONS if some(f'[data-action="{a}"]')]
    need(not shown, f"the read session sees write buttons: {shown}")
    csrf = one("form#logout input[name=_csrf]").get_attribute("value")
    path = f"/targets/{FIX['up_id']}/disable"
    status = post(path, {"_csrf": csrf})
    need(status == 403, f"the read session's POST {path} with its own _csrf: {status}, not 403")
    status = post("/targets/new?kind=server", {"_csrf": csrf, "id": "read-made", "name": "x", "group": "g", "url": FIX["server_url"]})
    need(status == 403, f"the read session's new server: {status}, not 403")
    need(enabled_in_list(FIX["up_id"]), "the read session disabled a target")
    need(row("read-made") is None, "the read session created a target")
    return "no write buttons; its POSTs (valid CSRF) 403"


def no_markup_from_names():
    need(not some('img[src="x"]'), "an <img src=x> from the hostile name is in the DOM")
    need(not some("[onerror]"), "an element with onerror is in the DOM")
    scripts = D.execute_script(
        "return Array.from(document.scripts).filter(s => s.textContent.includes('alert(1)')).length"
    )
    need(scripts == 0, "a <script> holding alert(1) is in the DOM")
    try:
        text = D.switch_to.alert.text
        raise StepFailed(f"an alert dialog is open: {text!r}")
    except NoAlertPresentException:
        pass


def step9_hostile():
    name = FIX["hostile_name"]
    get("/targets")
    no_markup_from_names()
    r = row(FIX["hostile_id"])
    need(r is not None, "the hostile target is not in the list")
    need(name in one(".name", r).text, f"the list shows {one('.name', r).text!r}, not the name as text")
    get(f"/targets/{FIX['hostile_id']}")
    no_markup_from_names()
    h1 = one("h1").text
    need(name in h1, f"the detail's <h1> is {h1!r}")
    return "list and detail show the name as text; no img, no script, no dialog"


def set_width(width, height=900):
    # Cleared first: a phone's metrics (mobile: true) left under the next override shifted a
    # right-to-left page's capture sideways.
    D.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    D.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def shoot(name, width):
    """A full-page PNG of the current page at `width` px: <SHOTS>/<name>.png."""
    m = D.execute_script(
        "window.scrollTo(0, 0); var e = document.documentElement;"
        "return {client: e.clientWidth, scroll: e.scrollWidth, left: e.getBoundingClientRect().left + window.scrollX,"
        " height: Math.max(e.scrollHeight, document.body.scrollHeight), dir: e.getAttribute('dir')};"
    )
    height = max(600, min(int(m["height"]), MAX_SHOT_HEIGHT))
    # The viewport made as tall as the page, then a plain capture: Chromium's
    # captureBeyondViewport drew a right-to-left page shifted sideways (126 px at 1280) after
    # a phone's metrics, though the page's own layout had no overflow.
    D.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    shot = D.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "clip": {"x": max(0, round(m["left"])), "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    set_width(width)
    data = base64.b64decode(shot["data"])
    path = os.path.join(SHOTS, f"{name}.png")
    with open(path, "wb") as f:
        f.write(data)
    w = int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else None
    problems = []
    if w != width:
        problems.append(f"{name}: {w} px wide, not {width}")
    covered = D.execute_script(
        "var out = [];"
        "document.querySelectorAll('form#logout button, nav.main a').forEach(function (n) {"
        " var r = n.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;"
        " var top = r.width > 0 && r.height > 0 && document.elementFromPoint(x, y);"
        " if (!top || !(top === n || n.contains(top)))"
        "  out.push(n.textContent.trim() + ' under ' + (top ? top.tagName.toLowerCase() + '.' + (top.getAttribute('class') || '') : 'nothing (off screen)')); });"
        "return out;"
    )
    if covered:
        problems.append(f"{name}: the frame's links cannot be clicked: {covered[:4]}")
    if width <= 390 and m["scroll"] > m["client"]:
        wide = D.execute_script(
            "var w = document.documentElement.clientWidth, out = [];"
            "document.querySelectorAll('body *').forEach(function (n) {"
            " var r = n.getBoundingClientRect();"
            " if (r.width > 0 && (r.right > w + 1 || r.left < -1) && out.length < 5)"
            "  out.push(n.tagName.toLowerCase() + '.' + (n.getAttribute('class') || '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right)); });"
            "return out;"
        )
        problems.append(f"{name}: {m['scroll']} px wide in a {m['client']} px viewport: {wide}")
    return problems, m


def step10_screenshots():
    problems, saved = [], []
    form_error_url = None

    def page(name, path, ready, lang="en", prepare=None):
        for width in (1280, 390):
            set_width(width)
            try:
                get(path)
                if prepare:
                    prepare()
                one(ready)
            except StepFailed as e:
                problems.append(f"{name}-{lang}-{width}: {e}")
            got, m = shoot(f"{name}-{lang}-{width}", width)
            problems.extend(got)
            want_dir = "rtl" if lang in ("ar", "fa") else "ltr"
            if m["dir"] != want_dir:
                problems.append(f"{name}-{lang}-{width}: dir={m['dir']!r}, not {want_dir}")
            saved.append(f"{name}-{lang}-{width}")

    def refuse_bad_url():
        form = one("form#target-form")
        D.execute_script("arguments[0].noValidate = true", form)
        fill_if_there(form, "id", "shot-only")
        fill(form, "name", "Refused")
        fill_if_there(form, "group", "web")
        fill(form, "url", BAD_URL)
        submit(form)

    D.delete_all_cookies()
    sign_in(ADMIN)
    page("list", "/targets?lang=en", "table.list")
    page("detail", f"/targets/{FIX['up_id']}?lang=en", "h1")
    page("form", "/targets/new?kind=server&lang=en", 'div.field[data-field="url"] p.field-error', prepare=refuse_bad_url)
    page("pools", "/pools?lang=en", "section.pool")
    page("list", "/targets?lang=ar", "table.list", lang="ar")
    D.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    get("/targets?lang=en")
    need(not problems, "; ".join(problems))
    return f"{len(saved)} screenshots in {SHOTS}"


STEPS = [
    (1, "sign in with the admin token", step1_sign_in, []),
    (2, "create a server through the form (refused, then good)", step2_create_server, [1]),
    (3, "create a proxy through the form into the pool", step3_create_proxy, [1]),
    (4, "check now shows the result inline", step4_check_now, [1]),
    (5, "mark the active proxy down: the pool fails over", step5_mark_down, [1]),
    (6, "delete the created server through the confirmation page", step6_delete, [2]),
    (7, "a POST without or with a wrong CSRF token is 403", step7_csrf, [1]),
    (8, "the read token sees no write buttons and its POSTs are 403", step8_read_token, [1]),
    (9, "hostile names stay text", step9_hostile, [1]),
    (10, "screenshots at 1280 and 390 px, English and Arabic", step10_screenshots, []),
]


def main():
    global D
    os.makedirs(SHOTS, exist_ok=True)
    D = start_driver()
    print(f"browser: {D.capabilities.get('browserName')} {D.capabilities.get('browserVersion')}, console {CONSOLE}", flush=True)
    failed = []
    try:
        for n, name, fn, needs in STEPS:
            started = time.monotonic()
            missing = [m for m in needs if m in failed]
            if missing:
                print(f"step {n} {name}: FAILED (needs step {', '.join(map(str, missing))})", flush=True)
                failed.append(n)
                continue
            try:
                detail = fn()
                print(f"step {n} {name}: ok ({time.monotonic() - started:.1f} s) - {detail}", flush=True)
            except Exception as e:  # one step's failure, named; the next steps still run
                failed.append(n)
                kind = "" if isinstance(e, StepFailed) else f"{type(e).__name__}: "
                first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
                print(f"step {n} {name}: FAILED - {kind}{first}", flush=True)
                if not isinstance(e, StepFailed):
                    traceback.print_exc(limit=3, file=sys.stderr)
                try:  # a dialog left open would fail every later step
                    D.switch_to.alert.dismiss()
                except Exception:
                    pass
    finally:
        D.quit()
    if failed:
        print(f"console.py: steps {', '.join(map(str, failed))} failed", flush=True)
        sys.exit(1)
    print(f"console.py: all {len(STEPS)} steps passed", flush=True)


if __name__ == "__main__":
    main()
