"""`cxcheck scenario import`: recordings of the demo shop become scenarios that run green.

The HAR files are made here by the real Debian Chromium (headless, driven through the DevTools
protocol by tests/chromium_har.py): it opens the pages, types into the forms and clicks the
buttons as a user does, while a tag-manager-like snippet on every page loads a stylesheet from
the shop and a pixel and a beacon from an "analytics" server on another port, as real shops do.
The Recorder export cannot be made that way (the Recorder panel lives in a DevTools window, which
nothing here can drive): it is written by recorder_export() in the Recorder's JSON schema, as
Chrome writes it with the selector attribute set to `name`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from conftest import Site, need_binary, run_plugin
from hypothesis import given, settings
from hypothesis import strategies as st

from cxcheck.demo.shop import DEMO_ACCOUNTS, DemoShop

PASSWORD = DEMO_ACCOUNTS["shopper@example.com"]
CARD, CVV = "4111 1111 1111 1111", "123"
SECRETS = {"CX_PASSWORD": PASSWORD, "CX_CARD_NUMBER": CARD, "CX_CVV": CVV}
TAG = """document.addEventListener('DOMContentLoaded', () => {
  const css = document.createElement('link'); css.rel = 'stylesheet'; css.href = '/static/shop.css';
  document.head.appendChild(css);
  const pixel = new Image(); pixel.src = '%(analytics)s/pixel.gif?p=' + encodeURIComponent(location.pathname);
  navigator.sendBeacon('%(analytics)s/collect', 'p=' + location.pathname);
});"""
HTML_STEPS = ["login_page", "login", "catalogue_page", "add_w_1", "address_page", "address", "shipping", "payment",
              "place_order"]


@pytest.fixture(scope="module")
def shop_and_analytics():
    """A shop of this module's own (the recordings place orders) and the analytics server."""
    analytics = Site({"/pixel.gif": (200, {"Content-Type": "image/gif"}, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
                      "/collect": (204, {}, b""),
                      "/recommendations.json": (200, {"Content-Type": "application/json",
                                                      "Access-Control-Allow-Origin": "*"}, '{"items": ["W-2"]}')})
    try:
        with DemoShop() as shop:
            yield shop, analytics
    finally:
        analytics.stop()


def record(tmp_path_factory, name: str, walk) -> Path:
    """Walk a journey in headless Chromium and save the HAR, as DevTools' "Save all as HAR" would."""
    from chromium_har import Chromium

    binary = need_binary("chromium", "chromium")
    work = tmp_path_factory.mktemp(name)
    browser = Chromium(binary, work / "profile")
    try:
        walk(browser)
        har = browser.har()
    finally:
        browser.close()
    path = work / f"{name}.har"
    path.write_text(json.dumps(har, indent=1))
    return path


@pytest.fixture(scope="module")
def checkout_har(tmp_path_factory, shop_and_analytics) -> Path:
    shop, analytics = shop_and_analytics

    def walk(b):
        b.add_script(TAG % {"analytics": analytics.url})
        b.navigate(shop.url + "/accounts/login/")
        b.type_into("#login_form [name=login-username]", "shopper@example.com")
        b.type_into("#login_form [name=login-password]", PASSWORD)
        b.click("#login_form [name=login_submit]")
        b.click('nav a[href="/catalogue/"]')
        # the catalogue page asks the recommendation service (another host) for suggestions
        b.evaluate(f"fetch('{analytics.url}/recommendations.json').then(r => r.json())", settle=True)
        b.click("#add_W-1 button")
        b.click("#checkout_form button")
        for field, value in (("first_name", "Ada"), ("last_name", "Lovelace"), ("line1", "12 Analytical Row"),
                             ("postcode", "N1 9GU"), ("city", "London")):
            b.type_into(f"#address_form [name={field}]", value)
        b.click("#address_form [name=continue]")
        b.evaluate("document.querySelector('#shipping_form input[value=express]').click()")
        b.click("#shipping_form [name=continue]")
        b.type_into("#payment_form [name=card_number]", CARD)
        b.type_into("#payment_form [name=expiry]", "12/30")
        b.type_into("#payment_form [name=cvv]", CVV)
        b.click("#payment_form [name=continue]")
        b.click("#place_order_form [name=place_order]")

    return record(tmp_path_factory, "checkout", walk)


@pytest.fixture(scope="module")
def imported(checkout_har, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("imported") / "checkout.yaml"
    result = run_plugin("cxcheck", "scenario", "import", str(checkout_har), "-o", str(out))
    return out, result


def har_entries(path: Path) -> list[dict]:
    return json.loads(path.read_text())["log"]["entries"]


def test_the_har_is_a_real_browsers_recording(checkout_har, shop_and_analytics):
    """What the importer must sort out is really in the file: assets, analytics, another host,
    redirects after each form, the CSRF tokens and the password as the browser sent them."""
    shop, analytics = shop_and_analytics
    entries = har_entries(checkout_har)
    kinds = {e["_resourceType"] for e in entries}
    assert {"document", "stylesheet", "image", "ping", "fetch"} <= kinds, kinds
    posts = [e for e in entries if e["request"]["method"] == "POST" and e["request"]["url"].startswith(shop.url)]
    assert [e["response"]["status"] for e in posts] == [302] * 6
    assert all("csrfmiddlewaretoken=" in e["request"]["postData"]["text"] for e in posts)
    assert any(PASSWORD in e["request"]["postData"]["text"] for e in posts)
    assert any(e["request"]["url"].startswith(analytics.url) for e in entries)
    assert any(h["name"].lower() == "cookie" for e in entries for h in e["request"]["headers"])


def test_import_writes_a_scenario_that_passes_check(imported, checkout_har):
    out, result = imported
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (f"imported 9 steps from {checkout_har} into {out}; set CX_PASSWORD, "
                             "CX_CARD_NUMBER, CX_CVV before running it\n")
    check = run_plugin("cxcheck", "scenario", "check", str(out))
    assert check.code == 0, check.stdout
    assert check.stdout == f"{out}: OK, journey '127.0.0.1' with 9 steps: {', '.join(HTML_STEPS)}\n"


def test_imported_scenario_runs_green_against_the_shop(imported, shop_and_analytics):
    out, _ = imported
    result = run_plugin("check_cx_checkout", "--scenario", str(out), "-t", "30", env=SECRETS)
    assert result.code == 0, result.stdout
    assert re.fullmatch(r"CX CHECKOUT OK - 127\.0\.0\.1 \d+\.\d{3} s, 9 steps", result.text), result.status
    assert {f"step_{name}" for name in HTML_STEPS} | {"time"} == set(result.perfdata)
    assert all(result.value(label) is not None for label in result.perfdata)


def test_imported_scenario_fails_cleanly_without_its_secrets(imported):
    out, _ = imported
    result = run_plugin("check_cx_checkout", "--scenario", str(out))
    assert result.code == 3
    assert result.status == (f"CX CHECKOUT UNKNOWN - {out}: variable 'password': ${{env:CX_PASSWORD}}: "
                             "environment variable CX_PASSWORD is not set")


def test_secrets_and_csrf_tokens_are_never_written(imported, checkout_har):
    out, _ = imported
    text = out.read_text()
    for value in (PASSWORD, CARD, "4111", "correct-horse"):
        assert value not in text
    assert re.search(r"(?<!\d)123(?!\d)", text) is None            # the CVV
    tokens = {p["value"] for e in har_entries(checkout_har) for p in e["request"].get("postData", {}).get("params", [])
              if p["name"] == "csrfmiddlewaretoken"}
    assert len(tokens) >= 2
    assert not any(token in text for token in tokens)
    assert "csrfmiddlewaretoken" not in text
    assert "sessionid" not in text.lower()
    # each secret is a placeholder with a comment naming the variable to set
    for variable, env in (("password", "CX_PASSWORD"), ("card_number", "CX_CARD_NUMBER"),
                          ("cvv", "CX_CVV")):
        assert f"  {variable}: ${{env:{env}}}   # secret: set {env}\n" in text
    assert "#   CX_PASSWORD              the value typed into login-password (step login)\n" in text


def test_typed_values_are_variables_and_the_form_keeps_its_own_fields(imported):
    import yaml

    out, _ = imported
    data = yaml.safe_load(out.read_text())
    assert data["base_url"] == "${base_url}"
    # the account's name and password are the variables the engine templates set (email, password)
    assert data["variables"]["email"] == "shopper@example.com"
    assert data["variables"]["city"] == "London"
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["login"]["submit_form"] == {
        "form": "#login_form", "button": "login_submit",
        "fields": {"login-username": "${email}", "login-password": "${password}"}}
    # hidden fields (sku, quantity, CSRF) are the form's: nothing typed, only the button clicked
    assert steps["add_w_1"]["submit_form"] == {"form": "#add_W-1", "button": "add_to_basket"}
    # a choice that differs from the page's default is written as chosen
    assert steps["shipping"]["submit_form"]["fields"] == {"method": "express"}
    assert steps["place_order"]["expect"] == {"status": 200, "url_matches": "/checkout/thank-you/$",
                                              "contains": "Thank you | CX Demo Shop"}
    assert steps["login_page"] == {"name": "login_page", "get": "/accounts/login/",
                                   "expect": {"status": 200, "contains": "Log in | CX Demo Shop"}}


def test_assets_analytics_and_other_hosts_are_left_out_and_counted(imported, checkout_har, shop_and_analytics):
    out, _ = imported
    shop, analytics = shop_and_analytics
    entries = har_entries(checkout_har)
    count = lambda kind: sum(e["_resourceType"] == kind for e in entries)
    text = out.read_text()
    # the stylesheet is an asset; the pixel (an image) and the beacon are analytics
    assert (f"# Left out of the recording: {count('ping') + count('image')} analytics requests, "
            f"{count('stylesheet')} static assets, 1 of the browser's own requests (favicon, ...), "
            "1 page request to another host.\n") in text
    other = analytics.url.split("//", 1)[1]
    assert f"#   other hosts, left out (--keep-host HOST keeps one): {other}\n" in text
    assert analytics.url not in text.split("\nname:", 1)[1]


def test_keep_host_keeps_the_other_hosts_page_requests(checkout_har, shop_and_analytics, tmp_path):
    """The recommendation service's call comes back as a step with its absolute URL, between the
    catalogue page and the form on it: the form is still the page's (the XHR did not replace it)."""
    shop, analytics = shop_and_analytics
    out = tmp_path / "kept.yaml"
    other = analytics.url.split("//", 1)[1]
    imported = run_plugin("cxcheck", "scenario", "import", str(checkout_har), "--keep-host", other, "-o", str(out))
    assert imported.code == 0, imported.stderr
    import yaml

    steps = yaml.safe_load(out.read_text())["steps"]
    names = [s["name"] for s in steps]
    assert names[2:5] == ["catalogue_page", "get_recommendations_json", "add_w_1"]
    assert steps[3]["get"] == f"{analytics.url}/recommendations.json"
    result = run_plugin("check_cx_checkout", "--scenario", str(out), env=SECRETS)
    assert result.code == 0, result.stdout
    assert "10 steps" in result.text


# ---------------------------------------------------------------------------------------------
# A single-page app: the page calls the shop's JSON API with fetch().


@pytest.fixture(scope="module")
def api_har(tmp_path_factory, shop_and_analytics) -> Path:
    shop, _ = shop_and_analytics

    def walk(b):
        b.navigate(shop.url + "/")
        b.evaluate("""(async () => {
            const login = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({email: 'shopper@example.com', password: %s})}).then(r => r.json());
            const auth = {'Authorization': 'Bearer ' + login.token, 'Content-Type': 'application/json'};
            const order = await fetch('/api/orders', {method: 'POST', headers: auth,
                body: JSON.stringify({sku: 'W-2', quantity: 1})}).then(r => r.json());
            await fetch('/api/orders/' + order.id, {headers: auth}).then(r => r.json());
        })()""" % json.dumps(PASSWORD), settle=True)

    return record(tmp_path_factory, "api", walk)


def test_api_calls_extract_the_token_and_the_order_id(api_har, tmp_path):
    out = tmp_path / "api.yaml"
    result = run_plugin("cxcheck", "scenario", "import", str(api_har), "--name", "api-order", "-o", str(out))
    assert result.code == 0, result.stderr
    import yaml

    text = out.read_text()
    steps = yaml.safe_load(text)["steps"]
    assert [s["name"] for s in steps] == ["home_page", "post_login", "post_orders", "get_orders"]
    assert steps[1]["json"] == {"email": "shopper@example.com", "password": "${password}"}
    assert steps[1]["extract"] == {"token": {"json": "token"}}
    assert steps[2]["headers"] == {"Authorization": "Bearer ${token}"}
    assert steps[2]["extract"] == {"order_id": {"json": "id"}}
    assert steps[3]["get"] == "/api/orders/${order_id}"
    assert "  password: ${env:CX_PASSWORD}   # secret: set CX_PASSWORD\n" in text
    tokens = [h["value"] for e in har_entries(api_har) for h in e["request"]["headers"] if h["name"] == "Authorization"]
    assert tokens and not any(t.split()[-1] in text for t in tokens)
    assert PASSWORD not in text
    run = run_plugin("check_cx_checkout", "--scenario", str(out), env={"CX_PASSWORD": PASSWORD})
    assert run.code == 0, run.stdout
    assert re.fullmatch(r"CX CHECKOUT OK - api-order \d+\.\d{3} s, 4 steps", run.text), run.status


# ---------------------------------------------------------------------------------------------
# Chrome DevTools Recorder exports


def recorder_export(url: str) -> dict:
    """The login and an order as the Recorder exports them (selector attribute: name)."""
    nav = lambda path, title: [{"type": "navigation", "url": url + path, "title": title}]
    return {"title": "Shop login", "selectorAttribute": "name", "steps": [
        {"type": "setViewport", "width": 1280, "height": 720, "deviceScaleFactor": 1, "isMobile": False,
         "hasTouch": False, "isLandscape": False},
        {"type": "navigate", "url": url + "/accounts/login/", "assertedEvents": nav("/accounts/login/",
                                                                                   "Log in | CX Demo Shop")},
        {"type": "click", "target": "main", "selectors": [["aria/Email"], ["[name='login-username']"],
                                                          ['xpath///*[@name="login-username"]']],
         "offsetX": 40, "offsetY": 9},
        {"type": "change", "value": "shopper@example.com", "target": "main",
         "selectors": [["aria/Email"], ["[name='login-username']"], ['xpath///*[@name="login-username"]'],
                       ["pierce/[name='login-username']"]]},
        {"type": "keyDown", "target": "main", "key": "Tab"},
        {"type": "keyUp", "key": "Tab", "target": "main"},
        {"type": "change", "value": PASSWORD, "target": "main",
         "selectors": [["aria/Password"], ["[name='login-password']"]]},
        {"type": "click", "target": "main", "selectors": [["aria/Log In"], ["[name='login_submit']"],
                                                          ["text/Log In"]], "offsetX": 20, "offsetY": 8,
         "assertedEvents": nav("/accounts/", "Your account | CX Demo Shop")},
        {"type": "click", "target": "main", "selectors": [['aria/Catalogue[role="link"]'], ["nav > a:nth-of-type(2)"],
                                                          ["text/Catalogue"]], "offsetX": 10, "offsetY": 5,
         "assertedEvents": nav("/catalogue/", "All products | CX Demo Shop")},
        {"type": "scroll", "target": "main", "x": 0, "y": 300},
        {"type": "click", "target": "main",
         "selectors": [['aria/Add to basket[role="button"]'], ["#add_W-1 > [name='add_to_basket']"],
                       ['xpath///*[@id="add_W-1"]/button'], ["text/Add to basket"]],
         "offsetX": 30, "offsetY": 7, "assertedEvents": nav("/basket/", "Your basket | CX Demo Shop")},
        {"type": "waitForElement", "target": "main", "selectors": [["text/Basket total"]]},
        {"type": "hover", "target": "main", "selectors": [["#checkout"]]},
    ]}


def test_recorder_export_imports_and_runs_green(shop_and_analytics, tmp_path):
    shop, _ = shop_and_analytics
    recording, out = tmp_path / "login.json", tmp_path / "login.yaml"
    recording.write_text(json.dumps(recorder_export(shop.url), indent=2))
    result = run_plugin("cxcheck", "scenario", "import", str(recording), "-o", str(out))
    assert result.code == 0, result.stderr
    assert result.stderr == (f"imported 4 steps from {recording} into {out}; set CX_PASSWORD before "
                             "running it; 6 Recorder steps not translated (listed at the top)\n")
    text = out.read_text()
    lines = text.splitlines()
    start = lines.index("# Recorder steps not translated (an HTTP journey cannot replay them):")
    assert lines[start:start + 8] == [
        "# Recorder steps not translated (an HTTP journey cannot replay them):",
        "#   step 1 (setViewport): a browser setting; an HTTP journey has no viewport",
        "#   step 3 (click): a click into a field: its value is in the change steps",
        "#   step 5 (keyDown): the key 'Tab' sends nothing by itself",
        "#   step 6 (keyUp): a key released: the typing is in the change steps",
        "#   step 10 (scroll): scrolling sends nothing",
        "#   step 13 (hover): hovering sends nothing",
        "",
    ]
    assert "#   CX_PASSWORD              the value typed into login-password (step login)" in lines
    import yaml

    data = yaml.safe_load(text)
    assert data["name"] == "Shop login"
    assert data["steps"] == [
        {"name": "login_page", "get": "/accounts/login/", "expect": {"contains": "Log in | CX Demo Shop"}},
        {"name": "login", "submit_form": {"fields": {"login-username": "${email}",
                                                      "login-password": "${password}"},
                                           "button": "login_submit"},
         "expect": {"url_matches": "/accounts/$", "contains": "Your account | CX Demo Shop"}},
        {"name": "catalogue_page", "get": "/catalogue/", "expect": {"contains": "All products | CX Demo Shop"}},
        {"name": "add_w_1", "submit_form": {"form": "#add_W-1", "button": "add_to_basket"},
         "expect": {"url_matches": "/basket/$", "contains": ["Your basket | CX Demo Shop", "Basket total"]}},
    ]
    assert PASSWORD not in text
    run = run_plugin("check_cx_checkout", "--scenario", str(out), env={"CX_PASSWORD": PASSWORD})
    assert run.code == 0, run.stdout
    assert re.fullmatch(r"CX CHECKOUT OK - Shop login \d+\.\d{3} s, 4 steps", run.text), run.status


def test_recorder_steps_that_cannot_be_translated_are_listed(tmp_path):
    url = "https://shop.example.com"
    flow = {"title": "odd", "steps": [
        {"type": "navigate", "url": url + "/search/"},
        {"type": "change", "value": "blue shoes", "selectors": [["aria/Search"], ["#q"]]},
        {"type": "click", "selectors": [["aria/Show more"], ["div.more"]]},
        {"type": "click", "selectors": [["#pay"]], "frame": [0]},
        {"type": "navigate", "url": "https://accounts.example.net/login"},
        {"type": "waitForExpression", "expression": "window.ready"},
        {"type": "customStep", "name": "x", "parameters": {}},
        {"type": "change", "value": "x", "selectors": [["[name='note']"]]},
    ]}
    recording = tmp_path / "odd.json"
    recording.write_text(json.dumps(flow))
    result = run_plugin("cxcheck", "scenario", "import", str(recording))
    assert result.code == 0, result.stderr
    listing = [line for line in result.stdout.splitlines() if line.startswith("#   step ")]
    assert listing == [
        "#   step 2 (change): no selector names the field (aria/Search, #q); add it to the fields of the next "
        "submit_form by hand",
        "#   step 3 (click): no page load followed it (the page's scripts did the work); an HTTP journey cannot "
        "replay that",
        "#   step 4 (click): in a frame or another tab: an HTTP journey sees one page",
        "#   step 5 (navigate): another host (accounts.example.net); --keep-host to keep it",
        "#   step 6 (waitForExpression): a JavaScript condition in the page; an HTTP journey runs no scripts",
        "#   step 7 (customStep): a custom step of a Recorder extension",
        "#   step 8 (change): fields typed at steps 8 were never submitted",
    ]
    assert "blue shoes" not in result.stdout


# ---------------------------------------------------------------------------------------------
# What goes wrong


BODYLESS_ADVICE = (
    "is there without its HTML, so the fields its form fills in itself (hidden ones, the CSRF token) cannot be told "
    "from those typed, and the scenario would be refused at that form. Save the HAR with content: in Chrome or Edge, "
    "DevTools > Network, tick Preserve log, walk the journey, then right-click a request > Save all as HAR with "
    "content (Chrome may drop a page's body once you navigate away; its Recorder panel > Export > JSON needs none); "
    "in Firefox, Network > gear menu > Persist Logs, then Save All As HAR (with about:config's "
    "devtools.netmonitor.har.includeResponseBodies true)")


def bodyless(checkout_har, tmp_path, strip) -> Path:
    data = json.loads(checkout_har.read_text())
    for entry in data["log"]["entries"]:
        strip(entry)
    path = tmp_path / "bare.har"
    path.write_text(json.dumps(data))
    return path


def test_a_har_saved_without_bodies_would_fail_at_its_first_form(checkout_har, shop_and_analytics, tmp_path):
    """What the importer refuses is what would happen: the recorded fields sent blind, the site
    refuses the journey at its forms, at every run (here: the recorded CSRF token, now stale)."""
    shop, _ = shop_and_analytics
    login = next(e for e in har_entries(checkout_har) if e["request"]["method"] == "POST"
                 and e["request"]["url"] == shop.url + "/accounts/login/")
    sent = dict(parse_qsl(login["request"]["postData"]["text"]))
    assert "csrfmiddlewaretoken" in sent
    path = tmp_path / "blind.yaml"
    path.write_text("name: blind\nbase_url: " + shop.url + "\nsteps:\n  - name: login_page\n    get: /accounts/login/\n"
                    "  - name: login\n    post: /accounts/login/\n    form: " + json.dumps(sent) + "\n")
    result = run_plugin("check_cx_checkout", "--scenario", str(path), "-t", "30")
    assert result.code == 2 and "failed at step login: HTTP 403" in result.text, result.stdout


@pytest.mark.parametrize("browser, strip", [
    # Chrome and others: no content text at all
    ("chrome", lambda entry: entry["response"]["content"].pop("text", None)),
    # Firefox with devtools.netmonitor.har.includeResponseBodies false: a comment where the text was
    ("firefox", lambda entry: entry["response"]["content"].update(
        {"text": None, "comment": "Response bodies are not included."})
        if "text" in entry["response"]["content"] else None),
])
def test_a_har_saved_without_bodies_is_refused_with_how_to_save_it(checkout_har, tmp_path, browser, strip):
    bare, out = bodyless(checkout_har, tmp_path, strip), tmp_path / "bare.yaml"
    result = run_plugin("cxcheck", "scenario", "import", str(bare), "-o", str(out))
    assert (result.code, result.stdout) == (3, "")
    assert result.stderr == (f"error: {bare}: saved without response bodies: the page /accounts/login/ "
                             f"{BODYLESS_ADVICE}\n")
    assert not out.exists()


def test_a_har_without_bodies_but_without_forms_imports(checkout_har, tmp_path):
    """Pages read without a form submitted from them need no body: such a journey still imports."""
    data = json.loads(checkout_har.read_text())
    data["log"]["entries"] = [e for e in data["log"]["entries"] if e["request"]["method"] == "GET"]
    for entry in data["log"]["entries"]:
        entry["response"]["content"].pop("text", None)
    bare, out = tmp_path / "gets.har", tmp_path / "gets.yaml"
    bare.write_text(json.dumps(data))
    result = run_plugin("cxcheck", "scenario", "import", str(bare), "-o", str(out))
    assert result.code == 0, result.stderr
    assert run_plugin("cxcheck", "scenario", "check", str(out)).code == 0


def test_a_har_without_resource_types_imports_the_same(checkout_har, imported, tmp_path):
    """Firefox and others write no _resourceType: documents, assets and analytics are told apart by
    their MIME types and paths, and the scenario comes out the same."""
    data = json.loads(checkout_har.read_text())
    for entry in data["log"]["entries"]:
        entry.pop("_resourceType")
    plain, out = tmp_path / "plain.har", tmp_path / "plain.yaml"
    plain.write_text(json.dumps(data))
    result = run_plugin("cxcheck", "scenario", "import", str(plain), "-o", str(out))
    assert result.code == 0, result.stderr
    body = lambda path: path.read_text().split("\nname:", 1)[1]
    assert body(out) == body(imported[0])


def test_cookies_the_browser_already_had_are_placeholders_or_left_out(checkout_har, tmp_path):
    """A session cookie from before the recording is a credential: an ${env:...} placeholder on the
    requests that sent it. An analytics cookie is left out, and said so."""
    data = json.loads(checkout_har.read_text())
    first = data["log"]["entries"][0]["request"]
    first["headers"].append({"name": "Cookie", "value": "remember_token=tok-1234567890; _ga=GA1.2.345"})
    path, out = tmp_path / "cookies.har", tmp_path / "cookies.yaml"
    path.write_text(json.dumps(data))
    result = run_plugin("cxcheck", "scenario", "import", str(path), "-o", str(out))
    assert result.code == 0, result.stderr
    text = out.read_text()
    assert "tok-1234567890" not in text and "GA1.2.345" not in text
    import yaml

    data = yaml.safe_load(text)
    assert data["steps"][0]["headers"] == {"Cookie": "remember_token=${cookie_remember_token}"}
    assert data["variables"]["cookie_remember_token"] == "${env:CX_COOKIE_REMEMBER_TOKEN}"
    assert "#   cookie '_ga' was in the browser before the recording (not set by the journey): not sent\n" in text


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                               st.sampled_from(["log", "entries", "request", "response", "method", "url", "status",
                                                "headers", "name", "value", "postData", "params", "text", "mimeType",
                                                "content", "steps", "type", "selectors", "assertedEvents", "title",
                                                "_resourceType", "key", "x"]), inner, max_size=5), max_leaves=25)
