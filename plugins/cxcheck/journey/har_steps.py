"""The page requests of a HAR as scenario steps.

A GET is a `get:` step. A form the user submitted (a POST, or a GET with a query, whose fields
match a form of the page before it) is a `submit_form:` step: the fields the page's form supplies
(hidden ones, CSRF tokens, defaults, the clicked button's value) are left to the form, so that the
journey sends the fresh values of each run; only what the user typed or chose is written. Other
bodies (JSON, form data without a page) are sent as recorded, with secrets replaced and values an
earlier response handed out (a token, an order id) extracted there and referenced.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urljoin, urlsplit

from cxcheck.journey.draft import CSRF_NAME, Draft
from cxcheck.journey.forms import parse_forms
from cxcheck.journey.har import HarError
from cxcheck.journey.variables import looks_secret

TEXT_INPUTS = {"text", "email", "password", "tel", "number", "search", "url", "textarea", "date", "datetime-local",
               "month", "week", "time", ""}
TOKEN_HEADER = re.compile(r"^(authorization|x-[a-z0-9-]*(token|key|auth|csrf|xsrf)[a-z0-9-]*)$", re.IGNORECASE)
KEPT_HEADER = re.compile(r"^x-requested-with$", re.IGNORECASE)
REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")


class SavedWithoutBodies(HarError):
    """A form submitted from a page the HAR holds without its HTML: which fields the form supplies
    itself (hidden ones, CSRF tokens under any name) cannot be told from those typed, and a journey
    sending the recorded ones is refused by the site (403) at every run. The fix is in the browser."""

    def __init__(self, page: str):
        super().__init__(
            f"saved without response bodies: the page {page} is there without its HTML, so the fields its form "
            "fills in itself (hidden ones, the CSRF token) cannot be told from those typed, and the scenario "
            "would be refused at that form. Save the HAR with content: in Chrome or Edge, DevTools > Network, "
            "tick Preserve log, walk the journey, then right-click a request > Save all as HAR with content "
            "(Chrome may drop a page's body once you navigate away; its Recorder panel > Export > JSON needs "
            "none); in Firefox, Network > gear menu > Persist Logs, then Save All As HAR (with about:config's "
            "devtools.netmonitor.har.includeResponseBodies true)")
        self.page = page


def draft_from_hits(hits, origin: str, name: str) -> Draft:
    draft = Draft(origin, name)
    page = None                      # the last HTML page the user saw: (url, html)
    cookies_set: set[str] = set()
    earlier: set[str] = set()        # cookies the browser had before the recording, already reported
    for hit in hits:
        request, final = hit.request, hit.final
        step = _form_step(draft, hit, page) if page else None
        if step is None:
            step = _request_step(draft, hit)
        _headers(draft, step, request, cookies_set, earlier)
        step["expect"] = _expect(draft, hit, "submit_form" in step)
        draft.steps.append(step)
        for hop in hit.hops:
            cookies_set |= set(hop.set_cookies())
        draft.offer(json_body=_json(final), headers=dict(final.response_headers),
                    cookies={k: v for hop in hit.hops for k, v in hop.set_cookies().items()})
        if "html" in final.mime or (final.text is None and request.kind == "document" and 200 <= final.status < 300):
            page = (final.url, final.text if "html" in final.mime else None)
    return draft


def _json(exchange):
    if exchange.text is None or "json" not in exchange.mime:
        return None
    try:
        return json.loads(exchange.text)
    except ValueError:
        return None


def _sent_pairs(request) -> list[tuple[str, str]] | None:
    """The fields of a form submission (a urlencoded or multipart POST, or a GET's query)."""
    if request.method == "GET":
        query = urlsplit(request.url).query
        return parse_qsl(query, keep_blank_values=True) if query else None
    mime = (request.post_mime or "").lower()
    if mime.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return list(request.post_params)
    return None


def _form_step(draft: Draft, hit, page) -> dict | None:
    request = hit.request
    pairs = _sent_pairs(request)
    if pairs is None:
        return None
    page_url, html = page
    if html is None:
        raise SavedWithoutBodies(draft.url(page_url))
    target = request.url.split("#", 1)[0]
    if request.method == "GET":
        target = target.split("?", 1)[0]
    best, best_score = None, None
    for form in parse_forms(html):
        action = (urljoin(page_url, form.action) if form.action else page_url).split("#", 1)[0]
        if request.method == "GET":
            action = action.split("?", 1)[0]
        if form.method != request.method or action != target:
            continue
        known = set(form.field_names()) | {b.name for b in form.buttons if b.name}
        offered = set(form.defaults()) | {(b.name, b.value) for b in form.buttons if b.name}
        score = (-sum(name not in known for name, _ in pairs), sum(pair in offered for pair in pairs), -form.index)
        if best_score is None or score > best_score:
            best, best_score = form, score
    if best is None:
        return None
    return _submission(draft, best, pairs, hit)


def _submission(draft: Draft, form, pairs, hit) -> dict:
    name = draft.step_name(re.sub(r"[-_]?form$", "", form.id or form.name or "") or
                           "submit_" + _last_segment(hit.request.url))
    button = next((b for b in form.buttons if b.name and (b.name, b.value) in pairs), None)
    defaults = set(form.defaults())
    fields, seen = {}, set()
    for field_name, value in pairs:
        if button is not None and (field_name, value) == (button.name, button.value):
            continue
        field = next((f for f in form.fields if f.name == field_name), None)
        where = f"step {name}"
        if field is None:
            draft.notes.append(f"{where}: field {field_name!r} is not in the page's form (added by a script?): "
                               "left out")
        elif field.type == "hidden" or CSRF_NAME.search(field_name):
            if field.type == "hidden" and value != field.value and not CSRF_NAME.search(field_name):
                draft.notes.append(f"{where}: hidden field {field_name!r} was changed by the page's scripts; "
                                   "the journey sends the form's own value")
        elif (field_name, value) in defaults and field_name not in seen:
            pass                                # the form's own default: left to the form
        elif field_name in seen:
            draft.notes.append(f"{where}: field {field_name!r} was sent more than once; only the first value "
                               "is filled in")
        elif field.type in TEXT_INPUTS:
            fields[field_name] = draft.typed(field_name, value, secret=field.type == "password", where=where,
                                             kind=field.type)
        else:
            fields[field_name] = value          # a choice (radio, select, checkbox), not typed
        seen.add(field_name)
    selector = f"#{form.id}" if form.id else (form.name or form.index)
    spec = {"form": selector}
    if fields:
        spec["fields"] = fields
    if button is not None:
        spec["button"] = button.name
    return {"name": name, "submit_form": spec}


def _last_segment(url: str) -> str:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return parts[-1] if parts else "home"


def _request_step(draft: Draft, hit) -> dict:
    request = hit.request
    url = request.url.split("#", 1)[0]
    if url.endswith("?"):
        url = url[:-1]                           # a GET form without fields
    path = _reused_path(draft, draft.url(url))
    # Named after the path's last fixed segment: /api/orders/${order_id} is get_orders.
    segments = [p for p in path.split("?", 1)[0].split("/") if p and "${" not in p]
    segment = segments[-1] if segments else "home"
    if "${" not in path and not path.startswith("/"):
        segment = _last_segment(url)
    method = request.method.lower()
    if method == "get":
        name = draft.step_name(f"{segment}_page" if request.kind == "document" else f"get_{segment}")
    else:
        name = draft.step_name(f"{method}_{segment}")
    step = {"name": name, method if method in ("get", "post", "put", "patch", "delete", "head") else "post": path}
    body = _body(draft, request, name)
    if body is not None:
        step.update(body)
    return step


def _reused_path(draft: Draft, url: str) -> str:
    """Path segments an earlier response handed out (an order id) become their extracted variable."""
    path, sep, query = url.partition("?")
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment and (len(segment) >= 4 or segment.isdigit()) and re.fullmatch(r"[A-Za-z0-9_.~-]+", segment):
            ref = draft.reuse(segment, "id") if any(c.isdigit() for c in segment) else None
            if ref:
                segments[index] = ref
    return "/".join(segments) + sep + query


def _body(draft: Draft, request, name: str) -> dict | None:
    if request.post_mime is None:
        return None
    mime = request.post_mime.lower()
    if "json" in mime and request.post_text:
        try:
            return {"json": _json_values(draft, json.loads(request.post_text), name)}
        except ValueError:
            pass
    if request.post_params:
        form = {}
        for key, value in request.post_params:
            form[key] = _secret_value(draft, key, value, name) if looks_secret(key) or CSRF_NAME.search(key) \
                else value
        return {"form": form}
    if request.post_text:
        draft.notes.append(f"step {name}: the body is sent as recorded; check it holds no secret")
        return {"data": request.post_text}
    return None


def _json_values(draft: Draft, data, name: str, key: str = ""):
    if isinstance(data, dict):
        return {k: _json_values(draft, v, name, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_values(draft, v, name, key) for v in data]
    if isinstance(data, str) and looks_secret(key):
        return _secret_value(draft, key, data, name)
    return data


def _secret_value(draft: Draft, key: str, value: str, name: str) -> str:
    """A credential: extracted from the earlier response that handed it out, else an env placeholder."""
    return draft.reuse(value, key) or draft.typed(key, value, secret=True, where=f"step {name}")


def _headers(draft: Draft, step: dict, request, cookies_set: set, earlier: set):
    headers = {}
    for header, value in request.request_headers:
        if header.startswith(":"):
            continue                              # HTTP/2 pseudo-headers
        if TOKEN_HEADER.match(header):
            scheme, sep, token = value.partition(" ")
            if not sep or " " in token.strip():
                scheme, token = "", value
            ref = _secret_value(draft, header if not scheme else "token", token.strip(), step["name"])
            headers[header] = f"{scheme} {ref}" if scheme else ref
        elif KEPT_HEADER.match(header):
            headers[header] = value
    cookies = []
    for cookie, value in request.sent_cookies().items():
        if cookie in cookies_set:
            continue                              # set during the journey: the session keeps it
        if looks_secret(cookie):
            cookies.append(f"{cookie}={draft.typed('cookie_' + cookie, value, secret=True)}")
        elif cookie not in earlier:
            earlier.add(cookie)
            draft.notes.append(f"cookie {cookie!r} was in the browser before the recording (not set by the "
                               "journey): not sent")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    if headers:
        step["headers"] = headers


def _expect(draft: Draft, hit, submitted: bool) -> dict:
    final = hit.final
    expect = {"status": final.status}
    if submitted or final.url.split("#", 1)[0].rstrip("?") != hit.request.url.split("#", 1)[0].rstrip("?"):
        expect["url_matches"] = REGEX_SPECIAL.sub(r"\\\1", draft.url(final.url)) + "$"
    if final.text and "html" in final.mime:
        title = re.search(r"<title[^>]*>([^<\n]{1,120})</title>", final.text, re.IGNORECASE)
        if title and title.group(1).strip():
            expect["contains"] = title.group(1).strip()
    return expect
