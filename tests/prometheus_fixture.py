"""A private Prometheus (Debian package `prometheus`) on 127.0.0.1: its own config, its own storage
directory, scraping given targets every second; stopped (and waited for) by its owner."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import free_port, need_binary, wait_for

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {job}
    metrics_path: /metrics
    static_configs:
      - targets: [{targets}]
"""


class Prometheus:
    def __init__(self, workdir: Path, targets: list[str], job: str = "cxshop", extra_flags=()):
        self.binary = need_binary("prometheus", "prometheus")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "prometheus.yml"
        self.config.write_text(CONFIG.format(job=job, targets=", ".join(f'"{t}"' for t in targets)))
        self.storage = self.workdir / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.workdir / "prometheus.log"
        self.extra_flags = list(extra_flags)
        self.proc = None

    def start(self, timeout: float = 30.0) -> Prometheus:
        command = [self.binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.storage}",
                   f"--web.listen-address=127.0.0.1:{self.port}",
                   f"--web.console.templates={self.workdir}", f"--web.console.libraries={self.workdir}",
                   "--log.level=warn", *self.extra_flags]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, env={"PATH": "/usr/bin:/bin"})
        try:
            wait_for(self._ready, timeout=timeout, interval=0.1, what=f"Prometheus ready on {self.url}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"Prometheus did not become ready; its log:\n{self.log.read_text()[-3000:]}") from None
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"Prometheus exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def query(self, promql: str):
        """The raw API answer for an instant query (for the fixture's own waiting)."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            return json.load(exc)

    def value(self, promql: str) -> float | None:
        answer = self.query(promql)
        result = answer.get("data", {}).get("result")
        if answer.get("status") != "success" or not result:
            return None
        return float(result[0]["value"][1])

    def wait_for_value(self, promql: str, expected: float, timeout: float = 30.0):
        wait_for(lambda: self.value(promql) == expected, timeout=timeout, interval=0.2,
                 what=f"Prometheus to see {promql} == {expected}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

