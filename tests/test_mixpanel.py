"""check_cx_conversion --mixpanel against a local server that answers as Mixpanel's Query API
documents its funnels endpoint.

Documentation followed (read 2026-11):
- Query API, funnels: https://docs.mixpanel.com/reference/funnels-query (OpenAPI in the
  mixpanel/docs repository, openapi/src/query.openapi.yaml): GET {region}/api/query/funnels with
  project_id, funnel_id, from_date and to_date (yyyy-mm-dd, inclusive), interval (days per bucket);
  the answer `{"meta": {"dates": [...]}, "data": {"DATE": {"steps": [{"count", "event", "goal",
  "step_label", "step_conv_ratio", "overall_conv_ratio", ...}], "analysis": {"completion",
  "starting_amount", "steps", "worst"}}}}`. Servers: mixpanel.com, eu.mixpanel.com,
  in.mixpanel.com. The page marks the Funnels Query API "in maintenance mode" (Mixpanel
  recommends the Insights Query API for new work): noted, still documented and answering.
- Authentication: https://docs.mixpanel.com/reference/query-api-authentication and
  /reference/service-accounts: service account as HTTP Basic (user name, secret); project_id on
  every request; workspace_id for projects with data views. Project secrets are deprecated.
- Rate limits: https://docs.mixpanel.com/reference/rate-limits: Query API 60 queries an hour and
  5 concurrent per project; 429 when exceeded.
- Dates are in the project's time zone (project settings; https://docs.mixpanel.com/docs/orgs-and-projects/managing-projects).
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import run_plugin

SECRET = "s3cret-Mixpanel"
USER = "cx-monitor.1a2b3c"
ENCODED = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
JSON = {"Content-Type": "application/json"}
NAMES = ["View product", "Add to cart", "Purchase"]


def query(handler) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}


def bucket(counts, names=NAMES):
    steps = [{"count": count, "event": name, "goal": name, "avg_time": 10, "step_conv_ratio": 1,
              "overall_conv_ratio": count / counts[0]} for count, name in zip(counts, names)]
    return {"steps": steps, "analysis": {"completion": counts[-1], "starting_amount": counts[0],
                                         "steps": len(counts), "worst": 2}}


def answer_by_date(by_date: dict, seen: list | None = None):
    """A funnels endpoint answering one bucket for from_date, with the counts given per date."""
    def answer(handler, body):
        params = query(handler)
        if seen is not None:
            seen.append((params, handler.headers.get("Authorization")))
        day = params["from_date"]
        return json.dumps({"meta": {"dates": [day]}, "data": {day: bucket(by_date[day])}})
    return answer


def mixpanel(site_url, *args, env=None):
    return run_plugin("check_cx_conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--service-account", USER,
                      "--token-env", "MP_SECRET", "--api-url", site_url + "/api/query", *args,
                      env={"MP_SECRET": SECRET, **(env or {})})


def test_funnel_steps_worst_step_and_a_significant_drop(site):
    seen = []
    api = site({"/api/query/funnels": (200, JSON, answer_by_date(
        {"2026-10-31": [2000, 600, 60], "2026-10-24": [2000, 600, 90]}, seen))})
    result = mixpanel(api.url, "--now", "2026-12-01T10:00:00Z", "--project-timezone", "Europe/Paris", "--window", "1d",
                      "-w", "2:", "-c", "1:", "--max-drop", "20", "--significant")
    # 60/2000 = 3 %; a week earlier 90/2000 = 4.5 %: a relative drop of 1.5/4.5 = 33 %.
    # Pooled p = 150/4000 = 0.0375, se = sqrt(0.0375 * 0.9625 * 2/2000) = 0.0060078,
    # z = 0.015 / 0.0060078 = 2.4967 >= 1.96; one-sided p = 1 - Phi(2.4967) = 0.0063.
    # Steps: 600/2000 = 30 %, 60/600 = 10 %: the worst is Purchase.
    assert result.status == (
        "CX CONVERSION WARNING - conversion 3% (60 of 2000 entered) over 1d dropped 33% from 4.5% 7d earlier "
        "(> 20%), significantly (z 2.50 >= 1.96, p 0.0063), worst step Purchase 10% | conversion=3%;2:;1:;0;100 "
        "conversion_previous=4.5%;;;0;100 converted=60c;;;0 entered=2000c;;;0 step_add_to_cart=30%;;;0;100 "
        "step_purchase=10%;;;0;100")
    assert result.code == 1
    # Mixpanel's default conversion window, 30 days: the days read ended that long before --now.
    assert ("Mixpanel funnel 7509: dates 2026-10-31..2026-10-31 in Europe/Paris (the project's time zone), whole "
            "days whose 30d conversion window (sent as length 30 day) had passed by --now: later days are still "
            "converting") in result.long_output
    assert "window 2026-10-31T10:00:00Z..2026-11-01T10:00:00Z (UTC): 60 of 2000 entered" in result.long_output
    assert [params for params, _ in seen] == [
        {"project_id": "12345", "funnel_id": "7509", "from_date": "2026-10-31", "to_date": "2026-10-31",
         "interval": "1", "length": "30", "length_unit": "day"},
        {"project_id": "12345", "funnel_id": "7509", "from_date": "2026-10-24", "to_date": "2026-10-24",
         "interval": "1", "length": "30", "length_unit": "day"}]
    assert {auth for _, auth in seen} == {f"Basic {ENCODED}"}


@pytest.mark.parametrize("zone, day", [("Europe/Paris", "2026-10-31"), ("UTC", "2026-10-30"),
                                       ("America/New_York", "2026-10-30")])
def test_dates_are_whole_days_in_the_project_time_zone(site, zone, day):
    # 30 days (the conversion window) before --now: 23:30 UTC on 31 October, already 1 November in
    # Paris: the 31st is over there, not in UTC.
    seen = []
    api = site({"/api/query/funnels": (200, JSON, answer_by_date({day: [100, 50, 20]}, seen))})
    result = mixpanel(api.url, "--now", "2026-11-30T23:30:00Z", "--project-timezone", zone, "--no-compare")
    assert result.code == 0, result.stdout
    assert result.text == "CX CONVERSION OK - conversion 20% (20 of 100 entered) over 1d, worst step Purchase 40%"
    assert seen[0][0]["from_date"] == seen[0][0]["to_date"] == day
    assert f"dates {day}..{day} in {zone} (the project's time zone)" in result.stdout


def test_buckets_of_several_dates_are_summed(site):
    # A week read as daily buckets (an account ignoring interval): counts add up over the dates.
    def answer(handler, body):
        data = {f"2026-10-{day:02d}": bucket([100, 40, 10 + day]) for day in range(25, 32)}
        return json.dumps({"meta": {"dates": sorted(data)}, "data": data})

    api = site({"/api/query/funnels": (200, JSON, answer)})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", "--window", "7d", "--no-compare")
    # entered 7 x 100 = 700; converted sum(10 + d for d in 25..31) = 70 + 196 = 266; 266/700 = 38 %
    assert result.text == ("CX CONVERSION OK - conversion 38% (266 of 700 entered) over 7d, worst step Add to cart 40%")
    assert result.value("step_purchase") == 95      # 266 of 280 who added to cart: 95 %


def test_step_label_of_a_custom_event_names_the_step(site):
    def answer(handler, body):
        steps = bucket([500, 100])
        steps["steps"][1].update(event="$custom_event:12345", goal="$custom_event:12345", step_label="Game Played",
                                 custom_event=True, custom_event_id=12345)
        return json.dumps({"meta": {"dates": ["2026-10-31"]}, "data": {"2026-10-31": steps}})

    api = site({"/api/query/funnels": (200, JSON, answer)})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", "--no-compare", "-v")
    assert result.text == "CX CONVERSION OK - conversion 20% (100 of 500 entered) over 1d"
    assert "step 2 Game Played: 100 (20% of the step before)" in result.long_output


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_unknown_and_never_shown(site, status):
    def answer(handler, body):
        echoed = handler.headers.get("Authorization")
        return status, JSON, json.dumps({"error": f"bad credentials {echoed} for {SECRET}", "status": "error"})

    api = site({"/api/query/funnels": (200, JSON, answer)})
    for verbosity in ([], ["-vvv"]):
        result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", *verbosity)
        assert result.code == 3
        assert result.text.startswith(f"CX CONVERSION UNKNOWN - Mixpanel rejected the service account's secret ($MP_SECRET) ({status}): "
                                      '{"error": "bad credentials Basic *** for ***"')
        everything = result.stdout + result.stderr
        assert SECRET not in everything and ENCODED not in everything


def test_429_beyond_the_deadline_explains_the_query_limit(site):
    api = site({"/api/query/funnels": (429, {"Retry-After": "3600", **JSON}, '{"error": "rate limited"}')})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", "-t", "5")
    assert result.code == 3
    assert result.text.startswith("CX CONVERSION UNKNOWN - Mixpanel rate limited (429), Retry-After 3600 s exceeds "
                                  "the ")
    assert result.text.endswith("s left (Mixpanel's Query API allows 60 queries an hour and 5 at once per project, "
                                "shared by all its users; run this check less often, or with --no-compare)")
    assert result.elapsed < 4


def test_429_with_a_short_retry_after_is_waited_for(site):
    calls = []

    def answer(handler, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, "slow down"
        return answer_by_date({"2026-10-31": [10, 5, 1]})(handler, body)

    api = site({"/api/query/funnels": (200, JSON, answer)})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", "--no-compare")
    assert result.code == 0, result.stdout
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_a_5xx_is_unknown_with_the_answer(site):
    api = site({"/api/query/funnels": (503, JSON, '{"error": "Service unavailable, try later"}')})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z")
    assert result.code == 3
    assert result.text == ('CX CONVERSION UNKNOWN - Mixpanel answered HTTP 503: '
                           '{"error": "Service unavailable, try later"}')


@pytest.mark.parametrize("body, reason", [
    ({"meta": {}, "results": {}}, "Mixpanel answered JSON without a 'data' object of dates (not a funnels answer)"),
    ({"data": {"2026-10-31": {"analysis": {}}}}, "Mixpanel answer: data['2026-10-31'] has no 'steps' list"),
    ({"data": {"2026-10-31": {"steps": [{"count": 5}, {"event": "x"}]}}},
     "Mixpanel answer: data['2026-10-31'].steps[1] has no 'count'"),
    ({"data": {"2026-10-31": {"steps": [{"count": "many"}]}}},
     "Mixpanel answer: data['2026-10-31'].steps[0].count is 'many', not a count"),
    ({"data": {"2026-10-30": {"steps": [{"count": 5}]}, "2026-10-31": {"steps": [{"count": 5}, {"count": 1}]}}},
     "Mixpanel answer: data['2026-10-31'] has 2 steps, other dates 1"),
    ({"error": "Unknown funnel 7509", "status": "error"}, "Mixpanel answered an error: Unknown funnel 7509"),
])
def test_undocumented_shapes_are_unknown_naming_the_key(site, body, reason):
    api = site({"/api/query/funnels": (200, JSON, json.dumps(body))})
    result = mixpanel(api.url, "--now", "2026-12-01T00:00:00Z", "--no-compare")
    assert result.code == 3
    assert result.text == f"CX CONVERSION UNKNOWN - {reason}"


@pytest.mark.parametrize("args, reason", [
    (["--window", "36h"], "--mixpanel: --window 36h is not whole days: Mixpanel counts by date"),
    (["--compare-to", "12h"], "--mixpanel: --compare-to 12h is not whole days: Mixpanel counts by date"),
    (["--project-timezone", "Mars/Olympus"], "--project-timezone 'Mars/Olympus' is not a time zone such as "
                                             "Europe/Paris or UTC"),
    (["--funnel-id", "signup"], "--mixpanel needs --funnel-id, the saved funnel's number"),
    (["--conversion-window", "120d"], "--conversion-window 120d: Mixpanel takes a conversion window of at most 90d"),
])
def test_configuration_errors_say_what_to_give(args, reason):
    result = mixpanel("http://127.0.0.1:9", *args)
    assert (result.code, result.text) == (3, f"CX CONVERSION UNKNOWN - {reason}")


def test_the_secret_is_required_and_the_service_account_too():
    result = run_plugin("check_cx_conversion", "--mixpanel", "12345", "--funnel-id", "7509", "--token-env", "MP",
                        env={"MP": SECRET})
    assert result.text == ("CX CONVERSION UNKNOWN - --mixpanel needs --service-account USERNAME (the secret from "
                           "--token-env/--token-file)")


@pytest.mark.parametrize("region, host", [("us", "mixpanel.com"), ("eu", "eu.mixpanel.com"),
                                          ("in", "in.mixpanel.com")])
def test_regions_choose_the_documented_host(monkeypatch, region, host):
    from cxcheck import runtime
    from cxcheck.checks import conversion
    from cxcheck.sources.registry import open_source

    monkeypatch.setenv("MP_SECRET", SECRET)
    args = conversion.build_parser().parse_args(["--mixpanel", "1", "--funnel-id", "2", "--service-account", USER,
                                                 "--token-env", "MP_SECRET", "--region", region])
    source = open_source(runtime.Run(args, runtime.Deadline(5), 0), "funnel")
    assert source.base_url == f"https://{host}/api/query"


def test_a_query_that_never_answers_ends_at_the_deadline(raw_server):
    def silent(conn, stopping):
        stopping.wait(30)           # accept, read nothing, answer nothing

    server = raw_server(silent)
    result = mixpanel(server.url, "--now", "2026-12-01T00:00:00Z", "-t", "2")
    assert result.code == 2
    assert result.text == ("CX CONVERSION CRITICAL - timed out after 2 s while reading Mixpanel funnel 7509 "
                           "2026-10-31..2026-10-31")
    assert result.elapsed < 4
