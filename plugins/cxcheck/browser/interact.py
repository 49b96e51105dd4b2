"""Finding a step's element and acting on it, within the time the step has.

A target is found by CSS selector, by the text of its <label> or by its visible text (case,
spacing and a trailing colon or asterisk aside), or, for check_cx_login, as the login form's
parts. A page built by JavaScript shows its elements late: the search repeats until the element
is there, visible (and enabled, to be typed into or clicked) or the step's time is up; then the
step fails with what was wrong ("no element matches label=Email"), which is not a timeout.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from cxcheck.runtime import SourceError, masker

POLL = 0.05                 # seconds between two looks for an element that is not there yet
KEYS = {"Enter": "\ue007", "Tab": "\ue004", "Escape": "\ue00c"}    # WebDriver key code points

# arguments: kind (css, label, text, login), value, whether it must be enabled.
# Answers {state: ok, element} or {state: missing|hidden|disabled|invalid}.
FIND_JS = r"""const [kind, value, enabled] = arguments;
const norm = (text) => (text || "").replace(/\s+/g, " ").trim().replace(/\s*[:*]+$/, "");
const wanted = norm(value);
// Exact text first; only when nothing has it, the same text in another case (CSS text-transform).
const same = (text) => norm(text) === wanted;
const alike = (text) => norm(text).toLowerCase() === wanted.toLowerCase();
const pick = (elements, textOf) => {
  const exact = elements.filter((el) => same(textOf(el)));
  return exact.length ? exact : elements.filter((el) => alike(textOf(el)));
};
const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
const all = (css, root) => Array.from((root || document).querySelectorAll(css));
const CONTROLS = "input, select, textarea, button";
const labelText = (label) => {
  const copy = label.cloneNode(true);
  copy.querySelectorAll(CONTROLS).forEach((control) => control.remove());
  return copy.textContent;
};
const ownText = (el) => (el.tagName === "INPUT" ? el.value : (el.innerText || el.textContent));
const login = (part) => {
  const passwords = all("input[type=password]").filter(shown);
  const password = passwords.find((input) => {
    const scope = input.form || document;
    return all("input[type=password]", scope).filter(shown).length === 1;
  });
  if (!password) return [];
  if (part === "password") return [password];
  const scope = password.form || document;
  const before = (el) => el.compareDocumentPosition(password) & Node.DOCUMENT_POSITION_FOLLOWING;
  if (part === "username") {
    const texts = all("input", scope).filter((el) => /^(text|email|tel|)$/.test(el.type) && shown(el) && before(el));
    return texts.slice(-1);
  }
  const buttons = all("button, input[type=submit], input[type=image]", scope)
    .filter((el) => !/^(button|reset)$/.test(el.getAttribute("type") || "") && shown(el));
  return password.form ? buttons : buttons.filter((el) => !before(el));
};
let found = [];
if (kind === "css") {
  try { found = all(value); } catch (error) { return {state: "invalid"}; }
} else if (kind === "label") {
  found = pick(all("label").filter((label) => label.control), labelText).map((label) => label.control);
  if (!found.length) found = pick(all("[aria-label]"), (el) => el.getAttribute("aria-label"));
} else if (kind === "text") {
  found = pick(all("button, a, input[type=submit], input[type=button], [role=button], [role=link], summary"),
               ownText);
  if (!found.length) {
    const matching = pick(all("body *"), ownText);
    found = matching.filter((el) => !matching.some((other) => other !== el && el.contains(other)));
  }
} else if (kind === "login") {
  found = login(value);
}
if (!found.length) return {state: "missing"};
const visible = found.filter(shown);
if (!visible.length) return {state: "hidden"};
const usable = enabled ? visible.filter((el) => !el.disabled && !el.closest("fieldset[disabled]")) : visible;
if (!usable.length) return {state: "disabled"};
return {state: "ok", element: usable[0]};"""

# arguments: texts, selectors. What expectations are checked against, in one round trip.
FACTS_JS = r"""const [texts, selectors] = arguments;
const body = document.body ? document.body.innerText : "";
const matches = (css) => { try { return document.querySelector(css) !== null; } catch (error) { return null; } };
return {url: location.href, title: document.title, texts: texts.map((text) => body.includes(text)),
        selectors: selectors.map(matches)};"""

NAVIGATION_GRACE = 0.1     # seconds an action's navigation has to show itself
MARK_JS = "window.__cxStep = arguments[0];"
MARKED_JS = "return window.__cxStep === arguments[0];"


class ElementError(Exception):
    """The step's element is not there (or not usable) in its time, or the action failed on it."""


class ActionTimedOut(Exception):
    """An action's page load did not finish in the time Selenium was given."""


def describe(kind: str, value: str) -> str:
    """The target as the scenario wrote it, masked: it may hold a variable's value."""
    return masker.mask(value if kind == "css" else f"{kind}={value}")


def find(browser, kind: str, value: str, until: float, enabled: bool = False):
    """The element a target names, looked for until `until` (time.monotonic())."""
    target = describe(kind, value)
    while True:
        answer = _script(browser, FIND_JS, kind, value, enabled) or {}
        state = answer.get("state")
        if state == "ok":
            return answer["element"]
        if state == "invalid":
            raise ElementError(f"{target} is not a valid CSS selector")
        left = until - time.monotonic()
        if left <= 0:
            if state == "hidden":
                raise ElementError(f"{target} is on the page but not visible")
            if state == "disabled":
                raise ElementError(f"{target} is disabled")
            raise ElementError(f"no element matches {target}")
        time.sleep(min(POLL, left))


