"""A funnel from any JSON endpoint: GET the URL, take who entered and who converted (and steps in
between) with JMESPath. The URL may carry ${since} and ${until} (RFC 3339, UTC) and ${window} (such
as 1d), replaced per window: without them the endpoint cannot give an earlier window. A token,
when given, goes as Bearer to the URL's host only."""

from __future__ import annotations

from cxcheck.runtime import name_value
from cxcheck.runtime.times import iso_time
from cxcheck.sources.funnels import Funnel, Step, checked, count
from cxcheck.sources.jsonendpoint import JsonEndpoint, compile_path, found

PLACES = ("${since}", "${until}", "${window}")


class JsonFunnel(JsonEndpoint):
    help = "a JSON endpoint (with --entered-path, --converted-path; ${since}, ${until} in the URL)"
    needs = ("--entered-path", "--converted-path")

    @classmethod
    def add_arguments(cls, options):
        options.add("--entered-path", metavar="JMESPATH", help="--json-url: where the count of who entered is")
        options.add("--converted-path", metavar="JMESPATH", help="--json-url: where the count of who converted is")
        options.add("--step-path", type=name_value, action="append", default=[], metavar="NAME=JMESPATH",
                    help="--json-url: a step between entering and converting, in funnel order, repeatable")

    def __init__(self, value, run):
        super().__init__(value, run)
        self.name = value        # messages name the URL
        args = self.args
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
            said = f"{option} {path!r}"
            steps.append(Step(name, count(found(expression, said, body, url), said)))
        return Funnel(checked(steps, url), f"{url}")
