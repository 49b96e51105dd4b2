"""A web server's access log as a source of response times: the requests since the last run
(incremental, the position in a state file, across rotation), or those of a window by their
timestamps (a log shipped elsewhere, read whole each time).

The check runs where the log is: on the web server, an Icinga 2 agent, a Centreon poller.
"""

from __future__ import annotations

import os
import re
import time

from cxcheck.sources.base import Source

STATE_DIR = "/var/tmp/cxcheck"
# How far before the window's start the binary search lands: Apache's %t is the request's start,
# written at its end, so lines are out of order by up to the longest request.
ORDER_SLACK = 300.0


class AccessLog(Source):
    name = "access log"
    option, metavar = "--log", "FILE"
    reads_lines = True                  # rejected lines and percentiles to report
    help = "the web server's access log, on this machine"

    @classmethod
    def add_arguments(cls, options):
        options.add("--log-format", metavar="NAME|FORMAT", default="nginx",
                    help="--log: nginx (combined + $request_time, the default), nginx-upstream (combined + "
                         "$upstream_response_time), apache (combined + %%D), apache-seconds (combined + %%T), "
                         "or the server's own log_format / LogFormat string, quoted")
        options.add("--time-field", metavar="NAME", help="--log: which response time, when the format has "
                    "several (request_time, upstream_response_time, %%D, ...)")
        options.add("--state-file", metavar="PATH",
                    help=f"--log: where the position is kept between runs (default: one file per log and "
                         f"options in $CXCHECK_STATE_DIR or {STATE_DIR})")
        options.add("--path-regex", metavar="REGEX", help="--log: only requests whose path matches "
                    "(searched, e.g. '^/checkout')")
        options.add("--method", action="append", default=[], metavar="METHOD",
                    help="--log: only these methods (repeatable, or comma-separated)")
        options.add("--exclude-status", action="append", default=[], metavar="CODES",
                    help="--log: leave out these answers, e.g. 404,499 or 4xx (repeatable)")

    def __init__(self, value, run):
        from cxcheck.sources.accesslog import LogFormat
        from cxcheck.sources.loglines import Filters

        super().__init__(value, run)
        args = self.args
        self.path = os.path.abspath(value)
        self.format = LogFormat.named(args.log_format, args.time_field)
        methods = [m.strip() for spec in args.method for m in spec.split(",") if m.strip()]
        self.filters = Filters(args.path_regex, methods, args.exclude_status)
        self.state_file = args.state_file

    def read_response_times(self, target: float, window: float | None, now: float | None, rejects):
        from cxcheck.latency import ResponseTimes
        from cxcheck.sources.loglines import LineCounter

        times = ResponseTimes(target)
        limits = None if window is None else ((now or time.time()) - window, now or time.time())
        counter = LineCounter(self.format, self.filters, rejects, limits)
        self.reading(self.path)
        if limits is None:
            self._since_last_run(counter, times, target)
        else:
            times.span = f"over {window}"
            self._window(counter, limits, times)
        counter.response_times(times)
        times.lines, times.skipped = counter.lines, counter.skipped
        if counter.suggestion:
            times.hints.append(f"the rejected lines read as --log-format {counter.suggestion}")
        return times

    def _since_last_run(self, counter, times, target: float) -> None:
        from cxcheck.sources.logtail import LogTail

        deadline = self.run.deadline
        reserve = max(0.3, 0.05 * deadline.seconds)          # for judging and writing once reading stops
        tail = LogTail(self.path, self.state_file or self.default_state_file(target),
                       stop=lambda: deadline.remaining < reserve,
                       on_overlong=lambda number: counter.rejects.add("line longer than 64 KB", number))
        with tail:
            for block, number in tail.blocks():
                counter.feed(block, number)
                if len(counter.ok) + len(counter.failed) > 50_000:     # bounded memory: fold now
                    counter.response_times(times)
        times.notes.extend(tail.notes)
        if tail.since is None:
            times.span = "in the whole log"
        else:
            from cxcheck.runtime import Duration

            times.span = f"since the last run {Duration(str(max(1, round(time.time() - tail.since)))).prometheus} ago"
        if tail.unread:
            times.notes.append(f"catching up: {tail.unread / 1e6:.0f} MB of the log not read yet within -t "
                               f"{deadline.seconds:g} s; the next runs go on from here")

    def _window(self, counter, limits, times) -> None:
        from cxcheck.sources.logtail import BLOCK, rotated_names, unreadable

        start, _end = limits
        try:
            handle = open(self.path, "rb")
        except OSError as exc:
            raise unreadable(self.path, exc) from None
        with handle:
            offset = self._first_offset(handle, counter, start - ORDER_SLACK)
            handle.seek(offset)
            pending, number = b"", 0
            while True:
                self.run.deadline.check()
                data = handle.read(BLOCK)
                if not data:
                    break
                buffer = pending + data
                cut = buffer.rfind(b"\n")
                if cut < 0:
                    pending = buffer[-65536:]
                    continue
                block, pending = buffer[:cut + 1], buffer[cut + 1:]
                number = counter.feed(block, number)
            if offset and counter.rejects.count:
                self._number_from_start(handle, offset, counter.rejects)
            first = self._timestamp_at(handle, 0, counter)
            if first is not None and first > start and rotated_names(self.path):
                times.notes.append(f"the log starts {first - start:.0f} s after the window's start: the rest of "
                                   "the window is in the rotated log, not read")

    @staticmethod
    def _number_from_start(handle, offset: int, rejects) -> None:
        """Rejected lines were numbered from `offset`: renumber them from the file's start."""
        from cxcheck.sources.logtail import BLOCK

        handle.seek(0)
        before, left = 0, offset
        while left > 0:
            data = handle.read(min(BLOCK, left))
            if not data:
                break
            before += data.count(b"\n")
            left -= len(data)
        for entry in rejects.reasons.values():
            entry[1] = [number + before for number in entry[1]]

    def _first_offset(self, handle, counter, when: float) -> int:
        """Binary search for a line start at or before the first line stamped `when` or later."""
        low, high = 0, os.fstat(handle.fileno()).st_size
        while high - low > 65536:
            middle = (low + high) // 2
            stamp = self._timestamp_at(handle, middle, counter)
            if stamp is None or stamp >= when:
                high = middle
            else:
                low = middle
        handle.seek(low)
        if low:
            handle.readline(65536)              # to the start of the next line
        return handle.tell()

    def _timestamp_at(self, handle, offset: int, counter) -> float | None:
        """The timestamp of the first readable line starting after `offset` (a few lines tried)."""
        handle.seek(offset)
        if offset:
            handle.readline(65536)
        for _ in range(8):
            line = handle.readline(65536)
            if not line:
                return None
            found = self.format.regex.match(line.rstrip(b"\n"))
            if found is not None:
                return counter.timestamp(found.group(self.format.timestamp.group))
        return None

    def default_state_file(self, target: float) -> str:
        """One state file per log and measurement: two services on one log never share it. The
        directory is made (0700) and checked when the file is opened (runtime.statefiles)."""
        import zlib

        folder = os.environ.get("CXCHECK_STATE_DIR") or STATE_DIR
        args = self.args
        what = repr((self.path, self.format.text, self.format.time.name, args.path_regex, sorted(args.method),
                     sorted(args.exclude_status), target, os.geteuid()))
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(self.path))[:40]
        return os.path.join(folder, f"apdex-{name}-{zlib.crc32(what.encode()):08x}.json")
