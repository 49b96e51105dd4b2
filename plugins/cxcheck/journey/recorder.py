"""Chrome DevTools Recorder exports (JSON: a title and steps such as navigate, change, click,
keyDown), read as an HTTP journey.

What an HTTP journey can replay is translated: a `navigate` is a GET; `change` steps fill the
fields of the form that a following click or Enter submits (a click or Enter that the Recorder
saw load a page); a click on a link that loaded a page is a GET of that page; a `waitForElement`
on a text is an expectation of the step before it. Field names come from the selectors (a
`[name=...]` part, or `@name` in an XPath; record with the Recorder's selector attribute set to
`name` to have them everywhere). Everything else is listed with the reason it was not translated,
never dropped silently. The Recorder writes what was typed in plain text: passwords and the like
become `${env:...}` placeholders here too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cxcheck.journey.draft import Draft
from cxcheck.runtime import ConfigError

NAME_ATTRIBUTE = re.compile(r"""\[name\s*=\s*(?:"([^"]+)"|'([^']+)'|([^\]\s"']+))\s*\]|@name\s*=\s*["']([^"']+)["']""")
FORM_ID = re.compile(r"^(?:form)?#([A-Za-z][\w-]*)")
FIELD_HINT = re.compile(r"\binput\b|\btextarea\b|\bselect\b|role=\"?(textbox|combobox|searchbox|spinbutton)", re.I)
BUTTON_HINT = re.compile(r"\bbutton\b|type=['\"]?submit|role=\"?button", re.IGNORECASE)
PASSWORD_HINT = re.compile(r"passw", re.IGNORECASE)
REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")
IGNORED = {
    "setViewport": "a browser setting; an HTTP journey has no viewport",
    "emulateNetworkConditions": "a browser setting; the check runs on the poller's own network",
    "scroll": "scrolling sends nothing",
    "hover": "hovering sends nothing",
    "keyUp": "a key released: the typing is in the change steps",
    "close": "closing the page sends nothing",
    "customStep": "a custom step of a Recorder extension",
    "waitForExpression": "a JavaScript condition in the page; an HTTP journey runs no scripts",
}


class RecorderError(ConfigError):
    """A file that is not a Recorder export this importer can read."""


def _selectors(step) -> list[str]:
    """A step's selectors flattened to strings (a list is a chain through frames or shadow roots)."""
    selectors = step.get("selectors")
    out = []
    for selector in selectors if isinstance(selectors, list) else []:
        parts = selector if isinstance(selector, list) else [selector]
        if parts and all(isinstance(part, str) for part in parts):
            out.append(" >>> ".join(parts))
    return out


def field_name(selectors: list[str]) -> str | None:
    for selector in selectors:
        match = NAME_ATTRIBUTE.search(selector)
        if match:
            return next(g for g in match.groups() if g)
    return None


def form_selector(selectors: list[str]) -> str | None:
    """'#id' of the form a selector is anchored at, when the id says it is a form or the element is
    its direct child; otherwise None and the form is the one whose fields match best."""
    for selector in selectors:
        if selector.startswith(("aria/", "text/", "xpath/", "pierce/")):
            continue
        match = FORM_ID.match(selector)
        if match and ("form" in match.group(1).lower() or re.match(r"^(?:form)?#[\w-]+ > [^ >]+$", selector)):
            return f"#{match.group(1)}"
    return None


def _navigation(step) -> dict | None:
    events = step.get("assertedEvents")
    return next((e for e in (events if isinstance(events, list) else []) if isinstance(e, dict)
                 and e.get("type") == "navigation"), None)


class Translation:
    """One pass over the Recorder's steps."""

    def __init__(self, steps: list, name: str, keep_hosts=()):
        first = next((s.get("url") for s in steps if isinstance(s, dict) and s.get("type") == "navigate"), None)
        if not isinstance(first, str) or not first.startswith(("http://", "https://")):
            raise RecorderError("the recording has no navigate step to an http(s) page: it must start on a page")
        parts = urlsplit(first)
        self.draft = Draft(f"{parts.scheme}://{parts.netloc}", name)
        self.hosts = {parts.netloc.lower()} | {h.lower() for h in keep_hosts}
        self.steps = steps
        self.fields: dict[str, tuple[str, bool]] = {}    # pending: field name -> (value, a password?)
        self.form: str | None = None
        self.filled_at: list[int] = []
        self.typed_names = {field_name(_selectors(s)) for s in steps
                            if isinstance(s, dict) and s.get("type") == "change"}

    def skip(self, number: int, kind: str, reason: str):
        self.draft.untranslated.append((number, kind, reason))

    def run(self) -> Draft:
        for number, step in enumerate(self.steps, 1):
            if not isinstance(step, dict) or not isinstance(step.get("type"), str):
                raise RecorderError(f"step {number}: a Recorder step is an object with a type")
            kind = step["type"]
            if step.get("frame") or step.get("target", "main") != "main":
                self.skip(number, kind, "in a frame or another tab: an HTTP journey sees one page")
            elif kind in IGNORED:
                self.skip(number, kind, IGNORED[kind])
            else:
                handler = getattr(self, f"on_{kind}", None)
                if handler is None:
                    self.skip(number, kind, "a step type this importer does not know")
                else:
                    handler(number, step)
        self._unsubmitted()
        return self.draft

    # -- handlers, one per translatable step type ---------------------------------------------
    def on_navigate(self, number, step):
        self._unsubmitted()
        self._get(number, step, str(step.get("url") or ""), "navigate")

    def on_change(self, number, step):
        selectors = _selectors(step)
        name = field_name(selectors)
        if name is None:
            shown = ", ".join(selectors[:2]) or "no selector"
            self.skip(number, "change", f"no selector names the field ({shown}); add it to the fields of the "
                                        "next submit_form by hand")
            return
        value = str(step.get("value", ""))
        self.fields[name] = (value, any(PASSWORD_HINT.search(s) for s in selectors))
        self.form = self.form or form_selector(selectors)
        self.filled_at.append(number)

    def on_click(self, number, step):
        selectors = _selectors(step)
        navigation = _navigation(step)
        if navigation is None:
            if any(FIELD_HINT.search(s) for s in selectors) or field_name(selectors) in self.typed_names - {None}:
                self.skip(number, step["type"], "a click into a field: its value is in the change steps")
            else:
                self.skip(number, step["type"], "no page load followed it (the page's scripts did the work); "
                                                "an HTTP journey cannot replay that")
            return
        if self.fields or any(BUTTON_HINT.search(s) for s in selectors):
            self._submit(number, step, selectors, navigation)
        elif navigation.get("url"):
            self._get(number, step, str(navigation["url"]), "link")
        else:
            self.skip(number, step["type"], "a page loaded, but the Recorder did not say which")

    on_doubleClick = on_click

    def on_keyDown(self, number, step):
        navigation = _navigation(step)
        if step.get("key") == "Enter" and navigation is not None:
            self._submit(number, step, [], navigation)
        else:
            self.skip(number, "keyDown", f"the key {step.get('key')!r} sends nothing by itself")

    def on_waitForElement(self, number, step):
        texts = [s[len("text/"):] for s in _selectors(step) if s.startswith("text/")]
        count = step.get("count", 1)
        if texts and self.draft.steps and step.get("operator", ">=") in (">=", "==") \
                and isinstance(count, int) and count >= 1:
            expect = self.draft.steps[-1].setdefault("expect", {})
            expect.setdefault("contains", [])
            if isinstance(expect["contains"], str):
                expect["contains"] = [expect["contains"]]
            expect["contains"].append(texts[0])
        else:
            self.skip(number, "waitForElement", "waits for an element in the live page; only a text can be "
                                                "checked in the HTML (a text/ selector)")

    # -- steps of the journey -----------------------------------------------------------------
    def _kept(self, number, kind, url) -> bool:
        if not url.startswith(("http://", "https://")):
            self.skip(number, kind, f"not an http(s) page: {url[:60]}")
            return False
        if urlsplit(url).netloc.lower() not in self.hosts:
            self.skip(number, kind, f"another host ({urlsplit(url).netloc}); --keep-host to keep it")
            return False
        return True

    def _get(self, number, step, url, why):
        if not self._kept(number, step["type"], url):
            return
        path = [p for p in urlsplit(url).path.split("/") if p]
        name = self.draft.step_name(f"{path[-1] if path else 'home'}_page")
        self.draft.steps.append({"name": name, "get": self.draft.url(url), "expect": self._expect(step, None, False)})

    def _submit(self, number, step, selectors, navigation):
        draft = self.draft
        url = str(navigation.get("url") or "")
        if url and not self._kept(number, step["type"], url):
            return
        if not draft.steps:
            self.skip(number, step["type"], "a form submitted before any page was opened")
            return
        button = field_name(selectors)
        button = None if button in self.fields else button
        form = self.form or form_selector(selectors)
        stem = re.sub(r"[-_]?form$", "", (form or "").lstrip("#")) or \
            re.sub(r"[-_]?(submit|button|btn)$", "", button or "") or "submit"
        name = draft.step_name(stem)
        spec = {}
        if form:
            spec["form"] = form
        if self.fields:
            spec["fields"] = {field: draft.typed(field, value, secret=password, where=f"step {name}",
                                                 kind="password" if password else "")
                              for field, (value, password) in self.fields.items()}
        if button:
            spec["button"] = button
        draft.steps.append({"name": name, "submit_form": spec, "expect": self._expect(step, navigation, True)})
        self.fields, self.form, self.filled_at = {}, None, []

    def _unsubmitted(self):
        if self.fields:
            numbers = ", ".join(str(n) for n in self.filled_at)
            self.skip(self.filled_at[0], "change", f"fields typed at steps {numbers} were never submitted")
            self.fields, self.form, self.filled_at = {}, None, []

    def _expect(self, step, navigation, submitted: bool) -> dict:
        navigation = navigation or _navigation(step) or {}
        expect = {}
        if navigation.get("url") and submitted:      # where a form lands is part of its outcome
            expect["url_matches"] = REGEX_SPECIAL.sub(r"\\\1", self.draft.url(str(navigation["url"]))) + "$"
        title = navigation.get("title")
        if isinstance(title, str) and title.strip() and not re.search(r"[&<>\"']", title):
            expect["contains"] = title.strip()
        return expect


def draft_from_flow(flow: dict, source: str, name: str | None = None, keep_hosts=()) -> Draft:
    if not isinstance(flow, dict) or not isinstance(flow.get("steps"), list):
        raise RecorderError(f"{source}: not a Recorder export (no steps list)")
    title = flow.get("title") if isinstance(flow.get("title"), str) else None
    try:
        return Translation(flow["steps"], name or title or "journey", keep_hosts).run()
    except RecorderError as exc:
        raise RecorderError(f"{source}: {exc}") from None
