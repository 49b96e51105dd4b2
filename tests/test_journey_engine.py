"""The journey engine's pure parts: scenario validation, variables, forms; plus property tests
that any input gives a result or a clean error, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxcheck.journey import forms, scenario
from cxcheck.journey.results import check_references
from cxcheck.journey.variables import Variables
from cxcheck.runtime import ConfigError, Masker, mask_identity, masker

GOOD = {
    "name": "shop-checkout",
    "base_url": "https://shop.example.com",
    "variables": {"email": "shopper@example.com", "password": "${env:SHOP_PASSWORD}"},
    "steps": [
        {"name": "login_page", "get": "/accounts/login/", "expect": {"status": 200, "contains": "Log in"}},
        {"name": "login", "submit_form": {"form": "#login_form",
                                          "fields": {"login-username": "${email}", "login-password": "${password}"},
                                          "button": "login_submit"},
         "expect": {"url_matches": "/catalogue/", "not_contains": "Please enter a correct"},
         "warning": 2, "critical": 5},
        {"name": "create_order", "post": "/api/orders", "json": {"sku": "W-1"},
         "headers": {"Authorization": "Bearer ${token}"},
         "expect": {"status": [200, 201], "json": {"status": "accepted"}},
         "extract": {"order_id": {"json": "id"}, "receipt": {"regex": r"Order #(\d+)"},
                     "location": {"header": "Location"}, "session": {"cookie": "sessionid"}}},
    ],
}


def test_design_example_validates():
    parsed = scenario.from_dict(GOOD, "good.yaml")
    assert [s.name for s in parsed.steps] == ["login_page", "login", "create_order"]
    assert parsed.steps[0].method == "GET" and parsed.steps[0].expect["status"] == [200]
    assert parsed.steps[1].submit_form.button == "login_submit"
    assert parsed.steps[1].warning == "2" and parsed.steps[1].critical == "5"
    assert parsed.steps[2].extract["receipt"] == ("regex", r"Order #(\d+)")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["steps"][1].update({"submti_form": {}}), "step 'login': unknown key 'submti_form'"),
    (lambda d: d["steps"][0].update({"post": "/x"}), "step 'login_page': give exactly one of"),
    (lambda d: d["steps"][0]["expect"].update({"status": "ok"}), "step 'login_page': expect: key 'status'"),
    (lambda d: d["steps"][0]["expect"].update({"colour": 1}), "expect: unknown key 'colour'"),
    (lambda d: d["steps"][1].update({"warning": "abc"}), "step 'login': key 'warning'"),
    (lambda d: d["steps"][2]["extract"].update({"x": {"regex": "no group"}}), "needs a group"),
    (lambda d: d["steps"][2]["extract"].update({"x": {"json": "a[?"}}), "invalid JMESPath"),
    (lambda d: d["steps"][2].update({"name": "login"}), "used twice"),
    (lambda d: d.update({"stepz": []}), "unknown key 'stepz'"),
    (lambda d: d.update({"steps": []}), "'steps' must be a non-empty list"),
    (lambda d: d["steps"].insert(0, {"name": "first", "submit_form": {}}), "needs a previous step"),
])
def test_errors_name_file_step_and_key(mutate, message):
    import copy

    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(scenario.ScenarioError) as error:
        scenario.from_dict(data, "shop.yaml")
    assert str(error.value).startswith("shop.yaml: ")
    assert message in str(error.value)


def test_undefined_variable_is_found_before_the_run():
    parsed = scenario.from_dict(GOOD, "good.yaml")
    with pytest.raises(ConfigError, match=r"step 'create_order': variable \$\{token\} is not defined"):
        check_references(parsed, set())
    check_references(parsed, {"token"})


def test_variables_env_file_and_escape(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_TEST_SECRET", "hunter2-env")
    secret_file = tmp_path / "secret"
    secret_file.write_text("hunter2-file\n")
    variables = Variables({"user": "ann"})
    text = variables.substitute(f"${{user}}:${{env:CX_TEST_SECRET}}:${{file:{secret_file}}}:$${{literal}}")
    assert text == "ann:hunter2-env:hunter2-file:${literal}"
    assert masker.mask("x hunter2-env hunter2-file") == "x *** ***"
    with pytest.raises(ConfigError, match="environment variable CX_NOPE is not set"):
        variables.substitute("${env:CX_NOPE}")
    with pytest.raises(ConfigError, match="cannot read"):
        variables.substitute(f"${{file:{tmp_path / 'missing'}}}")
    with pytest.raises(ConfigError, match=r"variable \$\{nope\} is not defined"):
        variables.substitute("${nope}")


def test_masker_masks_encoded_forms_too():
    local = Masker()
    local.register("p@ss word&1")
    assert local.mask("a=p%40ss+word%261 b=p%40ss%20word%261 c=p@ss word&1") == "a=*** b=*** c=***"
    assert mask_identity("shopper@example.com") == "s***@example.com"
    assert mask_identity("admin") == "a***"


PAGE = """
<form id="search" action="/search" method="get"><input name="q"></form>
<form id="login_form" action="login/" method="POST">
  <input type="hidden" name="csrfmiddlewaretoken" value="T0K3N">
  <input type="email" name="login-username" value="">
  <input type="password" name="login-password">
  <input type="checkbox" name="remember" value="yes" checked>
  <input type="checkbox" name="newsletter" value="yes">
  <select name="lang"><option value="en">English</option><option value="fr" selected>French</option></select>
  <textarea name="note">
