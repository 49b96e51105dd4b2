"""Graphite from Debian 12 for the tests: carbon-cache (graphite-carbon) on its stock carbon.conf
and graphite-web (graphite-web) on its stock local_settings.py, each with only paths, ports and
the listening address changed, and the render API read back as JSON and PNG.

Two settings differ from the stock files, for a test that lasts a minute rather than a day:
- storage-schemas.conf gets Icinga's documented `^icinga2\\.` section first (Icinga 2 docs,
  14-features "Graphite Schema"), at one-second resolution, so every check result is its own
  point (the stock `60s:1d` would keep one result a minute);
- MAX_CREATES_PER_MINUTE (stock 50) is unlimited: a new cxcheck service brings a few dozen series
  at once (value, min, max, warn, crit per label), and carbon would create them over minutes.
  docs/distributed.md says what a user sees with the stock value.

graphite-web runs in a private apache2 from Debian's own example (apache2-graphite.conf, mod_wsgi
daemon processes as _graphite). Debian's graphite.wsgi asks for the settings module
`graphite.local_settings`, which does not exist: with the example as shipped, graphite-web never
reads /etc/graphite/local_settings.py and looks for whisper files under /usr/lib/python3/storage
(graphite-project/graphite-web#2811). The server's environment carries
GRAPHITE_SETTINGS_MODULE=local_settings, as /etc/apache2/envvars would for a user."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

from engines import CLEAN_PATH, stop_process, wait_until

CARBON_CONF = Path("/etc/carbon/carbon.conf")
SCHEMAS_CONF = Path("/etc/carbon/storage-schemas.conf")
LOCAL_SETTINGS = Path("/etc/graphite/local_settings.py")
GRAPHITE_APACHE_EXAMPLE = Path("/usr/share/graphite-web/apache2-graphite.conf")
GRAPHITE_USER = "_graphite"
ICINGA_SCHEMA = "[icinga2]\npattern = ^icinga2\\.\nretentions = 1s:1h\n\n"


def set_keys(text: str, values: dict, what: str) -> str:
    """`KEY = value` lines of an INI-like or Python settings text, each found exactly once."""
    for key, value in values.items():
        text, found = re.subn(rf"(?m)^{key}\s*=.*$", lambda _m, k=key, v=value: f"{k} = {v}", text)
        assert found == 1, f"{what}: {key} found {found} times"
    return text


def chown_tree(path: Path, user: str):
    shutil.chown(path, user, user)
    for child in path.rglob("*"):
        shutil.chown(child, user, user)


class Carbon:
    """carbon-cache in the foreground, its whisper files under `workdir`."""

    def __init__(self, binary: str, workdir: Path, line_port: int, pickle_port: int, query_port: int):
        self.binary = binary
        self.dir = Path(workdir)
        self.line_port, self.pickle_port, self.query_port = line_port, pickle_port, query_port
        self.whisper = self.dir / "whisper"
        self.conf = self.dir / "conf" / "carbon.conf"
        self.proc: subprocess.Popen | None = None

    def write_config(self):
        for sub in ("conf", "whisper", "log", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        cache, relay = CARBON_CONF.read_text().split("[relay]", 1)
        cache = set_keys(cache, {
            "STORAGE_DIR": f"{self.dir}/", "LOCAL_DATA_DIR": f"{self.whisper}/", "CONF_DIR": f"{self.dir}/conf/",
            "LOG_DIR": f"{self.dir}/log/", "PID_DIR": f"{self.dir}/run/",
            "LINE_RECEIVER_INTERFACE": "127.0.0.1", "LINE_RECEIVER_PORT": self.line_port,
            "UDP_RECEIVER_INTERFACE": "127.0.0.1",
            "PICKLE_RECEIVER_INTERFACE": "127.0.0.1", "PICKLE_RECEIVER_PORT": self.pickle_port,
            "CACHE_QUERY_INTERFACE": "127.0.0.1", "CACHE_QUERY_PORT": self.query_port,
            "MAX_CREATES_PER_MINUTE": "inf",
        }, str(CARBON_CONF))
        self.conf.write_text(cache + "[relay]" + relay)
        (self.dir / "conf" / "storage-schemas.conf").write_text(ICINGA_SCHEMA + SCHEMAS_CONF.read_text())
        chown_tree(self.dir, GRAPHITE_USER)          # carbon drops to USER (stock: _graphite)

    def start(self, timeout: float = 60):
        out = open(self.dir / "carbon.out", "wb")
        self.proc = subprocess.Popen([self.binary, f"--config={self.conf}", f"--logdir={self.dir}/log",
                                      f"--pidfile={self.dir}/run/carbon-cache.pid", "--nodaemon", "start"],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, cwd=self.dir, start_new_session=True)
        out.close()

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"carbon-cache exited {self.proc.returncode}: {self.tail()}")
            return f"CarbonReceiverFactory starting on {self.line_port}" in self.tail(100_000)

        wait_until(listening, timeout, "carbon-cache to listen", interval=0.2)

    def tail(self, chars: int = 3000) -> str:
        logs = [self.dir / "carbon.out", *sorted((self.dir / "log").glob("*.log"))]
        return "\n".join(path.read_text(errors="replace")[-chars:] for path in logs if path.exists())

    def stop(self, timeout: float = 15):
        stop_process(self.proc, timeout)
        self.proc = None


class GraphiteWeb:
    """graphite-web's settings and its site in an apache2 (see Apache in icingaweb_stack)."""

    def __init__(self, workdir: Path, carbon: Carbon, port: int):
        self.dir = Path(workdir)
        self.carbon = carbon
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def write_config(self) -> str:
        """Write local_settings.py and the database; return the site's apache2 configuration."""
        for sub in ("settings", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        settings = LOCAL_SETTINGS.read_text()
        for stock, private in (("/var/lib/graphite/whisper", self.carbon.whisper), ("/var/log/graphite", self.dir / "log"),
                               ("/var/lib/graphite/search_index", self.dir / "search_index"),
                               ("/var/lib/graphite/graphite.db", self.dir / "graphite.db"),
                               ("/etc/graphite", self.dir / "settings")):
            assert f"'{stock}'" in settings, f"{LOCAL_SETTINGS} no longer names {stock}"
            settings = settings.replace(f"'{stock}'", repr(str(private)))
        # carbon's cache answers for points not yet written (its CACHE_QUERY_PORT, stock 7002)
        settings += (f"\nCARBONLINK_HOSTS = ['127.0.0.1:{self.carbon.query_port}']\n"
                     "SECRET_KEY = 'cxcheck-test-only'\n")
        (self.dir / "settings" / "local_settings.py").write_text(settings)
        chown_tree(self.dir, GRAPHITE_USER)
        # README.Debian: create the database as _graphite with graphite-manage.
        proc = subprocess.run(["runuser", "-u", GRAPHITE_USER, "--", "graphite-manage", "migrate", "--run-syncdb"],
                              capture_output=True, text=True, timeout=300, env=self.env(), stdin=subprocess.DEVNULL,
                              cwd=self.dir)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        site = GRAPHITE_APACHE_EXAMPLE.read_text()
        site = site.replace("<VirtualHost *:80>", f"<VirtualHost 127.0.0.1:{self.port}>")
        site, found = re.subn(r"(WSGIDaemonProcess _graphite .*)", rf"\1 python-path={self.dir}/settings", site)
        assert found == 1, site
        return site.replace("${APACHE_LOG_DIR}", str(self.dir / "log"))

    def env(self) -> dict:
        return {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "PYTHONPATH": str(self.dir / "settings"),
                "GRAPHITE_SETTINGS_MODULE": "local_settings"}

    def get(self, path: str, params: dict | list, timeout: float = 30) -> bytes:
        """A GET, or a POST of the same form for a long list of targets (the render API takes both)."""
        query = urllib.parse.urlencode(params, doseq=True)
        request = (urllib.request.Request(f"{self.url}{path}?{query}") if len(query) < 4000 else
                   urllib.request.Request(f"{self.url}{path}", data=query.encode(),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}))
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.read()

    def render_json(self, targets: list[str], since: str = "-10min") -> dict[str, list[tuple[int, float]]]:
        """target -> its non-null (timestamp, value) points, from the render API as JSON."""
        data = json.loads(self.get("/render", [("format", "json"), ("from", since)] + [("target", t) for t in targets]))
        return {series["target"]: [(int(ts), value) for value, ts in series["datapoints"] if value is not None]
                for series in data}

    def find(self, query: str) -> list[str]:
        """Metric paths matching `query` (the metrics API)."""
        data = json.loads(self.get("/metrics/expand", {"query": query, "leavesOnly": 1}))
        return sorted(data["results"])

    def up(self) -> bool:
        try:
            self.find("icinga2.*")
            return True
        except OSError:
            return False