urls = st.sampled_from(["https://shop.example.com/", "https://shop.example.com/a?b=1", "http://x/y", "ftp://z", ""])


@settings(max_examples=300, deadline=None)
@given(data=json_values, url=urls, method=st.sampled_from(["GET", "POST", 7]),
       kind=st.sampled_from(["document", "xhr", "navigate", "change", "click", None]))
def test_any_recording_gives_a_scenario_or_one_clean_error(data, url, method, kind):
    """Whatever the file holds: a scenario that validates, or a ConfigError; never a traceback."""
    from cxcheck.runtime import ConfigError
    from cxcheck.scenario_import import draft, render, validate

    shaped = [data,
              {"log": {"entries": [{"request": {"method": method, "url": url, "headers": data if isinstance(data, list)
                                                else []}, "response": {"status": 200, "content": data},
                                    "_resourceType": kind}]}},
              {"title": "t", "steps": [{"type": "navigate", "url": url}, {"type": kind, "selectors": data,
                                                                          "value": url, "assertedEvents": data}]}]
    for recording in shaped:
        try:
            result, what, dropped = draft("f", recording, None, [])
            if not result.steps:
                continue
            result.scrub()
            validate(render(result, "f", what, dropped, "out.yaml"), "out.yaml")
        except ConfigError:
            pass


