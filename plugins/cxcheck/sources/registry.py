"""Which sources exist, by the kind of data they provide. A new source: its module, one line here.

Kinds (base.py says what each reader yields): `responses` are survey answers, (unix time, score)
on the check's scale; `tickets` are support tickets, (created, solved, seconds waited);
`response_times` are how long requests took, with the Apdex of a target (latency.ResponseTimes);
`funnel` gives a funnel's steps per window (sources.funnels); `churn` the customers lost among
those who could be, per window (sources.churn); `transactions` the successes of customers'
transactions per window (sources.transactions); `reviews` store and review-site reviews,
sources.reviews.Review (time, stars, version, text); `payments` the attempts, failures, refunds
and disputes per window (sources.payments); `subscriptions` the subscriptions MRR is computed
from (revenue.Subscription). Sources are imported when a plugin builds its
parser: their modules must import nothing heavy at top level.
"""

from __future__ import annotations

from cxcheck.runtime import ConfigError, Run, refuse_on_argv
from cxcheck.sources.base import Options, Source

SOURCES = {
    "responses": [
        "cxcheck.sources.survey_exports:CsvExport",
        "cxcheck.sources.survey_exports:JsonLinesExport",
        "cxcheck.sources.jsonresponses:JsonResponses",
        "cxcheck.sources.surveymonkey:SurveyMonkey",
        "cxcheck.sources.delighted:Delighted",
        "cxcheck.sources.typeform:Typeform",
        "cxcheck.sources.zendesk:Zendesk",
        "cxcheck.sources.hubspot:HubSpot",
    ],
    "tickets": [
        "cxcheck.sources.tickets:TicketCsvExport",
        "cxcheck.sources.tickets:TicketJsonLinesExport",
        "cxcheck.sources.zendesk:Zendesk",
        "cxcheck.sources.hubspot:HubSpot",
    ],
    "response_times": [
        "cxcheck.sources.weblog:AccessLog",
        "cxcheck.sources.histogram:PrometheusHistogram",
    ],
    "funnel": [
        "cxcheck.sources.mixpanel:Mixpanel",
        "cxcheck.sources.promfunnel:PrometheusFunnel",
        "cxcheck.sources.jsonfunnel:JsonFunnel",
    ],
    "transactions": [
        "cxcheck.sources.promtransactions:PrometheusTransactions",
        "cxcheck.sources.jsontransactions:JsonTransactions",
    ],
    "churn": [
        "cxcheck.sources.pipedrive:Pipedrive",
        "cxcheck.sources.hubspot_deals:HubSpotDeals",
        "cxcheck.sources.churnevents:CsvEvents",
        "cxcheck.sources.churnevents:JsonLinesEvents",
    ],
    "reviews": [
        "cxcheck.sources.appstore:AppStore",
        "cxcheck.sources.appstoreconnect:AppStoreConnect",
        "cxcheck.sources.googleplay:GooglePlay",
        "cxcheck.sources.trustpilot:Trustpilot",
        "cxcheck.sources.reviewfiles:ReviewCsvExport",
        "cxcheck.sources.reviewfiles:ReviewJsonLinesExport",
    ],
    "payments": [
        "cxcheck.sources.stripe:Stripe",
        "cxcheck.sources.payment_exports:PaymentsCsv",
        "cxcheck.sources.payment_exports:ChargesJsonLines",
        "cxcheck.sources.prompayments:PrometheusPayments",
    ],
    "subscriptions": [
        "cxcheck.sources.stripe_billing:StripeBilling",
        "cxcheck.sources.subscription_exports:SubscriptionsCsv",
        "cxcheck.sources.subscription_exports:SubscriptionsJsonLines",
    ],
}


def sources(kind: str, survey: str | None = None) -> list[type[Source]]:
    """The sources of a kind; of survey answers, those that hold the `survey` kind (NPS, CSAT)."""
    found = []
    for path in SOURCES[kind]:
        module, _, name = path.partition(":")
        # __import__, not importlib.import_module: only the import statement's path is seen by
        # -X importtime, which the import guard reads.
        cls = getattr(__import__(module, fromlist=[name]), name)
        if survey is None or cls.survey_kinds is None or survey in cls.survey_kinds:
            found.append(cls)
    return found


def add_source_arguments(parser, kind: str, what: str = "the data", survey: str | None = None):
    """The selecting options (one of) and each source's own options, in registry order."""
    classes = sources(kind, survey)
    select = parser.add_argument_group(f"where {what} are (one of)").add_mutually_exclusive_group()
    for cls in classes:
        if cls.metavar:
            select.add_argument(cls.option, metavar=cls.metavar, help=cls.help)
        else:
            select.add_argument(cls.option, action="store_true", help=cls.help)
    options = Options(parser.add_argument_group(f"reading {what}"))
    for cls in classes:
        cls.add_arguments(options)
    if any(cls.uses_api and not cls.endpoint for cls in classes):
        options.add("--api-url", metavar="URL", help="another base URL for the API (regional data centre, proxy)")
    if any(cls.uses_api for cls in classes):
        add_token_arguments(options)
    return options


def add_token_arguments(options) -> None:
    """The one token option set of every API source: --token-env/--token-file, also spelt
    --bearer-env/--bearer-file (what check_cx_transaction and check_cx_apdex took before);
    a token given as a value is refused."""
    options.add("--token-env", "--bearer-env", dest="token_env", metavar="VAR",
                help="environment variable holding the API (or bearer) token")
    options.add("--token-file", "--bearer-file", dest="token_file", metavar="PATH",
                help="file holding the API (or bearer) token")
    for flag in ("--token", "--bearer"):
        refuse_on_argv(options.group, flag, f"use {flag}-env VAR or {flag}-file PATH")


def open_source(run: Run, kind: str, survey: str | None = None) -> Source:
    """The source the arguments selected, built and validated."""
    classes = sources(kind, survey)
    for cls in classes:
        value = getattr(run.args, cls.dest(), None)
        if value:
            return cls(value, run)
    names = [cls.option for cls in classes]
    raise ConfigError(f"give a source: {', '.join(names[:-1])} or {names[-1]}")