def present(browser, kind: str, value: str) -> bool:
    """Whether the target is on the page and visible now (one look, no waiting)."""
    return (_script(browser, FIND_JS, kind, value, False) or {}).get("state") == "ok"


def has_cookie(browser, name: str) -> bool:
    from selenium.common.exceptions import WebDriverException

    browser.bound()
    try:
        return browser.driver.get_cookie(name) is not None
    except WebDriverException as exc:
        raise SourceError(f"the browser failed: {_first_line(exc)}") from None


def wait_for_text(browser, text: str, until: float):
    while not facts(browser, [text], [])["texts"][0]:
        left = until - time.monotonic()
        if left <= 0:
            raise ElementError(f"the page does not show {masker.mask(repr(text))}")
        time.sleep(min(POLL, left))


def facts(browser, texts: list, selectors: list) -> dict:
    """The page's URL and title, which of the texts it shows, which selectors match (None: invalid)."""
    return _script(browser, FACTS_JS, list(texts), list(selectors))


def act(browser, action: str, element, target: str, value: str | None = None):
    """Do a step's action (fill, click, press, check, select) on its element; what went wrong
    comes back as one line naming the target."""
    target = masker.mask(target)
    if action == "fill":
        _act(lambda: (element.clear(), element.send_keys(value)), f"{target} could not be filled in")
    elif action == "click":
        _act(element.click, f"{target} could not be clicked")
    elif action == "press":
        _act(lambda: element.send_keys(KEYS.get(value, value)), f"{target} did not take the key {masker.mask(value)}")
    elif action == "check":
        _act(lambda: element.is_selected() or element.click(), f"{target} could not be ticked")
    elif action == "select":
        _act(lambda: _choose(element, target, value), f"{target}: no option could be chosen")
    else:
        raise ValueError(action)


def _choose(element, target: str, option: str):
    from selenium.common.exceptions import NoSuchElementException, UnexpectedTagNameException
    from selenium.webdriver.support.select import Select

    try:
        menu = Select(element)
    except UnexpectedTagNameException:
        raise ElementError(f"{target} is not a <select>") from None
    try:
        menu.select_by_visible_text(option)
    except NoSuchElementException:
        try:
            menu.select_by_value(option)
        except NoSuchElementException:
            raise ElementError(f"{target} has no option {masker.mask(repr(option))}") from None


def mark(browser) -> str:
    """Mark the document now shown, to tell after an action whether another one replaced it."""
    token = f"{time.monotonic_ns()}"
    _script(browser, MARK_JS, token)
    return token


def navigated(browser, token: str) -> bool:
    return not _script(browser, MARKED_JS, token)


def navigation_follows(browser, token: str, until: float, grace: float = NAVIGATION_GRACE) -> bool:
    """Whether an action's navigation replaced the document: chromedriver returns from a click
    before a form's submission has started its navigation, so look for `grace` seconds, and for
    as long as a document request is on its way (a slow POST), up to `until`."""
    started = time.monotonic()
    while not navigated(browser, token):
        now = time.monotonic()
        if now >= until or (now - started >= grace and not browser.loading_document()):
            return False
        time.sleep(POLL / 5)
    return True


def current_url(browser) -> str:
    return _script(browser, "return location.href;") or ""


@contextmanager
def within(browser, deadline):
    """Page loads and scripts of the block bounded by `deadline` (a step's own timeout) instead
    of the run's; None leaves the run's."""
    if deadline is None:
        yield
        return
    outer, browser.deadline = browser.deadline, deadline
    try:
        yield
    finally:
        browser.deadline = outer


def _script(browser, script: str, *args):
    from selenium.common.exceptions import JavascriptException, TimeoutException, WebDriverException

    browser.bound()
    try:
        return browser.driver.execute_script(script, *args)
    except TimeoutException:
        raise ActionTimedOut() from None
    except JavascriptException as exc:
        raise ElementError(f"the page's script failed: {_first_line(exc)}") from None
    except WebDriverException as exc:
        raise SourceError(f"the browser failed: {_first_line(exc)}") from None


def _act(action, failed: str):
    """Run an action on an element; Selenium's errors become one line starting with `failed`."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        InvalidElementStateException,
        StaleElementReferenceException,
        TimeoutException,
        WebDriverException,
    )

    try:
        action()
    except TimeoutException:
        raise ActionTimedOut() from None
    except ElementClickInterceptedException:
        raise ElementError(f"{failed}: another element covers it") from None
    except StaleElementReferenceException:
        raise ElementError(f"{failed}: the page replaced it") from None
    except (ElementNotInteractableException, InvalidElementStateException) as exc:
        raise ElementError(f"{failed}: {_first_line(exc)}") from None
    except WebDriverException as exc:
        raise SourceError(f"the browser failed: {_first_line(exc)}") from None


def _first_line(exc) -> str:
    from cxcheck.browser.session import first_line

    return first_line(exc)