@pytest.mark.parametrize("content, message", [
    ("not json", "error: {path}: not JSON (line 1 column 1: Expecting value); a HAR file or a Recorder export is JSON"),
    ('{"some": "thing"}', "error: {path}: neither a HAR file (log.entries) nor a Recorder export (title, steps)"),
    ('{"log": {"entries": []}}', "error: the recording has no page request (no document, XHR or fetch that got an "
                                 "answer)"),
    ('{"log": {"entries": [{"request": {}}]}}', "error: {path}: entry 1: needs request.method, request.url and "
                                                "response.status"),
    ('{"title": "x", "steps": [{"type": "click"}]}', "error: {path}: the recording has no navigate step to an "
                                                     "http(s) page: it must start on a page"),
])
def test_bad_recordings_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.har"
    path.write_text(content)
    result = run_plugin("cxcheck", "scenario", "import", str(path))
    assert (result.code, result.stdout) == (3, "")
    assert result.stderr == message.format(path=path) + "\n"


def test_a_missing_recording_is_one_line(tmp_path):
    result = run_plugin("cxcheck", "scenario", "import", str(tmp_path / "nope.har"))
    assert (result.code, result.stderr) == (3, f"error: cannot read {tmp_path / 'nope.har'}: No such file or directory\n")


def test_the_readme_tour_ends_in_a_nagios_service_that_runs(imported, shop_and_analytics, tmp_path):
    """The README's tour, steps 4 and 5: the imported scenario with the password in a file, as the
    service `cxcheck config` writes for it, run by the command line Nagios would build from the
    shipped command and templates."""
    import shlex
    import subprocess
    import sys

    from conftest import plugin_env
    from engines import TEMPLATES, nagios_blocks

    shop, _ = shop_and_analytics
    out, _ = imported
    secret = tmp_path / "shop.password"
    secret.write_text(PASSWORD + "\n")
    result = run_plugin("cxcheck", "config", "check_cx_checkout", "--scenario", str(out), "--var-file",
                        f"password={secret}", "-w", "30", "--host", "shop")
    assert result.code == 0, result.stderr
    assert ("# The scenario reads CX_CARD_NUMBER from the environment: set it in the engine's environment, or give its "
            "variable by file (--var-file NAME=PATH).\n") in result.stdout
    service = next(d for kind, d, _ in nagios_blocks(result.stdout) if kind == "service")
    commands = {d["command_name"]: d for kind, d, _ in
                nagios_blocks((TEMPLATES / "nagios" / "cxcheck-commands.cfg").read_text()) if kind == "command"}
    # the command's options after the `!`, as the core reads them ($$, \! and \; escaped)
    command, _, argument = service["check_command"].partition("!")
    argument = argument.replace("\\!", "!").replace("$$", "$")
    argv = shlex.split(commands[command]["command_line"].replace("$ARG1$", argument))
    assert "--var" not in argv          # the scenario's own base_url and email apply, as the command ran
    run = subprocess.run([sys.executable, "-m", "cxcheck.checks.checkout", *argv[1:]], capture_output=True, text=True,
                         timeout=60, env=plugin_env({"CX_CARD_NUMBER": CARD, "CX_CVV": CVV}))
    assert run.returncode == 0, run.stdout
    assert re.match(r"CX CHECKOUT OK - 127\.0\.0\.1 \d+\.\d{3} s, 9 steps \| ", run.stdout), run.stdout


def test_the_readme_tour_commands_are_accepted():
    """The tour's commands, as the README writes them, are accepted by the parsers that will read them."""
    import shlex

    from cxcheck.cli import build_parser
    from cxcheck.engines.config import _own_options, plugin_entry
    from cxcheck.plugin_table import BY_NAME

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    tour = readme.split("## Your own journey", 1)[1].split("\n## ", 1)[0].replace("\\\n", " ")
    commands = re.findall(r"((?:cxcheck (?:scenario|config)|check_cx_\w+) [^`]*?)(?:`|\n\s*```)", tour)
    assert len(commands) == 4, commands
    for command in commands:
        words = shlex.split(command)
        if words[0].startswith("check_cx_"):
            BY_NAME[words[0]].build_parser().parse_args(words[1:])
            continue
        args = build_parser().parse_args(words[1:])
        if args.command == "config":
            own, argv = _own_options(args, args.options)
            plugin_entry(args.plugin).build_parser().parse_args(argv)
