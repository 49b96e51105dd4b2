"""check_cx_support: how long do customers wait for help?

--metric first-reply (default) or resolution: a percentile (--percentile 90, the median beside it
in perfdata) of the first reply or the full resolution time of the tickets created (or, --by
solved, solved) in --window, in calendar or, where the help desk gives them, business hours.
Tickets still waiting count with the time waited so far (calendar hours), so a help desk that
stops answering turns CRITICAL rather than silent. --metric backlog: the unsolved tickets older
than --older-than. Ranges take durations (-w 4h -c 8h) or seconds; perfdata is in seconds.
"""

from __future__ import annotations

import argparse
import time
from array import array

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases.samples import RejectsRows, add_max_rejected, add_minimum, add_now
from cxcheck.runtime import Duration, perf_value

EXAMPLES = """
  # the 90th percentile of the first reply over tickets created in the last 7 days, from Zendesk
  check_cx_support --zendesk acme --zendesk-email ops@acme.example --token-env ZENDESK_TOKEN -w 4h -c 8h

  # resolution time in business hours, tickets solved in the last 30 days, the 75th percentile
  check_cx_support --zendesk acme --token-env ZENDESK_OAUTH --metric resolution --hours business \\
      --window 30d --percentile 75 -w 2d -c 4d

  # HubSpot tickets; a CSV export (created_at, first_reply_at, solved_at)
  check_cx_support --hubspot --token-env HUBSPOT_TOKEN -w 1h -c 4h
  check_cx_support --csv /var/lib/cx/tickets.csv --window 7d -w 4h -c 8h

  # more than 20 tickets unsolved for over a day warns, 50 is critical
  check_cx_support --zendesk acme --zendesk-email ops@acme.example --token-env ZENDESK_TOKEN \\
      --metric backlog --older-than 24h -w 20 -c 50
"""

METRICS = ("first-reply", "resolution", "backlog")


