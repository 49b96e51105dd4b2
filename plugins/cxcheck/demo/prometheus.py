"""A private Prometheus (Debian package `prometheus`) on a free 127.0.0.1 port: its own configuration,
storage and log in a working directory (a temporary one unless given), scraping the given targets
every second; stopped, waited for and cleaned up by its owner. The demo's funnel and the tests'
real Prometheus are this one."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CONFIG = """global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: {job}
    static_configs: [{{targets: [{targets}]}}]
"""
LOG_TAIL = 3000                     # characters of its log an error shows


def find_binary() -> str | None:
    return shutil.which("prometheus") or next(
        (p for p in ("/usr/bin/prometheus", "/usr/sbin/prometheus") if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePrometheus:
    """`targets` as host:port; `extra_flags` go to the command line as given."""

    def __init__(self, targets: list[str], workdir: Path | None = None, job: str = "cxshop", extra_flags=()):
        self.binary = find_binary()
        self.targets, self.job, self.extra_flags = list(targets), job, list(extra_flags)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(workdir) if workdir is not None else None
        self.proc = None
        self._temporary = None

    def start(self, timeout: float = 30.0) -> PrivatePrometheus:
        """Started and answering /-/ready; on any failure stopped again, the error with its log."""
        if self.binary is None:
            raise RuntimeError("Prometheus is not installed (Debian package prometheus)")
        if self.workdir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="cxcheck-prometheus-")
            self.workdir = Path(self._temporary.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(CONFIG.format(job=self.job, targets=", ".join(f'"{t}"' for t in self.targets)))
        command = [self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
                   f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn", *self.extra_flags]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, env={"PATH": "/usr/bin:/bin"})
        try:
            self.wait(self.ready, timeout, f"Prometheus ready on {self.url}")
        except BaseException as exc:
            tail = self.log_tail()
            self.stop()
            if isinstance(exc, RuntimeError):
                raise RuntimeError(f"{exc}; its log:\n{tail}") from None
            raise
        return self

    @property
    def log(self) -> Path:
        return self.workdir / "prometheus.log"

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-LOG_TAIL:]
        except OSError:
            return ""

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as answer:
                return answer.status == 200
        except OSError:                 # URLError and HTTPError are OSErrors
            return False

    def value(self, promql: str) -> float | None:
        """The first sample of an instant query; None when it has none or the query fails."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                result = json.load(answer)["data"]["result"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return float(result[0]["value"][1]) if result else None

    def wait(self, condition, timeout: float, what: str) -> None:
        """Poll `condition` every 0.2 s until it holds; RuntimeError when time is up or Prometheus exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {self.proc.returncode} while waiting for {what}")
            if condition():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def __enter__(self) -> PrivatePrometheus:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
