"""check_cx_nps: is the Net Promoter Score above its floor?

Reads survey responses where they live (an export, a JSON endpoint, SurveyMonkey, Delighted,
Typeform), computes the NPS over a window with its confidence interval, and judges it against
floors (-w 30: -c 0:). A survey is a sample: with --significant the state leaves OK only when the
whole interval lies below the floor, and under --min-responses nothing is judged at all.
"""

from __future__ import annotations

import time

import nagiosplugin

from cxcheck import runtime
from cxcheck.runtime import ConfigError, Duration, MaybeContext

EXAMPLES = """
  # an export, the last 30 days: warn under 30, critical under 0
  check_cx_nps --csv /var/lib/cx/nps.csv --window 30d -w 30: -c 0:

  # only page when the drop below the floor is statistically significant at 95 %
  check_cx_nps --csv /var/lib/cx/nps.csv -w 30: -c 10: --significant --min-responses 50

  # Delighted, warn when the NPS dropped more than 10 points from the previous 7 days
  check_cx_nps --delighted --token-file /etc/cxcheck/delighted.key --window 7d --max-drop 10

  # SurveyMonkey and Typeform
  check_cx_nps --surveymonkey 123456789 --question-id 987654 --token-env SM_TOKEN -w 30:
  check_cx_nps --typeform AbCdEf --field-ref nps --token-env TF_TOKEN -w 30:
"""
def now_time(text: str) -> float:
    import argparse

    from cxcheck.sources.responses import TimeParser

    value = TimeParser()(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time or unix seconds")
    return value


def confidence(text: str) -> float:
    import argparse

    value = runtime.positive_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a confidence between 0 and 1, such as 0.95")
    return value


def build_parser() -> runtime.Parser:
    parser = runtime.Parser("check_cx_nps", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the NPS (floors, e.g. -w 30: -c 0:)")
    where = parser.add_argument_group("where the responses are (one of)")
    source = where.add_mutually_exclusive_group()
    source.add_argument("--csv", metavar="FILE", help="a CSV export (- for standard input)")
    source.add_argument("--jsonl", metavar="FILE", help="JSON Lines, one response object per line")
    source.add_argument("--json-url", metavar="URL", help="a JSON endpoint (with --items, --next)")
    source.add_argument("--surveymonkey", metavar="SURVEY_ID", help="a SurveyMonkey survey (with --question-id)")
    source.add_argument("--delighted", action="store_true", help="Delighted's survey responses")
    source.add_argument("--typeform", metavar="FORM_ID", help="a Typeform form (with --field-ref)")
    fields = parser.add_argument_group("reading the responses")
    fields.add_argument("--score-column", "--score-field", dest="score_column", metavar="NAME",
                        help="the score column or field (default: the first named like score, rating, nps, "
                             "likelihood; JSON: score)")
    fields.add_argument("--date-column", "--date-field", dest="date_column", metavar="NAME",
                        help="the date column or field (default: the first named like date, created_at, "
                             "submitted_at, timestamp; JSON: created_at)")
    fields.add_argument("--date-format", action="append", default=[], metavar="STRPTIME",
                        help="a date format such as %%d/%%m/%%Y %%H:%%M, repeatable for mixed formats "
                             "(default: ISO 8601 or unix seconds)")
    fields.add_argument("--items", metavar="JMESPATH", default="@", help="--json-url: where the list is (default @)")
    fields.add_argument("--next", metavar="JMESPATH", help="--json-url: where the next page's URL is")
    fields.add_argument("--question-id", metavar="QID", help="--surveymonkey: the NPS question")
    fields.add_argument("--field-ref", metavar="REF", help="--typeform: the NPS field's ref")
    fields.add_argument("--api-url", metavar="URL", help="another base URL for the survey API "
                        "(regional data centre, proxy)")
    parser.add_secret("token", "API token", fields)
    fields.add_argument("--max-rejected", type=runtime.non_negative_float, default=5.0, metavar="PERCENT",
                        help="more rows than this share unreadable is UNKNOWN: the NPS would lie (default 5)")
    judge = parser.add_argument_group("window and statistics")
    judge.add_argument("--window", type=Duration, default=Duration("30d"), metavar="DURATION",
                       help="how far back, such as 24h, 30d or 4w (default 30d)")
    judge.add_argument("--now", type=now_time, metavar="TIME", help="the window's end (default: now), "
                       "ISO 8601 or unix seconds, for reproducible runs")
    judge.add_argument("--confidence", type=confidence, default=0.95, metavar="LEVEL",
                       help="of the interval (default 0.95)")
    judge.add_argument("--significant", action="store_true",
                       help="leave OK only when the whole interval is below the floor; with --max-drop, "
                            "warn only when the whole interval of the drop exceeds it")
    judge.add_argument("--min-responses", type=runtime.positive_int, default=30, metavar="N",
                       help="fewer responses is --low-sample-state (default 30)")
    judge.add_argument("--low-sample-state", choices=list(runtime.STATE_CODES), default="unknown",
                       help="state under --min-responses (default unknown)")
    judge.add_argument("--max-drop", type=runtime.positive_float, metavar="POINTS",
                       help="warn when the NPS dropped more than this from the previous window")
    parser.add_http_options()
    return parser


def floor_text(bound: nagiosplugin.Range) -> str:
    """'30:' reads as the floor 30; other ranges as written."""
    if not bound.invert and bound.end == float("inf"):
        return f"{bound.start:g}"
    return str(bound)


def points(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


class Responses(nagiosplugin.Resource):
    """One pass over the source: the window's tally, the previous window's, the rejects."""

    def __init__(self, run: runtime.Run, open_source, window: float, now: float, with_previous: bool,
                 confidence_level: float):
        from cxcheck.sources.responses import Rejects
        from cxcheck.stats import Tally

        self.run = run
        self.open_source = open_source
        self.window, self.now = window, now
        self.with_previous = with_previous
        self.confidence = confidence_level
        self.rejects = Rejects()
        self.current, self.previous = Tally(), Tally()
        self.read = 0
        self.interval = None
        self.notes: list[str] = []      # judgements worth a long-output line though they left the state OK

    @property
    def name(self):
        return "CX NPS"

    @property
    def rejected_share(self) -> float:
        total = self.read + self.rejects.count
        return 100.0 * self.rejects.count / total if total else 0.0

    def probe(self):
        from cxcheck.stats import Tally

        start, now = self.now - self.window, self.now
        oldest = start - self.window if self.with_previous else start
        # Counts per score, not a call per answer: a million rows go through this loop.
        current, previous = [0] * 11, [0] * 11
        read = 0
        for when, score in self.open_source(oldest, now, self.rejects):
            read += 1
            if start < when <= now:
                current[score] += 1
            elif oldest < when <= start:
                previous[score] += 1
        self.read = read
        self.current, self.previous = Tally.of_counts(current), Tally.of_counts(previous)
        tally = self.current
        self.interval = tally.interval(self.confidence)
        low, high = self.interval or (None, None)
        yield nagiosplugin.Metric("nps", _round(tally.nps), min=-100, max=100, context="nps")
        yield nagiosplugin.Metric("nps_low", _round(low), min=-100, max=100, context="nps_low")
        yield nagiosplugin.Metric("nps_high", _round(high), min=-100, max=100, context="nps_high")
        for label, count in (("promoters", tally.promoters), ("passives", tally.passives),
                             ("detractors", tally.detractors)):
            yield nagiosplugin.Metric(label, _round(tally.share(count)), "%", min=0, max=100, context=label)
        yield nagiosplugin.Metric("responses", tally.responses, "c", min=0, context="responses")
        yield nagiosplugin.Metric("rejected", self.rejects.count, "c", min=0, context="rejected")
        if self.with_previous:
            yield nagiosplugin.Metric("nps_previous", _round(self.previous.nps), min=-100, max=100,
                                      context="nps_previous")


def _round(value):
    return None if value is None else round(value, 2)


def interval_violates(bound: nagiosplugin.Range, low: float, high: float) -> bool:
    """Does the whole interval [low, high] lie where the range alerts?"""
    if bound.invert:
        return bound.start <= low and high <= bound.end
    return high < bound.start or low > bound.end


class Verdicts:
    """The order in which the numbers are trusted: rows readable, enough answers, then the floor."""

    def __init__(self, resource: Responses, args):
        self.resource, self.args = resource, args

    @property
    def unreadable(self) -> bool:
        return self.resource.rejected_share > self.args.max_rejected

    @property
    def low_sample(self) -> bool:
        return self.resource.current.responses < self.args.min_responses

    @property
    def judged(self) -> bool:
        return not self.unreadable and not self.low_sample


class RejectedContext(nagiosplugin.Context):
    def __init__(self, verdicts: Verdicts):
        super().__init__("rejected")
        self.verdicts = verdicts

    def evaluate(self, metric, resource):
        if self.verdicts.unreadable:
            share = resource.rejected_share
            return self.result_cls(nagiosplugin.Unknown, f"{metric.value} of {resource.read + metric.value} rows "
                                   f"rejected ({share:.1f}% > {self.verdicts.args.max_rejected:g}%): the NPS would lie",
                                   metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, metric.value, "c", min=0)


class ResponsesContext(nagiosplugin.Context):
    def __init__(self, verdicts: Verdicts, state):
        super().__init__("responses")
        self.verdicts, self.state = verdicts, state

    def evaluate(self, metric, resource):
        if self.verdicts.low_sample and not self.verdicts.unreadable:
            count = f"only {metric.value} responses" if metric.value else "no responses"
            return self.result_cls(self.state, f"{count} in {resource.window} "
                                   f"(at least {self.verdicts.args.min_responses} needed to judge)", metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return nagiosplugin.Performance(metric.name, metric.value, "c", min=0)


class NpsContext(MaybeContext):
    """Floors on the NPS; with --significant only a breach by the whole interval counts."""

    def __init__(self, verdicts: Verdicts, warning, critical, significant: bool):
        super().__init__("nps", warning, critical)
        self.verdicts, self.significant = verdicts, significant

    def evaluate(self, metric, resource):
        if metric.value is None or not self.verdicts.judged:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        for state, bound in self.given():
            if self.significant:
                low, high = resource.interval
                if interval_violates(bound, low, high):
                    return self.result_cls(state, f"whole interval outside {bound}", metric)
            elif not bound.match(metric.value):
                return self.result_cls(state, bound.violation, metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)


class DropContext(MaybeContext):
    def __init__(self, verdicts: Verdicts, max_drop: float):
        super().__init__("nps_previous")
        self.verdicts, self.max_drop = verdicts, max_drop

    def evaluate(self, metric, resource):
        current = resource.current.nps
        enough = resource.previous.responses >= self.verdicts.args.min_responses
        if self.verdicts.judged and not enough:
            resource.notes.append(f"previous {resource.window}: {resource.previous.responses} responses, too few "
                                  f"to compare (at least {self.verdicts.args.min_responses})")
        if metric.value is None or current is None or not self.verdicts.judged or not enough:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        drop = metric.value - current
        if drop <= self.max_drop:
            return self.result_cls(nagiosplugin.Ok, None, metric)
        text = (f"dropped {points(drop)} points from {points(metric.value)} in the previous {resource.window} "
                f"(> {self.max_drop:g})")
        if self.verdicts.args.significant:
            # Both windows are samples: the drop counts only when its whole interval is above --max-drop.
            from cxcheck.stats import drop_lower_bound

            least = drop_lower_bound(resource.previous, resource.current, resource.confidence)
            level = f"{resource.confidence * 100:g}%"
            if least <= self.max_drop:
                resource.notes.append(f"{text}, not significantly: at {level} the drop may be as small as "
                                      f"{points(least)}")
                return self.result_cls(nagiosplugin.Ok, None, metric)
            text = f"{text}, significantly: at least {points(least)} at {level}"
        return self.result_cls(nagiosplugin.Warn, text, metric)


class NpsSummary(nagiosplugin.Summary):
    def __init__(self, resource: Responses, args):
        self.resource, self.args = resource, args

    def _score(self) -> str:
        r = self.resource
        tally = r.current
        if tally.nps is None:
            return f"no responses in {r.window}"
        low, high = r.interval
        level = f"{r.confidence * 100:g}%"
        return (f"NPS {points(tally.nps)} ({level} CI {points(low)}..{points(high)}, n={tally.responses}) "
                f"over {r.window}")

    def ok(self, results):
        low_sample = next((result for result in results if result.metric.name == "responses" and result.hint), None)
        if low_sample is not None:          # --low-sample-state ok: still say why nothing was judged
            return self.problem_text(low_sample)
        text = self._score()
        breached = self._breached_not_significantly()
        if breached is not None:
            text += f", below floor {floor_text(breached)} but not significantly"
        elif self.args.warning or self.args.critical:
            text += f", floor {floor_text(nagiosplugin.Range(self.args.warning or self.args.critical))}"
        if self.args.max_drop and self.resource.previous.nps is not None:
            text += f", previous {points(self.resource.previous.nps)}"
        return text

    def _breached_not_significantly(self):
        """With --significant, the floor the point estimate is under while the interval reaches above it."""
        nps = self.resource.current.nps
        if not self.args.significant or nps is None:
            return None
        for spec in (self.args.critical, self.args.warning):
            if spec is not None and not nagiosplugin.Range(spec).match(nps):
                return nagiosplugin.Range(spec)
        return None

    def problem(self, results):
        return self.problem_text(results.first_significant)

    def problem_text(self, worst):
        if worst.metric.name == "nps":
            floor = worst.metric.contextobj.critical if worst.state == nagiosplugin.Critical \
                else worst.metric.contextobj.warning
            below = "significantly below" if self.args.significant else "below"
            return f"{self._score()} {below} floor {floor_text(floor)}"
        if worst.metric.name == "nps_previous":
            return f"{self._score()}, {worst.hint}"
        shown = worst.metric.name == "responses" and self.resource.current.responses
        return f"{worst.hint}" + (f"; {self._score()}" if shown else "")

    def verbose(self, results):
        r = self.resource
        lines = [f"promoters {r.current.promoters}, passives {r.current.passives}, "
                 f"detractors {r.current.detractors}; {r.read} rows read, {r.rejects.count} rejected"]
        problems = [f"{str(result.state).upper()}: {result.hint}" for result in results
                    if result.state != nagiosplugin.Ok and result.hint]
        return problems + r.notes + lines + r.rejects.lines()


def open_source(run: runtime.Run):
    """The chosen source as a function (oldest, now, rejects) -> iterator of (time, score)."""
    args = run.args
    formats = args.date_format
    if args.csv or args.jsonl:
        from cxcheck.sources import files

        run.activity = f"reading {'standard input' if (args.csv or args.jsonl) == '-' else args.csv or args.jsonl}"
        if args.csv:
            return lambda oldest, now, rejects: files.read_csv(args.csv, rejects, args.score_column,
                                                                args.date_column, formats)
        return lambda oldest, now, rejects: files.read_jsonl(args.jsonl, rejects, args.score_column,
                                                              args.date_column, formats)
    from cxcheck.sources.apiclient import ApiClient

    token = runtime.read_secret(env=args.token_env, path=args.token_file, what="API token")
    activity = lambda what: setattr(run, "activity", f"reading {what}")
    http = run.http_options()
    if args.json_url:
        from cxcheck.sources import jsonurl

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = ApiClient(args.json_url, args.json_url, http, run.deadline, headers=headers, on_request=activity)
        return lambda oldest, now, rejects: jsonurl.read(client, rejects, args.json_url, args.items, args.next,
                                                          args.score_column or "score",
                                                          args.date_column or "created_at", formats)
    if token is None:
        raise ConfigError("the survey API needs a token: --token-env VAR or --token-file PATH")
    if args.delighted:
        from cxcheck.sources import delighted

        client = ApiClient("Delighted", args.api_url or delighted.DEFAULT_API, http, run.deadline,
                           auth=(token, ""), on_request=lambda what: activity(f"Delighted {what}"))
        return lambda oldest, now, rejects: delighted.read(client, rejects, oldest, now)
    bearer = {"Authorization": f"Bearer {token}"}
    if args.surveymonkey:
        from cxcheck.sources import surveymonkey

        if not args.question_id:
            raise ConfigError("--surveymonkey needs --question-id (the NPS question)")
        client = ApiClient("SurveyMonkey", args.api_url or surveymonkey.DEFAULT_API, http, run.deadline,
                           headers=bearer, on_request=lambda what: activity(f"SurveyMonkey {what}"))
        return lambda oldest, now, rejects: surveymonkey.read(client, rejects, args.surveymonkey,
                                                               args.question_id, oldest, now)
    from cxcheck.sources import typeform

    if not args.field_ref:
        raise ConfigError("--typeform needs --field-ref (the NPS field's ref)")
    client = ApiClient("Typeform", args.api_url or typeform.DEFAULT_API, http, run.deadline,
                       headers=bearer, on_request=lambda what: activity(f"Typeform {what}"))
    return lambda oldest, now, rejects: typeform.read(client, rejects, args.typeform, args.field_ref, oldest, now)


@runtime.plugin("CX NPS", build_parser)
def main(run: runtime.Run):
    args = run.args
    if not (args.csv or args.jsonl or args.json_url or args.surveymonkey or args.delighted or args.typeform):
        raise ConfigError("give a source: --csv, --jsonl, --json-url, --surveymonkey, --delighted or --typeform")
    source = open_source(run)

    now = args.now if args.now is not None else time.time()
    responses = Responses(run, source, args.window, now, bool(args.max_drop), args.confidence)
    verdicts = Verdicts(responses, args)
    contexts = [
        NpsContext(verdicts, args.warning, args.critical, args.significant),
        RejectedContext(verdicts),
        ResponsesContext(verdicts, run.state(args.low_sample_state)),
        *(MaybeContext(name) for name in ("nps_low", "nps_high", "promoters", "passives", "detractors")),
    ]
    if args.max_drop:
        contexts.append(DropContext(verdicts, args.max_drop))
    return nagiosplugin.Check(responses, *contexts, NpsSummary(responses, args))


if __name__ == "__main__":
    main()
