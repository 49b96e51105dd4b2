"""Mixpanel: a saved funnel through the Query API.

Read (https://docs.mixpanel.com/reference/funnels-query, the OpenAPI of the mixpanel/docs
repository, openapi/src/query.openapi.yaml): GET /api/query/funnels with project_id, funnel_id,
from_date and to_date (inclusive dates in the project's time zone), interval (days per bucket:
the whole window in one), length and length_unit (the conversion window). The answer holds one
bucket per date under `data`, each with `steps[]` (`count`; the name from `step_label`, `event`
or `goal`); counts are summed over the buckets, and each step counts at most the customers of the
step before (a funnel), else the answer is not a funnel's. Service-account auth
(https://docs.mixpanel.com/reference/query-api-authentication): HTTP Basic, the account's user
name and secret. Regional hosts: mixpanel.com (US), eu.mixpanel.com, in.mixpanel.com. Rate limits
(https://docs.mixpanel.com/reference/rate-limits): 60 queries an hour and 5 at once per project;
one query per window, said on a 429.

Maturity. Mixpanel counts a conversion up to the conversion window after the customer entered,
"past the end of to_date" (the funnels query's `length`), and the UI's default window is 30 days
(https://docs.mixpanel.com/docs/reports/funnels/funnels-conversion-criteria). Yesterday's
customers have had a day to convert, those of a week before eight: comparing them builds in a
drop. So the check reads only days whose conversion window has passed: the windows end
--conversion-window before --now (the source's `settles`), and that window is sent as `length`,
so the figures do not depend on what the saved report holds. The long output names the days read
and why.
"""

from __future__ import annotations

import re

from cxcheck.runtime import Duration, excerpt
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.funnels import Funnel, Step, count

DAY = 86400
MAX_LENGTH = 90 * DAY           # the Query API refuses a longer conversion window
UNITS = (("day", DAY), ("hour", 3600), ("minute", 60), ("second", 1))
REGIONS = {"us": "https://mixpanel.com/api/query", "eu": "https://eu.mixpanel.com/api/query",
           "in": "https://in.mixpanel.com/api/query"}
DIGITS = re.compile(r"^[0-9]{1,20}$")


class Mixpanel(ApiSource):
    name = "Mixpanel"
    option, metavar = "--mixpanel", "PROJECT_ID"
    help = ("a Mixpanel project's saved funnel (with --funnel-id, --service-account and the secret in "
            "--token-env/--token-file); 60 queries an hour per project")
    default_api = REGIONS["us"]
    rate_limit = ("Mixpanel's Query API allows 60 queries an hour and 5 at once per project, shared by all "
                  "its users; run this check less often, or with --no-compare")
    value_form = DIGITS, "the project id is a number"

    @classmethod
    def add_arguments(cls, options):
        options.add("--funnel-id", metavar="ID", help="--mixpanel: the saved funnel (its id in the report's URL)")
        options.add("--service-account", metavar="USERNAME",
                    help="--mixpanel: the service account's user name (its secret from --token-env/--token-file)")
        options.add("--region", choices=sorted(REGIONS), default="us",
                    help="--mixpanel: the project's data residency (default us)")
        options.add("--project-timezone", metavar="ZONE", default="UTC",
                    help="--mixpanel: the project's time zone, as in its settings (default UTC): Mixpanel "
                         "counts by date in that zone")
        options.add("--workspace-id", metavar="ID", help="--mixpanel: the data view, for projects that have them")
        options.add("--conversion-window", type=Duration, default=Duration("30d"), metavar="DURATION",
                    help="--mixpanel: how long a customer has to complete the funnel (default 30d, Mixpanel's own "
                         "default; at most 90d), sent as the query's length: the days read end that long before "
                         "--now, so every customer counted had the whole window to convert")

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if not args.funnel_id or not DIGITS.match(args.funnel_id):
            raise ConfigError("--mixpanel needs --funnel-id, the saved funnel's number")
        if not args.service_account:
            raise ConfigError("--mixpanel needs --service-account USERNAME (the secret from --token-env/--token-file)")
        for option, seconds in (("--window", args.window), ("--compare-to", args.compare_to)):
            if seconds and seconds % DAY:
                raise ConfigError(f"--mixpanel: {option} {seconds} is not whole days: Mixpanel counts by date")
        self.zone = time_zone(args.project_timezone)
        self.base_url = args.api_url or REGIONS[args.region]
        self.length = args.conversion_window
        if not 0 < self.length <= MAX_LENGTH:
            raise ConfigError(f"--conversion-window {self.length}: Mixpanel takes a conversion window of at most 90d")
        self.settles = float(self.length)       # the windows end this long before --now: their figures are final

    @property
    def credential(self) -> str:
        return f"the service account's secret ({self.token_origin})"

    def auth(self) -> dict:
        return self.basic_auth(self.args.service_account, self.token)   # the encoded form masked too

    def dates(self, since: float, until: float) -> tuple[str, str]:
        """The whole days of (since, until] in the project's time zone: the last is the day before
        the one `until` falls in (that one is not over), counted back for the window's length."""
        from datetime import datetime, timedelta

        last = datetime.fromtimestamp(until, self.zone).date() - timedelta(days=1)
        first = last - timedelta(days=round((until - since) / DAY) - 1)
        return first.isoformat(), last.isoformat()

    def read_funnel(self, since: float, until: float) -> Funnel:
        client, args = self.client, self.args
        first, last = self.dates(since, until)
        length, unit = conversion_length(self.length)
        params = {"project_id": self.value, "funnel_id": args.funnel_id, "from_date": first, "to_date": last,
                  "interval": round((until - since) / DAY), "length": length, "length_unit": unit}
        if args.workspace_id:
            params["workspace_id"] = args.workspace_id
        body = client.get_json(client.url("/funnels"), params=params, what=f"funnel {args.funnel_id} {first}..{last}")
        note = (f"Mixpanel funnel {args.funnel_id}: dates {first}..{last} in {args.project_timezone} "
                f"(the project's time zone), whole days whose {self.length} conversion window (sent as length "
                f"{length} {unit}) had passed by --now: later days are still converting")
        return Funnel(summed_steps(body), note)


