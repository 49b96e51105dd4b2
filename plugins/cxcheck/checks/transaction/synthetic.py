"""check_cx_transaction --scenario: the journey attempted N times, each in a fresh session, within
the one deadline; the share that completed is the main metric."""

from __future__ import annotations

import statistics
from collections import Counter

import nagiosplugin

from cxcheck import runtime
from cxcheck.bases import journey_checks
from cxcheck.runtime import ConfigError, Fact, MaybeContext, PerfOnly, Record, fmt_percent, fmt_seconds, perf_value
from cxcheck.runtime.contexts import range_or_default

SUCCESS, ATTEMPTS, FAILURES = "success", "attempts", "failures"     # perfdata labels
DEFAULT_WARNING, DEFAULT_CRITICAL = "100:", "50:"
DEADLINE, FAILED_STEPS = "deadline", "failed_steps"


class Attempt(Record):
    _fields = ("number", "ok", "total", "failed_step", "reason")

    def __init__(self, number: int, ok: bool, total: float | None = None, failed_step: str | None = None,
                 reason: str | None = None):
        self.number, self.ok, self.total, self.failed_step, self.reason = number, ok, total, failed_step, reason


class Synthetic(nagiosplugin.Resource):
    def __init__(self, run: runtime.Run, journey, attempts: int, interval: float, critical: str | None):
        self.run = run
        self.journey = journey
        self.planned = attempts
        self.interval = interval
        self.critical = nagiosplugin.Range(critical) if critical else None
        self.attempts: list[Attempt] = []

    @property
    def name(self):
        return "CX TRANSACTION"

    def probe(self):
        timed_out = self._attempt()
        done = len(self.attempts)
        good = sum(a.ok for a in self.attempts)
        times = [a.total for a in self.attempts if a.ok]
        yield nagiosplugin.Metric(SUCCESS, perf_value(100.0 * good / done if done else None, 4), "%", min=0, max=100,
                                  context=SUCCESS)
        yield nagiosplugin.Metric(ATTEMPTS, done, "c", min=0, context=ATTEMPTS)
        yield nagiosplugin.Metric(FAILURES, done - good, "c", min=0, context=FAILURES)
        median = journey_checks.seconds(statistics.median(times)) if times else None
        yield nagiosplugin.Metric(journey_checks.TIME, median, "s", min=0, context=journey_checks.TIME)
        yield nagiosplugin.Metric(DEADLINE, timed_out, context=DEADLINE)
        yield nagiosplugin.Metric(FAILED_STEPS, self.failure_groups(), context=FAILED_STEPS)

    def _attempt(self) -> str | None:
        """Attempt the journey until done, critical whatever follows, or out of time (then: why)."""
        from cxcheck.journey.results import trace_lines

        deadline = self.run.deadline
        for number in range(1, self.planned + 1):
            if number > 1 and self.interval:
                if deadline.remaining <= self.interval:
                    return (f"no time left for attempt {number} of {self.planned} "
                            f"(-t {deadline.seconds:g} with --interval {self.interval:g})")
                self.run.activity = f"pausing before attempt {number} of {self.planned}"
                deadline.sleep(self.interval)
            self.journey.on_step = self._on_step(number)
            result = self.journey.run()
            self.run.trace(f"attempt {number}: {line}" for line in trace_lines(result))
            journey_checks.evidence_longoutput(self.run, result, f"attempt {number}: ")
            failed = result.failed
            if result.timed_out:
                return (f"timed out after {deadline.seconds:g} s at step {failed.name} "
                        f"in attempt {number} of {self.planned}")
            if result.ok:
                self.attempts.append(Attempt(number, True, total=result.total))
            else:
                self.attempts.append(Attempt(number, False, failed_step=failed.name if failed else None,
                                             reason=failed.reason if failed else "not completed"))
            if number < self.planned and self._critical_whatever_follows():
                break
        return None

    def _critical_whatever_follows(self) -> bool:
        """Could no outcome of the remaining attempts lift the ratio out of the critical range?"""
        if self.critical is None:
            return False
        good, done = sum(a.ok for a in self.attempts), len(self.attempts)
        if self.critical.match(100.0 * good / done):
            return False
        remaining = self.planned - done
        return all(not self.critical.match(100.0 * (good + extra) / self.planned) for extra in range(remaining + 1))

    def _on_step(self, number):
        def on_step(name):
            self.run.activity = f"attempt {number} of {self.planned}, step {name}"

        return on_step

    def failure_groups(self) -> list[tuple[str | None, str | None, int]]:
        counts = Counter((a.failed_step, a.reason) for a in self.attempts if not a.ok)
        return [(step, reason, n) for (step, reason), n in counts.most_common()]


