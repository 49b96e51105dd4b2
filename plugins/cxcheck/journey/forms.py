"""HTML forms, filled and submitted as a browser would.

The chosen form's hidden and default-valued fields are sent (CSRF tokens included), the clicked
submit button's name=value is sent, the action resolves against the page URL and the form's
method is used.

Parsing is libxml2's HTML parser (lxml), as events, without building a tree: tolerant of broken
markup and linear in the page's size. The standard library's html.parser is quadratic on
unclosed tags: 200 KB of `<a` took it 29 s and 100 KB of `<a ` over 60 s, where lxml reads 4 MB
of any such markup in at most 0.26 s and 55 MB (bench/bench_forms.py). Names and texts from the
page are outside text: the errors mask them.
"""

from __future__ import annotations

from urllib.parse import urljoin

from cxcheck.runtime import ConfigError, Record, masker

SUBMIT_TYPES = {"submit", "image"}
IGNORED_TYPES = {"reset", "button", "file"}
MAX_FORMS = 200
FORM_START, FORM_END = "cxcheck-form", "cxcheck-form-end"
MAX_FIELDS = 2000
FIELD_TAGS = {"input", "button", "select", "option", "textarea"}     # the tags a form reads


class FormError(ConfigError):
    """The page has no form that fits, or the form lacks a field the step fills."""


class Field(Record):
    _fields = ("name", "type", "value", "checked", "disabled", "options", "multiple")

    def __init__(self, name: str, type: str = "text", value: str = "", checked: bool = False,
                 disabled: bool = False, options: list | None = None, multiple: bool = False):
        self.name, self.type, self.value, self.checked, self.disabled = name, type, value, checked, disabled
        self.options = [] if options is None else options   # (value, selected) of a <select>
        self.multiple = multiple


class Button(Record):
    _fields = ("name", "value", "type")

    def __init__(self, name: str, value: str = "", type: str = "submit"):
        self.name, self.value, self.type = name, value, type


class Form(Record):
    _fields = ("index", "id", "name", "action", "method", "fields", "buttons")

    def __init__(self, index: int, id: str | None = None, name: str | None = None, action: str = "",
                 method: str = "GET", fields: list | None = None, buttons: list | None = None):
        self.index, self.id, self.name, self.action, self.method = index, id, name, action, method
        self.fields = [] if fields is None else fields
        self.buttons = [] if buttons is None else buttons

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def inputs_of_type(self, kind: str) -> list[Field]:
        return [f for f in self.fields if f.type == kind]

    def describe(self) -> str:
        label = f"#{self.id}" if self.id else (self.name or f"form {self.index}")
        return masker.mask(f"{label} ({self.method} {self.action or 'same page'})")

    def defaults(self) -> list[tuple[str, str]]:
        """What a browser sends untouched: hidden, text with values, checked boxes, selected options."""
        pairs = []
        for f in self.fields:
            if f.disabled or not f.name:
                continue
            if f.type in ("checkbox", "radio"):
                if f.checked:
                    pairs.append((f.name, f.value or "on"))
            elif f.type == "select":
                selected = [v for v, sel in f.options if sel]
                if not selected and f.options and not f.multiple:
                    selected = [f.options[0][0]]
                pairs.extend((f.name, v) for v in selected)
            else:
                pairs.append((f.name, f.value))
        return pairs

    def fill(self, page_url: str, values: dict, button: str | None = None) -> tuple[str, str, list]:
        """(method, url, data) of submitting this form with `values` typed in and `button` clicked."""
        names = set(self.field_names())
        for name in values:
            if name not in names:
                known = ", ".join(sorted(n for n in names if n)) or "none"
                raise FormError(f"form {self.describe()} has no field {masker.mask(repr(name))} "
                                f"(fields: {masker.mask(known)})")
        pairs, done = [], set()
        for name, value in self.defaults():
            if name in values:
                if name not in done:
                    pairs.append((name, values[name]))
                    done.add(name)
            else:
                pairs.append((name, value))
        # Radio groups or boxes with nothing checked still take a typed value.
        pairs.extend((n, v) for n, v in values.items() if n not in done and n not in dict(pairs))
        clicked = self._button(button)
        if clicked is not None and clicked.name:
            pairs.append((clicked.name, clicked.value))
        url = urljoin(page_url, self.action) if self.action else page_url
        if "#" in url:
            url = url.split("#", 1)[0]
        return self.method, url, pairs

    def _button(self, name: str | None) -> Button | None:
        if name is None:
            return self.buttons[0] if self.buttons else None
        for b in self.buttons:
            if b.name == name or b.value == name:
                return b
        known = ", ".join(b.name or repr(b.value) for b in self.buttons) or "none"
        raise FormError(f"form {self.describe()} has no submit button {masker.mask(repr(name))} "
                        f"(buttons: {masker.mask(known)})")