def conversion_length(seconds: float) -> tuple[int, str]:
    """The query's length and length_unit for a conversion window: the largest unit it is whole in."""
    for unit, size in UNITS:
        if seconds % size == 0:
            return int(seconds // size), unit
    return max(int(round(seconds)), 1), "second"


def summed_steps(body) -> list[Step]:
    """The steps of every date bucket, counts summed; an undocumented shape names its key."""
    if isinstance(body, dict) and body.get("error"):
        raise SourceError(f"Mixpanel answered an error: {excerpt(str(body['error']), 200)}")
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise SourceError("Mixpanel answered JSON without a 'data' object of dates (not a funnels answer)")
    names: list[str] = []
    totals: list[int] = []
    for raw_date, bucket in sorted(body["data"].items(), key=lambda pair: str(pair[0])):
        date = excerpt(repr(raw_date), 40)
        steps = bucket.get("steps") if isinstance(bucket, dict) else None
        if not isinstance(steps, list):
            raise SourceError(f"Mixpanel answer: data[{date}] has no 'steps' list")
        if names and len(steps) != len(names):
            raise SourceError(f"Mixpanel answer: data[{date}] has {len(steps)} steps, other dates {len(names)}")
        for index, step in enumerate(steps):
            if not isinstance(step, dict) or "count" not in step:
                raise SourceError(f"Mixpanel answer: data[{date}].steps[{index}] has no 'count'")
            value = count(step["count"], f"Mixpanel answer: data[{date}].steps[{index}].count")
            if len(names) <= index:
                label = step.get("step_label") or step.get("event") or step.get("goal")
                names.append(excerpt(str(label), 80) if label else f"step {index + 1}")
                totals.append(0)
            totals[index] += value
    for index in range(1, len(totals)):
        if totals[index] > totals[index - 1]:
            raise SourceError(f"Mixpanel answer: step {index + 1} ({excerpt(names[index], 40)}) counts "
                              f"{totals[index]}, more than the {totals[index - 1]} of the step before: not a "
                              "funnel's counts")
    return [Step(name, total) for name, total in zip(names, totals)]


def time_zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--project-timezone {name!r} is not a time zone such as Europe/Paris or UTC") from None
