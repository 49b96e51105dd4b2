"""The worker's log: lines on stderr (the journal under systemd), the important ones in the core's
log as well."""

from __future__ import annotations

import sys
import time

from cxcheck.worker.protocol import log_message


class Log:
    """Lines to stderr (the journal under systemd); the important ones also to the core's log,
    where nagios.log shows them as `wproc: NAME: text`. -v: a line per job on stderr; -vv: in
    the core's log too; -vvv: debugging detail on stderr."""

    def __init__(self, verbosity: int = 0, stream=None):
        self.verbosity = verbosity
        self.stream = stream if stream is not None else sys.stderr
        self.core = None                # set by the worker: sends one message to the core

    def info(self, text: str):
        self._write(text, to_core=True)

    def job(self, text: str, core=None):
        if self.verbosity >= 1:
            self._write(text, to_core=self.verbosity >= 2, core=core)

    def debug(self, text: str):
        if self.verbosity >= 3:
            self._write(text, to_core=False)

    def _write(self, text: str, to_core: bool, core=None):
        try:
            self.stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} cxcheck worker: {text}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        if to_core and self.core is not None:
            self.core(log_message(text), core)