class _FormTarget:
    """lxml parser target: the forms, from start/end/data events."""

    def __init__(self):
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._option: list | None = None      # [value or None, selected, text]
        self._textarea: Field | None = None
        self._button_text: Button | None = None

    def start(self, tag, attrs):
        if not isinstance(tag, str):            # a comment or processing instruction
            return
        tag = tag.lower()
        if tag == FORM_END:
            self.end("form")
            return
        if tag != FORM_START and (self._form is None or tag not in FIELD_TAGS):
            return                              # most of a page: nothing a form sends
        a = {k.lower(): (v if v is not None else "") for k, v in attrs.items()}
        if tag == FORM_START:
            if len(self.forms) >= MAX_FORMS:
                return
            self._form = Form(index=len(self.forms), id=a.get("id") or None, name=a.get("name") or None,
                              action=a.get("action", "").strip(), method=(a.get("method") or "GET").upper())
            if self._form.method not in ("GET", "POST"):
                self._form.method = "GET"
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or len(form.fields) + len(form.buttons) >= MAX_FIELDS:
            return
        name = a.get("name", "")
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in SUBMIT_TYPES:
                if "disabled" not in a:
                    form.buttons.append(Button(name=name, value=a.get("value", ""), type=kind))
            elif kind not in IGNORED_TYPES:
                value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
                form.fields.append(Field(name=name, type=kind, value=value, checked="checked" in a,
                                         disabled="disabled" in a))
        elif tag == "button":
            kind = (a.get("type") or "submit").lower()
            if kind == "submit" and "disabled" not in a:
                self._button_text = Button(name=name, value=a.get("value", ""))
                form.buttons.append(self._button_text)
        elif tag == "select":
            self._select = Field(name=name, type="select", disabled="disabled" in a, multiple="multiple" in a)
            form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._close_option()
            self._option = [a.get("value"), "selected" in a, ""]
        elif tag == "textarea":
            self._textarea = Field(name=name, type="textarea", disabled="disabled" in a)
            form.fields.append(self._textarea)

    def data(self, data):
        if self._option is not None:
            self._option[2] += data
        elif self._textarea is not None:
            self._textarea.value += data

    def end(self, tag):
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "form":         # only from FORM_END: libxml2's own end of a renamed form is ignored
            self._close_option()
            self._form = self._select = self._textarea = None
        elif tag == "select":
            self._close_option()
            self._select = None
        elif tag == "option":
            self._close_option()
        elif tag == "textarea":
            if self._textarea is not None and self._textarea.value.startswith("\n"):
                self._textarea.value = self._textarea.value[1:]
            self._textarea = None

    def _close_option(self):
        if self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((text.strip() if value is None else value, selected))
        self._option = None


    def close(self):
        return self.forms


def parse_forms(html: str) -> list[Form]:
    import re

    from lxml import etree  # only runs that read a form pay for it

    # A browser keeps adding fields to a form until its </form>, even past the end of an element
    # the form was opened in (<div><form></div><input></form>); libxml2 would close the form with
    # that element. Renamed, <form> and </form> reach the target as two plain start tags, as the
    # page wrote them (a linear rewrite: no search for the tag's end).
    html = re.sub(r"<(/?)form(?=[\s/>])", lambda m: f"<{FORM_END if m.group(1) else FORM_START}", html,
                  flags=re.IGNORECASE)
    target = _FormTarget()
    parser = etree.HTMLParser(target=target, encoding="utf-8", recover=True, no_network=True)
    try:
        parser.feed(html.encode("utf-8", errors="replace"))
        parser.close()
    except etree.Error:     # libxml2 gives up on some hostile markup: the forms read so far stand
        pass
    return target.forms


def select_form(forms: list[Form], selector=None, wanted_fields=()) -> Form:
    """The form a step means: '#id', a name, an index, or (None) the best match for the fields."""
    if not forms:
        raise FormError("the page has no form")
    if isinstance(selector, int):
        if 0 <= selector < len(forms):
            return forms[selector]
        raise FormError(f"the page has {len(forms)} form(s), no form {selector}")
    if isinstance(selector, str) and selector:
        if selector.startswith("#"):
            found = [f for f in forms if f.id == selector[1:]]
        else:
            found = [f for f in forms if f.name == selector or f.id == selector]
        if found:
            return found[0]
        known = ", ".join(f.describe() for f in forms)
        raise FormError(f"the page has no form {masker.mask(repr(selector))} (forms: {known})")
    wanted = set(wanted_fields)
    if not wanted:
        return forms[0]
    return max(forms, key=lambda f: (len(wanted & set(f.field_names())), -f.index))


def login_form(forms: list[Form]) -> Form:
    """The login form: the one with exactly one password input (sign-up forms have two)."""
    candidates = [f for f in forms if len(f.inputs_of_type("password")) == 1]
    if not candidates:
        raise FormError("the page has no login form (no form with exactly one password field)")
    return candidates[0]


def username_field(form: Form) -> Field:
    """The username-like field: type=email, else a name containing user, email or login."""
    texts = [f for f in form.fields if f.type in ("text", "email", "tel", "") and f.name]
    for f in texts:
        if f.type == "email":
            return f
    for hint in ("user", "email", "login", "mail", "account"):
        for f in texts:
            if hint in f.name.lower():
                return f
    visible = [f for f in texts if f.type != "hidden"]
    if len(visible) == 1:
        return visible[0]
    raise FormError(f"form {form.describe()} has no username-like field; name it with --username-field")