class DeadlineContext(nagiosplugin.Context):
    """The deadline cut the attempts short: --timeout-state, with why."""

    def __init__(self, timeout_state):
        super().__init__(DEADLINE)
        self.timeout_state = timeout_state

    def evaluate(self, metric, resource):
        if metric.value:
            return self.result_cls(self.timeout_state, metric.value, metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)

    def performance(self, metric, resource):
        return None


class SyntheticSummary(nagiosplugin.Summary):
    def __init__(self, journey_name: str, planned: int):
        self.journey_name = journey_name
        self.planned = planned

    def _ratio(self, results) -> str:
        done, failed = results[ATTEMPTS].metric.value, results[FAILURES].metric.value
        success = results[SUCCESS]
        text = f"{self.journey_name} {fmt_percent(success.metric.value, 3)} success"
        if success.state != nagiosplugin.Ok:
            text += f" ({success.hint})"
        text += f", {done - failed} of {done} attempts"
        groups = results[FAILED_STEPS].metric.value
        if groups:
            text += ", failed " + "; ".join(
                f"{n}x at step {step}: {reason}" if step else f"{n}x: {reason}" for step, reason, n in groups)
        return text

    def _time(self, results) -> str:
        time_result = results[journey_checks.TIME]
        if time_result.metric.value is None:
            return ""
        text = f", {fmt_seconds(time_result.metric.value)} median"
        if time_result.state != nagiosplugin.Ok:
            text += f" ({time_result.hint})"
        return text

    def ok(self, results):
        return self._ratio(results) + self._time(results)

    def problem(self, results):
        timed_out = results[DEADLINE].metric.value
        done = results[ATTEMPTS].metric.value
        parts = [timed_out] if timed_out else []
        if done:
            text = self._ratio(results) + self._time(results)
            if done < self.planned and not timed_out:
                text += f" (stopped after {done} of {self.planned} attempts: critical whatever the rest would do)"
            parts.append(text)
        return "; ".join(parts)

    def verbose(self, results):
        return []


def synthetic_check(run: runtime.Run, args) -> nagiosplugin.Check:
    from cxcheck.journey.scenario import load

    attempts = args.attempts or 3
    interval = args.interval or 0.0
    if (attempts - 1) * interval >= args.timeout:
        raise ConfigError(f"--attempts {attempts} with --interval {interval:g} take more than -t {args.timeout:g} s "
                          "of pauses alone")
    warning = range_or_default(args.warning, DEFAULT_WARNING)
    critical = range_or_default(args.critical, DEFAULT_CRITICAL)
    scenario = load(args.scenario)
    plain, secret = journey_checks.variables_from_args(args)
    journey = journey_checks.make_journey(run, scenario, plain, secret)
    return nagiosplugin.Check(
        Synthetic(run, journey, attempts, interval, critical),
        MaybeContext(SUCCESS, warning, critical, fmt_metric="{valueunit} success"),
        PerfOnly(ATTEMPTS), PerfOnly(FAILURES),
        MaybeContext(journey_checks.TIME, args.time_warning, args.time_critical, fmt_metric="{valueunit} median"),
        DeadlineContext(run.timeout_state), Fact(FAILED_STEPS),
        SyntheticSummary(scenario.name, attempts),
    )