def percentile_option(text: str) -> float:
    value = runtime.positive_float(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a percentile is at most 100")
    return value


def build_parser() -> runtime.Parser:
    from cxcheck.sources.registry import add_source_arguments

    parser = runtime.Parser("check_cx_support", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the percentile (durations, e.g. -w 4h -c 8h; bare numbers are seconds) "
                                        "or, with --metric backlog, the number of tickets",
                            range_type=runtime.DurationRange,
                            thresholds=runtime.CEILING)
    reading = add_source_arguments(parser, "tickets", "the tickets")
    add_max_rejected(reading.group, "percentile")
    what = parser.add_argument_group("what to measure")
    what.add_argument("--metric", choices=METRICS, default="first-reply",
                      help="first-reply (default), resolution, or backlog (unsolved tickets older than --older-than)")
    what.add_argument("--percentile", type=percentile_option, default=90.0, metavar="P",
                      help="the percentile judged (default 90; the median is in perfdata too)")
    what.add_argument("--hours", choices=("calendar", "business"), default="calendar",
                      help="calendar (default) or business hours, where the help desk gives them (Zendesk)")
    what.add_argument("--by", choices=("created", "solved"),
                      help="tickets created or solved in the window (default: created for first-reply, "
                           "solved for resolution)")
    what.add_argument("--window", type=Duration, default=Duration("7d"), metavar="DURATION",
                      help="how far back, such as 24h, 7d or 4w (default 7d)")
    add_now(what)
    what.add_argument("--older-than", type=Duration, default=Duration("24h"), metavar="DURATION",
                      help="--metric backlog: count unsolved tickets created longer ago than this (default 24h)")
    add_minimum(what, "--min-tickets", 10, "tickets", more=": a percentile of a handful says little")
    parser.add_http_options()
    return parser


class Waits(RejectsRows, nagiosplugin.Resource):
    """One pass over the tickets of the window: the waits, sorted for the percentiles."""

    name = "CX SUPPORT"

    def __init__(self, source, args, now: float):
        from cxcheck.sources.rows import Rejects

        self.source, self.args, self.now = source, args, now
        self.measure, self.hours, self.window = args.metric, args.hours, args.window
        self.by = args.by or ("created" if args.metric == "first-reply" else "solved")
        self.prefix = args.metric.replace("-", "_")
        self.label = f"{self.prefix}_p{args.percentile:g}".replace(".", "_")
        self.rejects = Rejects()
        self.read = self.counted = self.waiting = 0
        self.longest_waiting = None
        self.value = self.median = None
        self.measures = "percentile"

    @property
    def sample_size(self) -> int:
        return self.counted

    def probe(self):
        from cxcheck.stats import percentile

        now, start, calendar = self.now, self.now - self.window, self.hours == "calendar"
        by_created, first_reply = self.by == "created", self.measure == "first-reply"
        waits = array("d")          # 8 bytes a ticket, whatever the source's page size
        for created, solved, seconds in self.source.read_tickets(self.measure, self.hours, self.by, start, now,
                                                                 self.rejects):
            self.read += 1
            anchor = created if by_created else solved
            if anchor is None or not start < anchor <= now:
                continue
            if seconds is not None and (not by_created or created + seconds <= now):
                waits.append(seconds)
            elif by_created and (solved is None or solved > now or not first_reply):
                # Still waiting at `now`: it waited at least this long (calendar time).
                waited = now - created
                self.waiting += 1
                self.longest_waiting = max(self.longest_waiting or 0.0, waited)
                if calendar:
                    waits.append(waited)
        ordered = sorted(waits)
        self.counted = len(ordered)
        self.value = percentile(ordered, self.args.percentile)
        self.median = percentile(ordered, 50)
        yield nagiosplugin.Metric(self.label, perf_value(self.value), "s", min=0, context="judged")
        if self.label != f"{self.prefix}_p50":
            yield nagiosplugin.Metric(f"{self.prefix}_p50", perf_value(self.median), "s", min=0, context="median")
        yield nagiosplugin.Metric("tickets", self.counted, "c", min=0, context="tickets")
        yield nagiosplugin.Metric("waiting", self.waiting, "c", min=0, context="waiting")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")


class Backlog(RejectsRows, nagiosplugin.Resource):
    """The unsolved tickets created before now - --older-than, and how old the oldest is."""

    name = "CX SUPPORT"
    label = measures = "backlog"

    def __init__(self, source, args, now: float):
        from cxcheck.sources.rows import Rejects

        self.source, self.args, self.now = source, args, now
        self.rejects = Rejects()
        self.read = 0
        self.value = self.oldest = None

    def probe(self):
        self.value, oldest, examined = self.source.read_backlog(self.now - self.args.older_than, self.rejects)
        self.read = self.value if examined is None else examined
        self.oldest = None if oldest is None else self.now - oldest
        yield nagiosplugin.Metric("backlog", self.value, "c", min=0, context="judged")
        yield nagiosplugin.Metric("oldest_unsolved", perf_value(self.oldest), "s", min=0, context="oldest_unsolved")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")


def support_check(run: runtime.Run) -> nagiosplugin.Check:
    from cxcheck.checks.support.verdicts import contexts_for, summary_for
    from cxcheck.sources.registry import open_source

    args = run.args
    backlog = args.metric == "backlog"
    for given in (args.warning, args.critical):
        if backlog and given is not None and given.units:
            raise runtime.ConfigError(f"--metric backlog counts tickets: give -w/-c as numbers, not {given.text}")
    source = open_source(run, "tickets")
    if args.hours == "business" and not source.business_hours:
        raise runtime.ConfigError(f"{source.name} gives calendar times only: no --hours business")
    now = args.now if args.now is not None else time.time()
    resource = (Backlog if backlog else Waits)(source, args, now)
    return nagiosplugin.Check(resource, *contexts_for(resource, args, run.state(args.low_sample_state)),
                              summary_for(resource, args))


@runtime.plugin("CX SUPPORT", build_parser)
def main(run: runtime.Run):
    return support_check(run)

