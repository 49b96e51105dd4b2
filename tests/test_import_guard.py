"""Each plugin mode imports only what it uses.

A plugin process is started for every check, so an import a mode does not need is paid thousands
of times a minute (bench/ measures it). Each mode runs here as the engine runs it, with
`python -X importtime`, against real servers and files on 127.0.0.1; the modules it imported
must not include the ones that mode has no use for. Not timed: only which modules, never how long.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import MODULES, ROOT, plugin_env

ACCOUNT, PASSWORD = "shopper@example.com", "correct-horse-battery"
SCENARIOS = ROOT / "templates" / "scenarios"
NPS_SAMPLE = ROOT / "plugins" / "cxcheck" / "demo" / "data" / "nps_sample.csv"
CSAT_SAMPLE = ROOT / "plugins" / "cxcheck" / "demo" / "data" / "csat_sample.csv"
TICKETS_SAMPLE = ROOT / "plugins" / "cxcheck" / "demo" / "data" / "tickets_sample.csv"
# The API client: every API source reads through it. The sources' own modules (Prometheus' and the
# JSON endpoints' too) are declarations (class attributes for the parser) and are imported to build
# the options; what they read with is imported only once one is chosen.
SURVEY_APIS = ["cxcheck.sources.apiclient"]
# What a rate check needs only once it judges: the statistics and the time-zone database.
STATISTICS = ["statistics", "zoneinfo"]
HTTP_STACK = ["requests", "urllib3", "charset_normalizer", "idna", "cxcheck.http", "cxcheck.http_contact",
              "cxcheck.http_direct", "lxml"]
# The browser checks' layer and what drives Chromium: for check_cx_page and browser: true scenarios only.
BROWSER = ["cxcheck.browser", "selenium", "cxcheck.journey.browser_runner"]


def imported(plugin: str, *args: str, codes=(0,)) -> set[str]:
    """The modules a plugin run imported, from -X importtime (its stderr)."""
    assert importlib.util.find_spec(MODULES[plugin]) is not None, f"{MODULES[plugin]} is not in this checkout"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", MODULES[plugin], *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env=plugin_env({"SHOP_PASSWORD": PASSWORD}))
    assert proc.returncode in codes, proc.stdout + proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    assert "cxcheck.runtime" in names, "no -X importtime output: the guard would pass blindly"
    return names


def unwanted(names: set[str], forbidden) -> list[str]:
    """Forbidden modules and their submodules that were imported."""
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))


def test_plain_login_needs_no_yaml_jmespath_or_sources(shop):
    names = imported("check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username", ACCOUNT,
                     "--password-env", "SHOP_PASSWORD")
    assert "requests" in names and "cxcheck.journey.forms" in names      # it did log in
    assert unwanted(names, ["yaml", "jmespath", "cxcheck.sources", *BROWSER]) == []


def test_checkout_without_json_expressions_needs_no_jmespath(shop):
    names = imported("check_cx_checkout", "--scenario", str(SCENARIOS / "shop-checkout-html.yaml"),
                     "--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD")
    assert "yaml" in names                                               # it did read the scenario
    assert unwanted(names, ["jmespath", "cxcheck.sources", *BROWSER]) == []


@pytest.mark.parametrize("plugin, args", [
    ("check_cx_checkout", ["--scenario", str(SCENARIOS / "shop-checkout-html.yaml"), "--var-env",
                           "password=SHOP_PASSWORD"]),
    ("check_cx_transaction", ["--scenario", str(SCENARIOS / "shop-checkout-api.yaml"), "--var-env",
                              "password=SHOP_PASSWORD", "--attempts", "1"]),
    ("check_cx_login", ["-u", "/accounts/login/", "--username", ACCOUNT, "--password-env", "SHOP_PASSWORD"]),
])
def test_http_journeys_import_no_browser(shop, plugin, args):
    args = [f"{shop.url}{a}" if a.startswith("/accounts") else a for a in args]
    names = imported(plugin, *args, "--var", f"base_url={shop.url}") if "--scenario" in args else \
        imported(plugin, *args)
    assert "requests" in names                                           # it did run over HTTP
    assert unwanted(names, BROWSER) == []


def test_browser_journey_imports_the_browser_and_no_http_stack(shop):
    from conftest import need_browser

    need_browser()
    names = imported("check_cx_checkout", "--scenario", str(SCENARIOS / "shop-login-browser.yaml"),
                     "--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD")
    assert "cxcheck.browser.session" in names and "selenium" in names
    assert unwanted(names, ["requests", "cxcheck.http", "lxml", "jmespath", "cxcheck.journey.runner"]) == []


def test_page_drives_the_browser_without_the_http_stack(shop):
    from conftest import need_browser

    need_browser()
    names = imported("check_cx_page", "-u", f"{shop.url}/catalogue/")
    assert "cxcheck.browser.session" in names and "selenium" in names              # it did open the page
    assert unwanted(names, ["requests", "cxcheck.http", "lxml", "yaml", "jmespath", "cxcheck.journey.runner",
                            "cxcheck.sources"]) == []


@pytest.mark.parametrize("args", [["--help"], ["-u", "example.com"], ["-u", "http://127.0.0.1:9/", "--window", "big"],
                                  ["-u", "http://127.0.0.1:9/", "--screenshot-dir", "/nonexistent/shots"]])
def test_page_help_and_usage_errors_start_no_browser(args):
    names = imported("check_cx_page", *args, codes=(0,) if args == ["--help"] else (3,))
    assert unwanted(names, ["selenium", "cxcheck.browser.session", *HTTP_STACK, "yaml"]) == []


def test_checkout_with_json_expressions_does_import_jmespath(shop):
    # The other side of the test above: the guard sees a lazily imported module when it is used.
    names = imported("check_cx_checkout", "--scenario", str(SCENARIOS / "shop-checkout-api.yaml"),
                     "--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD")
    assert "jmespath" in names
    assert unwanted(names, ["lxml", *BROWSER]) == []                     # no form on the way: no HTML parser


@pytest.mark.parametrize("plugin, args", [
    ("check_cx_csat", ["--csv", str(CSAT_SAMPLE), "--now", "2026-11-01T00:00:00Z"]),
    ("check_cx_support", ["--csv", str(TICKETS_SAMPLE), "--now", "2026-11-01T00:00:00Z"]),
    ("check_cx_support", ["--csv", str(TICKETS_SAMPLE), "--now", "2026-11-01T00:00:00Z", "--metric", "backlog"]),
])
def test_csat_and_support_from_a_csv_need_no_http_stack(plugin, args):
    names = imported(plugin, *args, codes=(0, 1, 2))
    assert "cxcheck.sources.exports" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, *BROWSER]) == []


def test_nps_from_a_csv_needs_no_http_yaml_jmespath_or_survey_apis():
    names = imported("check_cx_nps", "--csv", str(NPS_SAMPLE), "--now", "2026-11-01T00:00:00Z",
                     "--window", "30d", codes=(0, 1, 2))
    assert "cxcheck.sources.survey_exports" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, *BROWSER]) == []


def test_apdex_from_a_log_needs_no_http_stack_or_prometheus(tmp_path):
    log = tmp_path / "access.log"
    log.write_text('203.0.113.7 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 1534 "-" "curl/8" 0.120\n')
    names = imported("check_cx_apdex", "--log", str(log), "-T", "0.5", "--state-file", str(tmp_path / "s.json"))
    assert {"cxcheck.sources.logtail", "cxcheck.sources.accesslog", "cxcheck.sources.loglines"} <= names  # it read
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, "cxcheck.bases.survey",
                            "cxcheck.sources.survey_exports", *BROWSER]) == []


def test_churn_from_an_events_export_needs_no_http_yaml_or_jmespath(tmp_path):
    export = tmp_path / "events.csv"
    export.write_text("customer,event,date\nc1,subscribed,2026-09-01\nc1,cancelled,2026-10-20\n")
    names = imported("check_cx_churn", "--events-csv", str(export), "--now", "2026-11-01T00:00:00Z", codes=(0, 1, 2))
    assert "cxcheck.sources.churnevents" in names and "cxcheck.stats" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, "zoneinfo", *BROWSER]) == []


def test_payments_and_revenue_from_exports_need_no_http_yaml_or_jmespath(tmp_path):
    payments = tmp_path / "payments.csv"
    payments.write_text("Created date (UTC),Status,Amount,Currency\n2026-10-31 10:00:00,Paid,25.00,eur\n"
                        "2026-10-31 11:00:00,Failed,25.00,eur\n")
    names = imported("check_cx_payments", "--payments-csv", str(payments), "--now", "2026-11-01T00:00:00Z",
                     codes=(0, 1, 2))
    assert "cxcheck.sources.payment_exports" in names and "cxcheck.stats" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, "zoneinfo", *BROWSER]) == []
    subscriptions = tmp_path / "subscriptions.csv"
    subscriptions.write_text("Customer ID,Status,Start Date (UTC),Plan Amount,Plan Interval,Currency\n"
                             "cus_1,active,2026-01-01 00:00:00,49.00,month,eur\n")
    names = imported("check_cx_revenue", "--subscriptions-csv", str(subscriptions), "--now", "2026-11-01T00:00:00Z",
                     codes=(0,))
    assert "cxcheck.revenue" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, "zoneinfo", *BROWSER]) == []


@pytest.mark.parametrize("plugin, args", [
    ("check_cx_login", ["-w", "abc"]),                              # argparse's check
    ("check_cx_login", ["-u", "http://127.0.0.1:9/"]),              # ours: --username missing
    ("check_cx_login", ["--scenario", "/nonexistent/login.yaml"]),  # no file: not even yaml
    ("check_cx_checkout", ["--scenario", "x.yaml", "--runs", "0"]),
    ("check_cx_checkout", ["--scenario", "/nonexistent/checkout.yaml"]),
    ("check_cx_transaction", ["-w", "abc"]),
    ("check_cx_nps", ["--csv", "x.csv", "--window", "yesterday"]),
    ("check_cx_nps", ["--csv", "/nonexistent/export.csv"]),
    ("check_cx_csat", ["--csv", "x.csv", "--satisfied", "9-10"]),
    ("check_cx_support", ["--csv", "x.csv", "-w", "4 hours"]),
    ("check_cx_support", ["--zendesk", "acme"]),                     # no token
    ("check_cx_apdex", ["--log", "/nonexistent/access.log", "-T", "0.5", "--state-file", "/tmp/x.json"]),
    ("check_cx_apdex", ["--prometheus", "http://127.0.0.1:9", "-T", "0.5"]),
    ("check_cx_conversion", ["--prometheus", "http://127.0.0.1:9", "--entered-query", "x"]),
    ("check_cx_conversion", ["--window", "soon"]),
    ("check_cx_churn", ["--events-csv", "/nonexistent/events.csv"]),
    ("check_cx_churn", ["--pipedrive", "acme"]),                          # no token given
    ("check_cx_payments", ["--stripe"]),                                   # no key given
    ("check_cx_payments", ["--payments-csv", "/nonexistent/payments.csv"]),
    ("check_cx_revenue", ["--stripe", "--window", "a month"]),
    ("check_cx_revenue", ["--subscriptions-csv", "/nonexistent/subscriptions.csv"]),
])
def test_a_usage_error_needs_no_http_stack(plugin, args):
    names = imported(plugin, *args, codes=(3,))
    rates = plugin in ("check_cx_conversion", "check_cx_churn", "check_cx_payments")  # no statistics to judge nothing
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, *(STATISTICS if rates else []),
                            *BROWSER]) == []


@pytest.mark.parametrize("plugin", ["check_cx_login", "check_cx_checkout", "check_cx_nps", "check_cx_csat",
                                    "check_cx_support", "check_cx_apdex", "check_cx_conversion", "check_cx_churn",
                                    "check_cx_payments", "check_cx_revenue"])
def test_help_needs_no_http_stack(plugin):
    names = imported(plugin, "--help")
    rates = plugin in ("check_cx_conversion", "check_cx_churn", "check_cx_payments")
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, *(STATISTICS if rates else []),
                            *BROWSER]) == []


# What the sentiment of comments and the stores' signed tokens need: only runs that ask for them.
SENTIMENT = ["cxcheck.sentiment", "vaderSentiment"]
STORE_TOKENS = ["jwt", "cryptography", "cxcheck.sources.storetokens"]


def _reviews_export(tmp_path, language: str = "en"):
    export = tmp_path / "reviews.csv"
    comment = "Delivery was late" if language == "en" else "Livraison en retard"
    export.write_text("date,stars,comment\n" + f"2026-10-30T00:00:00Z,2,{comment}\n" * 12)
    return str(export)


def test_ratings_from_an_export_without_sentiment_needs_no_http_scorer_or_tokens(tmp_path):
    names = imported("check_cx_ratings", "--csv", _reviews_export(tmp_path), "--now", "2026-11-01T00:00:00Z",
                     codes=(0, 1, 2))
    assert "cxcheck.sources.reviewfiles" in names
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SURVEY_APIS, *SENTIMENT, *STORE_TOKENS, *BROWSER]) == []


def test_sentiment_imports_the_scorer_and_vader_only_for_english(tmp_path):
    english = imported("check_cx_ratings", "--csv", _reviews_export(tmp_path), "--now", "2026-11-01T00:00:00Z",
                       "--sentiment", "--language", "en", codes=(0, 1, 2))
    assert {"cxcheck.sentiment.english", "vaderSentiment"} <= english
    assert unwanted(english, [*HTTP_STACK, *STORE_TOKENS, "cxcheck.sentiment.french"]) == []
    french = imported("check_cx_ratings", "--csv", _reviews_export(tmp_path, "fr"), "--now", "2026-11-01T00:00:00Z",
                      "--sentiment", "--language", "fr", codes=(0, 1, 2))
    assert "cxcheck.sentiment.french" in french
    assert unwanted(french, ["vaderSentiment", "cxcheck.sentiment.english", *HTTP_STACK, *STORE_TOKENS]) == []


def test_nps_without_sentiment_imports_no_scorer():
    names = imported("check_cx_nps", "--csv", str(NPS_SAMPLE), "--now", "2026-11-01T00:00:00Z", codes=(0, 1, 2))
    assert unwanted(names, SENTIMENT) == []


@pytest.mark.parametrize("args", [["--help"], ["--app-store", "not-a-number"], ["--google-play", "x"]])
def test_ratings_help_and_usage_errors_need_no_http_scorer_or_tokens(args):
    names = imported("check_cx_ratings", *args, codes=(0,) if args == ["--help"] else (3,))
    assert unwanted(names, [*HTTP_STACK, "yaml", "jmespath", *SENTIMENT, *STORE_TOKENS, *BROWSER]) == []
