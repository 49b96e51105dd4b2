"""Pages only a browser can use, for check_cx_page and browser journeys: what an HTTP client
cannot see, a browser must.

- /spa/login/: no <form> in the HTML; /spa/login.js fetches the CSRF token from /spa/session and
  builds the login form, which posts to the HTML login (/accounts/login/) and lands on /accounts/.
- /catalogue/slow-widget/: an async "third-party" script, /3p/widget.js, answered after ?ms=
  (default 2000, at most 60000), so the load event waits for it while the content is long there;
  and an image that does not exist (404).
- /js-error/: a page whose script throws.
- /busy-loop/: a page whose script never ends (an endless loop): no load event, and a renderer
  that answers nothing until it is killed; what a browser check's deadline must hold against.
- /favicon.ico: a browser asks for it on every page; a 404 there would be a failed resource
  everywhere, hiding the deliberate one.

Everything is served by the shop itself: no external URL, so a browser under test talks to
127.0.0.1 only.
"""

from __future__ import annotations

from cxcheck.demo.shop import pages

JAVASCRIPT = "text/javascript; charset=utf-8"
WIDGET_DEFAULT_MS, WIDGET_MAX_MS = 2000, 60_000
MISSING_IMAGE = "/images/missing-widget.png"
JS_ERROR = "cxshop demo: the order tracker failed to start"
FAVICON = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"       # a 1x1 PNG
                        "0000000d49444154789c63d0cbbef81f00049f026ae7714e500000000049454e44ae426082")

SPA_LOGIN_JS = """\
// The login form of /spa/login/, built in the browser: the HTML the shop serves has none.
(() => {
  "use strict";
  const app = document.getElementById("app");
  const next = new URLSearchParams(location.search).get("next") || "";
  const make = (tag, props) => Object.assign(document.createElement(tag), props);
  const field = (label, type, name, id, autocomplete) => {
    const wrapper = make("label", {htmlFor: id, textContent: label + " "});
    wrapper.append(make("input", {type, name, id, required: true, autocomplete}));
    return wrapper;
  };
  fetch("/spa/session", {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then((answer) => {
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      return answer.json();
    })
    .then((session) => {
      const form = make("form", {id: "spa_login_form", method: "post", action: "/accounts/login/"});
      form.append(
        make("input", {type: "hidden", name: "csrfmiddlewaretoken", value: session.csrf}),
        make("input", {type: "hidden", name: "redirect_url", value: next}),
        field("Email", "email", "login-username", "spa-email", "username"),
        field("Password", "password", "login-password", "spa-password", "current-password"),
        make("button", {type: "submit", name: "login_submit", value: "Log In", id: "spa-submit",
                        textContent: "Log In"}));
      app.replaceChildren(form);
    })
    .catch((error) => { app.textContent = "The login form could not be loaded: " + error.message; });
})();
"""

WIDGET_JS = """\
// A "third-party" reviews widget: slow to arrive, then fills its box.
(() => {
  const box = document.getElementById("reviews");
  if (box) box.textContent = "Rated 4.5 of 5 by 128 customers";
  document.documentElement.dataset.widget = "loaded";
})();
"""


def spa_login(user) -> str:
    return pages.layout("Log in", """<h1>Log in</h1>
<div id="app"><p>Loading the login form&hellip;</p></div>
<noscript><p>This page needs JavaScript.</p></noscript>
<script src="/spa/login.js" defer></script>""", user)


def slow_widget(user, widget_src: str) -> str:
    return pages.layout("Widget", f"""<h1>Widget</h1>
<p class="product">SKU W-1 &middot; 9.99: the widget every shop monitors.</p>
<img src="{MISSING_IMAGE}" alt="Widget photo" width="120" height="120">
<h2>Reviews</h2>
<div id="reviews">Loading reviews&hellip;</div>
<script async src="{pages.esc(widget_src)}"></script>""", user)


def js_error(user) -> str:
    return pages.layout("Track your order", f"""<h1>Track your order</h1>
<p>Enter your order number to see where it is.</p>
<label>Order number <input id="order-number" name="order"></label>
<button id="track" type="button" disabled>Track</button>
<script>
  document.getElementById("track").disabled = false;
  throw new Error("{JS_ERROR}");
</script>""", user)


def busy_loop(user) -> str:
    return pages.layout("Busy", """<h1>Busy</h1>
<p>The script below never ends: this page never finishes loading.</p>
<script>for (;;) { /* the endless loop of a broken script */ }</script>""", user)


class BrowserRoutes:
    """Request handler part: the pages above and the scripts and JSON they load."""

    def r_spa_login(self):
        self.html(spa_login(self.session().user))

    def r_spa_login_js(self):
        self.respond(200, SPA_LOGIN_JS, JAVASCRIPT)

    def r_spa_session(self):
        s = self.session()
        self.json(200, {"csrf": s.csrf, "user": s.user}, {"Cache-Control": "no-store"})

    def widget_ms(self) -> int:
        return int(self.query_number("ms", WIDGET_DEFAULT_MS, 0, WIDGET_MAX_MS))

    def r_slow_widget(self):
        src = f"/3p/widget.js?ms={self.widget_ms()}" if "ms" in self.query else "/3p/widget.js"
        self.html(slow_widget(self.session().user, src))

    def r_widget_js(self):
        self.shop.stopping.wait(self.widget_ms() / 1000)
        self.respond(200, WIDGET_JS, JAVASCRIPT)

    def r_js_error(self):
        self.html(js_error(self.session().user))

    def r_busy_loop(self):
        self.html(busy_loop(self.session().user))

    def r_favicon(self):
        self.respond(200, FAVICON, "image/png", {"Cache-Control": "max-age=86400"})
