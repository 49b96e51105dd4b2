"""A funnel from any JSON endpoint: GET the URL, take who entered and who converted (and steps in
between) with JMESPath. The URL may carry ${since} and ${until} (RFC 3339, UTC) and ${window} (such
as 1d), replaced per window: without them the endpoint cannot give an earlier window. A token,
when given, goes as Bearer to the URL's host only."""

from __future__ import annotations

from cxcheck.runtime import name_value
from cxcheck.runtime.times import iso_time
from cxcheck.sources.base import ApiSource, SourceError
from cxcheck.sources.funnels import Funnel, Step, checked, count

PLACES = ("${since}", "${until}", "${window}")


class JsonFunnel(ApiSource):
    name = "JSON endpoint"
    option, metavar = "--json-url", "URL"
    help = "a JSON endpoint (with --entered-path, --converted-path; ${since}, ${until} in the URL)"
    endpoint = True
    token_required = False

    @classmethod
    def add_arguments(cls, options):
        options.add("--entered-path", metavar="JMESPATH", help="--json-url: where the count of who entered is")
        options.add("--converted-path", metavar="JMESPATH", help="--json-url: where the count of who converted is")
        options.add("--step-path", type=name_value, action="append", default=[], metavar="NAME=JMESPATH",
                    help="--json-url: a step between entering and converting, in funnel order, repeatable")

    def __init__(self, value, run):
        from cxcheck.sources.jsonresponses import compile_path

        super().__init__(value, run)
        self.name = value        # messages name the URL
        args = self.args
        if not args.entered_path or not args.converted_path:
            raise SourceError("--json-url needs --entered-path and --converted-path")
        self.paths = [("entered", "--entered-path", args.entered_path)]
        self.paths += [(name, f"--step-path {name}", path) for name, path in args.step_path]
        self.paths.append(("converted", "--converted-path", args.converted_path))
        self.compiled = [compile_path(path, option) for _, option, path in self.paths]
        self.can_compare = any(place in value for place in PLACES)
        self.why_not_compare = "the URL has no ${since} and ${until} (or ${window})"

    def read_funnel(self, since: float, until: float) -> Funnel:
        from cxcheck.runtime import Duration

        url = (self.value.replace("${since}", iso_time(since)).replace("${until}", iso_time(until))
               .replace("${window}", Duration(str(until - since)).prometheus))
        body = self.client.get_json(url, what=iso_time(until))
        steps = []
        for (name, option, path), expression in zip(self.paths, self.compiled):
            found = expression.search(body)
            if found is None:
                raise SourceError(f"{option} {path!r} found nothing in the answer of {url}")
            steps.append(Step(name, count(found, f"{option} {path!r}")))
        return Funnel(checked(steps, url), f"{url}")
