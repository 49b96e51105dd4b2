"""Mixpanel: a saved funnel through the Query API, GET /api/query/funnels with project_id,
funnel_id, from_date and to_date (inclusive dates in the project's time zone) and interval (days
per bucket: the whole window in one). Service-account auth: HTTP Basic, the account's user name
and secret. Regional hosts: mixpanel.com (US), eu.mixpanel.com, in.mixpanel.com.

The answer holds one bucket per date under `data`, each with `steps` (`count`, `step_label` or
`event`) and an `analysis`; counts are summed over the buckets. The Query API allows 60 queries an
hour and 5 at once per project: one query per window, said on a 429.
"""

from __future__ import annotations

import re

from cxcheck.runtime import excerpt
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.funnels import Funnel, Step, count

DAY = 86400
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

    def __init__(self, value, run):
        super().__init__(value, run)
        args = self.args
        if not DIGITS.match(str(value)):
            raise ConfigError(f"--mixpanel {value!r}: the project id is a number")
        if not args.funnel_id or not DIGITS.match(args.funnel_id):
            raise ConfigError("--mixpanel needs --funnel-id, the saved funnel's number")
        if not args.service_account:
            raise ConfigError("--mixpanel needs --service-account USERNAME (the secret from --token-env/--token-file)")
        for option, seconds in (("--window", args.window), ("--compare-to", args.compare_to)):
            if seconds and seconds % DAY:
                raise ConfigError(f"--mixpanel: {option} {seconds} is not whole days: Mixpanel counts by date")
        self.zone = time_zone(args.project_timezone)
        self.base_url = args.api_url or REGIONS[args.region]

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
        params = {"project_id": self.value, "funnel_id": args.funnel_id, "from_date": first, "to_date": last,
                  "interval": round((until - since) / DAY)}
        if args.workspace_id:
            params["workspace_id"] = args.workspace_id
        body = client.get_json(client.url("/funnels"), params=params, what=f"funnel {args.funnel_id} {first}..{last}")
        note = (f"Mixpanel funnel {args.funnel_id}: dates {first}..{last} in {args.project_timezone} "
                "(the project's time zone), whole days")
        return Funnel(summed_steps(body), note)


def summed_steps(body) -> list[Step]:
    """The steps of every date bucket, counts summed; an undocumented shape names its key."""
    if isinstance(body, dict) and body.get("error"):
        raise SourceError(f"Mixpanel answered an error: {excerpt(str(body['error']), 200)}")
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise SourceError("Mixpanel answered JSON without a 'data' object of dates (not a funnels answer)")
    names: list[str] = []
    totals: list[int] = []
    for date, bucket in sorted(body["data"].items()):
        steps = bucket.get("steps") if isinstance(bucket, dict) else None
        if not isinstance(steps, list):
            raise SourceError(f"Mixpanel answer: data[{date!r}] has no 'steps' list")
        if names and len(steps) != len(names):
            raise SourceError(f"Mixpanel answer: data[{date!r}] has {len(steps)} steps, other dates {len(names)}")
        for index, step in enumerate(steps):
            if not isinstance(step, dict) or "count" not in step:
                raise SourceError(f"Mixpanel answer: data[{date!r}].steps[{index}] has no 'count'")
            value = count(step["count"], f"Mixpanel answer: data[{date!r}].steps[{index}].count")
            if len(names) <= index:
                label = step.get("step_label") or step.get("event") or step.get("goal")
                names.append(str(label or f"step {index + 1}"))
                totals.append(0)
            totals[index] += value
    return [Step(name, total) for name, total in zip(names, totals)]


def time_zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--project-timezone {name!r} is not a time zone such as Europe/Paris or UTC") from None