hello</textarea>
  <input type="text" name="disabled" value="x" disabled>
  <button type="submit" name="login_submit" value="Log In">Log In</button>
  <button type="submit" name="other" value="Other">Other</button>
</form>
<form id="register_form" method="post"><input name="email" type="email">
  <input type="password" name="p1"><input type="password" name="p2"><input type="submit" value="Go"></form>
"""


def test_form_filled_as_a_browser_would():
    page_forms = forms.parse_forms(PAGE)
    assert [f.id for f in page_forms] == ["search", "login_form", "register_form"]
    form = forms.login_form(page_forms)
    assert form.id == "login_form"
    assert forms.username_field(form).name == "login-username"
    method, url, data = form.fill("https://shop.example.com/accounts/login/?next=/x#top",
                                  {"login-username": "a@b.c", "login-password": "pw"}, "login_submit")
    assert method == "POST"
    assert url == "https://shop.example.com/accounts/login/login/"
    assert data == [("csrfmiddlewaretoken", "T0K3N"), ("login-username", "a@b.c"), ("login-password", "pw"),
                    ("remember", "yes"), ("lang", "fr"), ("note", "hello"), ("login_submit", "Log In")]


def test_form_selection_and_errors():
    page_forms = forms.parse_forms(PAGE)
    assert forms.select_form(page_forms, "#register_form").id == "register_form"
    assert forms.select_form(page_forms, 0).id == "search"
    assert forms.select_form(page_forms, None, ["q"]).id == "search"
    assert forms.select_form(page_forms, None, ["login-password"]).id == "login_form"
    with pytest.raises(forms.FormError, match="no form '#nope'"):
        forms.select_form(page_forms, "#nope")
    with pytest.raises(forms.FormError, match="has no field 'pasword'"):
        page_forms[1].fill("http://x/", {"pasword": "x"})
    with pytest.raises(forms.FormError, match="no submit button 'nope'"):
        page_forms[1].fill("http://x/", {}, "nope")
    with pytest.raises(forms.FormError, match="no login form"):
        forms.login_form([page_forms[0], page_forms[2]])
    method, url, data = page_forms[0].fill("http://x/a/b", {"q": "shoes"})
    assert (method, url, data) == ("GET", "http://x/search", [("q", "shoes")])


# --- property tests: any input gives a result or a clean error -----------------------------------

yaml_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(sorted(scenario.STEP_KEYS | scenario.TOP_KEYS | scenario.EXPECT_KEYS | {"x"})) | st.text(max_size=5),
        children, max_size=5),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(yaml_like)
def test_scenario_validation_never_crashes(data):
    try:
        scenario.from_dict(data, "prop.yaml")
    except scenario.ScenarioError as exc:
        assert str(exc).startswith("prop.yaml: ") and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_scenario_loader_any_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("prop") / "s.yaml"
    path.write_bytes(raw)
    try:
        scenario.load(str(path))
    except scenario.ScenarioError as exc:
        assert str(path) in str(exc)


html_bits = st.sampled_from(["<form", "<form id=a>", "</form>", "<input", " name=", "'x'", '"y"', " type=password",
                             " type=submit", "<select name=s>", "<option", " selected>", "</select>", "<textarea>",
                             "</textarea>", "<button>", ">", "<", "&amp;", "&#0;", "<!--", "-->", "<![CDATA[", "\x00"])


@settings(max_examples=300, deadline=None)
@given(st.lists(html_bits | st.text(max_size=8), max_size=40))
def test_form_parser_never_crashes(parts):
    page_forms = forms.parse_forms("".join(parts))
    for form in page_forms:
        method, url, data = form.fill("http://127.0.0.1/", {})
        assert method in ("GET", "POST") and url.startswith("http://127.0.0.1/")
        try:
            forms.login_form([form])
        except forms.FormError:
            pass


def test_one_list_of_credential_names_for_the_run_and_the_importer():
    from cxcheck.journey.variables import looks_secret

    # Extracted at run time under these names, a value is masked; in a HAR, it becomes ${env:...}.
    for name in ("password", "pwd", "api_key", "idempotency_key", "session_id", "card_number", "cvv", "otp", "pin"):
        assert looks_secret(name), name
    for name in ("author", "sku", "spinner", "quantity", "email"):
        assert not looks_secret(name), name
