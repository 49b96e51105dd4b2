"""Fixtures shared by the test suite: the demo shop, running plugins as the engine does, and
small misbehaving servers. Everything listens on 127.0.0.1 and is stopped by its fixture."""

from __future__ import annotations

import locale
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
sys.path.insert(0, str(PLUGINS))

from cxcheck.plugin_table import PLUGINS as PLUGIN_TABLE  # noqa: E402  (needs the path above)

MODULES = {**{entry.name: entry.module for entry in PLUGIN_TABLE}, "cxcheck": "cxcheck.cli"}

# A suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and so would
# every process it starts: the tests of Ctrl-C (a demo stopped, the interpreter's own answer)
# then see nothing. Their processes get SIGINT as a terminal's user would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def plugin_env(extra: dict | None = None) -> dict:
    """A clean environment as a monitoring engine gives: PATH, our package, no proxies."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONPATH": str(PLUGINS), "HOME": os.environ.get("HOME", "/root")}
    env.update(extra or {})
    return env


@dataclass
class PluginRun:
    code: int
    stdout: str
    stderr: str
    elapsed: float
    reference: float | None = None      # wall time of the Reference run beside it, when one was asked for

    @property
    def overrun(self) -> float:
        """How much longer the run took than the reference beside it, which ended exactly at the
        deadline: what a deadline test judges, whatever the machine's load (see Reference)."""
        assert self.reference is not None, "run_plugin(..., reference=SECONDS) gives a reference"
        return self.elapsed - self.reference

    @property
    def status(self) -> str:
        return self.stdout.splitlines()[0] if self.stdout else ""

    @property
    def text(self) -> str:
        """The status line without perfdata."""
        return self.status.split(" | ", 1)[0]

    @property
    def perfdata(self) -> dict:
        """label -> (value, warn, crit, min, max) as strings; value keeps its unit."""
        parts = self.status.split(" | ", 1)
        if len(parts) < 2:
            return {}
        out = {}
        for token in re.findall(r"(?:'[^']*'|\S)+", parts[1]):
            label, _, rest = token.rpartition("=")
            fields = (rest.split(";") + [""] * 5)[:5]
            out[label.strip("'")] = tuple(fields)
        return out

    def value(self, label: str) -> float | None:
        raw = self.perfdata[label][0]
        if raw == "U":
            return None
        return float(re.match(r"-?[0-9.eE+-]+", raw).group(0))

    @property
    def long_output(self) -> list[str]:
        return self.stdout.splitlines()[1:]


REFERENCE = "import importlib, sys, time; importlib.import_module(sys.argv[1]); time.sleep(float(sys.argv[2]))"


class Reference:
    """A process started beside a plugin run that pays what the plugin pays before its deadline
    starts (the interpreter, the plugin module's imports) and then sleeps out the deadline: it ends
    when the run would if it stopped exactly at its deadline, on this machine, now. A busy machine
    (CI beside other jobs, two CPU hogs) slows the interpreter's start and every wake-up of both
    alike, so a deadline test judges how far past its reference a run ends, not the clock alone."""

    def __init__(self, module: str, seconds: float, env: dict | None = None):
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", REFERENCE, module, str(seconds)], env=plugin_env(env),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ended = None
        self.waiter = threading.Thread(target=self._wait, daemon=True)
        self.waiter.start()

    def _wait(self):
        self.proc.wait()
        self.ended = time.monotonic()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def elapsed(self, timeout: float = 120) -> float:
        self.waiter.join(timeout)
        if self.ended is None:
            self.proc.kill()
            raise AssertionError(f"the reference process did not end within {timeout} s")
        return self.ended - self.started


def run_until(reached, run, deadlines=(4, 10, 25)):
    """`run(seconds)` with each deadline in turn until `reached(result)`. On a busy machine a run
    may stop at its deadline before it gets where the test looks (a hanging step after eight
    others); a longer -t gets it there, and its deadline is judged the same way. Idle, once."""
    for seconds in deadlines:
        result = run(seconds)
        if reached(result):
            return result, seconds
    raise AssertionError(f"never got there, even with -t {deadlines[-1]}: {result.stdout}")


START_CUT_OFF = re.compile(r"CX \w+ CRITICAL - timed out after \S+ s while starting the browser")
BARE_DEADLINE = re.compile(r"CX \w+ \w+ - timed out after \S+ s")


def past_the_imports(result) -> bool:
    """Whether a run got past the interpreter's start and imports, for run_until: the deadline's
    line then says what the run was doing; on a busy machine a short -t has ended in the imports."""
    return not BARE_DEADLINE.fullmatch(result.text)


def past_the_start(result) -> bool:
    """Whether a browser run got past its browser's start, for run_until: on a busy machine
    (four CPU-bound workers on two cores) Chromium's start has taken all of a 15 s -t."""
    return not START_CUT_OFF.match(result.text)


def run_plugin(name: str, *args: str, env: dict | None = None, timeout: float = 60,
               stdin: str | None = None, netns: bool = False, process: bool = False,
               reference: float | None = None, ends_first: bool = False) -> PluginRun:
    """Run a plugin the way Nagios does and return what it said. With `reference` (the run's
    deadline, seconds), it runs as its own process with a Reference beside it (result.overrun).
    With `ends_first` (a run expected to end before its deadline: overrun < 0), a reference still
    sleeping when the run has ended is not waited out: result.reference is how long it had slept
    by then, already more than the run took."""
    beside = Reference(MODULES[name], reference, env) if reference is not None else None
    run = run_module(MODULES[name], *args, env=env, timeout=timeout, stdin=stdin, netns=netns,
                     process=process or beside is not None)
    if beside is not None and ends_first:
        now = time.monotonic()
        beside.stop()
        if beside.proc.returncode == -signal.SIGKILL:
            run.reference = now - beside.started
            return run
    if beside is not None:
        run.reference = beside.elapsed()
    return run


def run_module(module: str, *args: str, env: dict | None = None, timeout: float = 60, stdin: str | None = None,
               netns: bool = False, process: bool = False, cwd: str | None = None) -> PluginRun:
    """`python -m module args` with an engine's clean environment: a fork of the loaded fork
    server (tests/forkserver.py), the process python -m would be; with process=True, and for
    what a fork cannot be (a network namespace, an interpreter's start), a fresh interpreter."""
    environment = plugin_env(env)
    started = time.monotonic()
    if process or netns or PROCESS_RUNS or startup_variables(env):
        command = [sys.executable, "-m", module, *args]
        if netns:
            command = ["unshare", "-n", *command]
        proc = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout, cwd=cwd,
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
        return PluginRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
    encoding = locale.getpreferredencoding(False)
    code, out, err, _ = fork_server().run(module, args, environment, timeout=timeout, cwd=cwd,
                                          stdin=None if stdin is None else stdin.encode(encoding))
    return PluginRun(code, as_text(out, encoding), as_text(err, encoding), time.monotonic() - started)


# CXCHECK_TEST_PROCESS_RUNS=1 runs every plugin in a fresh interpreter (to compare, or to bisect).
PROCESS_RUNS = os.environ.get("CXCHECK_TEST_PROCESS_RUNS") == "1"
_server: list = []


def fork_server():
    """The session's fork server, started at its first run (stopped when the session ends)."""
    if not _server:
        from forkserver import ForkServer

        server = ForkServer(plugin_env(), str(PLUGINS))
        server.start()
        _server.append(server)
    return _server[0]


def pytest_sessionfinish(session):
    while _server:
        _server.pop().stop()


def startup_variables(env: dict | None) -> list[str]:
    """What in a run's environment an interpreter reads only when it starts (a fork cannot)."""
    from forkserver import STARTUP_VARIABLES

    base = plugin_env()
    return [key for key, value in (env or {}).items() if key.startswith(STARTUP_VARIABLES) and base.get(key) != value]


def as_text(data: bytes, encoding: str) -> str:
    """Bytes as subprocess.run(text=True) gives them: decoded, universal newlines."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture
def plugin():
    return run_plugin


@pytest.fixture(scope="session")
def shop():
    """The demo shop, shared by the session's tests; tests that change faults use `fresh_shop`."""
    from cxcheck.demo.shop import DemoShop

    with DemoShop() as running:
        yield running


@pytest.fixture
def fresh_shop():
    from cxcheck.demo.shop import DemoShop

    with DemoShop() as running:
        yield running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawServer:
    """A TCP server on 127.0.0.1 whose handler does whatever a test needs (or nothing)."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopping = threading.Event()
        self.connections = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            self.handler(conn, self.stopping)
        except OSError:
            pass

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass
        self.sock.close()


@pytest.fixture
def raw_server():
    servers = []

    def start(handler):
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def need_binary(name: str, package: str) -> str:
    """A real component's path; missing it fails in CI and skips locally with the reason."""
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing: .ci/run must install Debian package {package}")
    pytest.skip(f"{name} not installed (Debian package {package})")


def wait_for(condition, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll a condition until it holds or the timeout passes (no sleeps as synchronisation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Site:
    """A tiny HTTP(S) server on 127.0.0.1 (or another loopback `host`) answering routes: path ->
    (status, headers, body), where the body may be a callable(handler, request_body) returning the
    body or a whole (status, headers, body); the route "*" answers any other path."""

    def __init__(self, routes: dict, certfile: str | None = None, host: str = "127.0.0.1"):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        site = self
        self.routes = routes
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                site.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, payload = site.routes.get(self.path.split("?")[0],
                                                           site.routes.get("*", (404, {}, "not found")))
                if callable(payload):
                    payload = payload(self, body)
                    if isinstance(payload, tuple):        # a route that answers differently each time
                        status, headers, payload = payload
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if certfile:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def site():
    sites = []

    def start(routes: dict, certfile: str | None = None, host: str = "127.0.0.1") -> Site:
        sites.append(Site(routes, certfile, host))
        return sites[-1]

    yield start
    for running in sites:
        running.stop()


@pytest.fixture
def emulator():
    """Start API emulators (tests/emulators.py) for a test (`emulator(made, rename=None)`), stopped after it."""
    started = []

    def start(made, rename=None):
        made.rename = rename
        started.append(made.start())
        return made

    yield start
    for made in started:
        made.stop()


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory) -> str:
    """A self-signed certificate and key (one PEM file) for 127.0.0.1."""
    openssl = need_binary("openssl", "openssl")
    pem = tmp_path_factory.mktemp("tls") / "server.pem"
    key = pem.with_suffix(".key")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(pem)],
                   check=True, capture_output=True, timeout=60)
    pem.write_text(pem.read_text() + key.read_text())
    return str(pem)


@pytest.fixture
def browser_tmp():
    """A TMPDIR of its own for a browser check's run, so that what it left can be told from other
    runs'; short (Chromium's sockets live below it, a Unix socket's path is at most 107 bytes) and
    on a RAM file system when there is one, as a run's home is by default (launch.home_base):
    removed within the time a run has at its deadline, which a busy disk does not allow. Whatever
    a failed test left in it is swept at the end, as the next run would."""
    import tempfile

    from cxcheck.browser.ending import sweep
    from cxcheck.browser.launch import RAM_DIR, home_base

    path = Path(tempfile.mkdtemp(prefix="cxpage-", dir=RAM_DIR if home_base() == RAM_DIR else "/tmp"))
    yield path
    for folder in (path, *(sub for sub in path.iterdir() if sub.is_dir())):     # a test's own TMPDIRs below it too
        sweep(str(folder))
    shutil.rmtree(path, ignore_errors=True)


def need_browser():
    """Chromium, its driver and Selenium: missing, a CI run fails and a local one skips."""
    need_binary("chromium", "chromium")
    need_binary("chromedriver", "chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("selenium is missing: install the test extra (pip install '.[test]')")
        pytest.skip("selenium not installed (pip install 'cxcheck[browser]')")


# Files each of whose tests runs Chromium. Two or three of them side by side on two cores (load 50
# to 80) held pages and steps past the times their tests judge: they are one work unit, run by one
# worker one after another, while the other workers take the rest a file each.
CHROMIUM_FILES = ("tests/test_browser_hostile.py", "tests/page/test_page.py", "tests/test_browser_cleanup.py",
                  "tests/test_browser_journeys.py", "tests/login/test_login_browser.py")
assert all((ROOT / path).is_file() for path in CHROMIUM_FILES), "a file of CHROMIUM_FILES was moved"


def work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return "chromium" if path in CHROMIUM_FILES else path


# Files that mostly wait (an engine's fixed windows, little CPU: measured alone, under a quarter
# of their time on a CPU): with five workers or more, the last one takes these and only these,
# one after another, so that their waiting overlaps the rest while no more CPU-bound files run
# side by side than with one worker fewer. The HA zone's windows (~100 s, 7 CPU-s), the worker's
# restarts every few seconds (~58 s, 14 CPU-s), the satellite's config sync (~11 s, 5 CPU-s).
WAITING_FILES = ("tests/test_icinga_ha.py", "tests/test_worker_restart.py", "tests/test_icinga_distributed.py")
assert all((ROOT / path).is_file() for path in WAITING_FILES), "a file of WAITING_FILES was moved"


def pytest_xdist_make_scheduler(config, log):
    """The README's `--dist loadfile`, with the Chromium files as one unit and the waiting files
    on a worker of their own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Units(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            nodes = sorted(self.nodes, key=lambda each: int(each.gateway.id.lstrip("gw") or 0))
            waiting = nodes[-1] if len(nodes) >= 5 else None
            for unit in self.workqueue:
                if waiting is None or (unit in WAITING_FILES) == (node is waiting):
                    self.workqueue.move_to_end(unit, last=False)
                    super()._assign_work_unit(node)
                    return
            # Nothing this node may take, now or later: it is told so, or it would hold its last
            # test (a worker runs a test once it knows the next) and that file's module fixtures
            # (the HA zone's three daemons, checking every 5 s) until the session's end.
            node.shutdown()

    return Units(config, log)


def pytest_collection_modifyitems(config, items):
    """The units with files marked slow first, the longest (the sum of their files' measured
    `seconds`) first, then the rest in their order: the README's workers take them in this order,
    so the long ones start early and the quick ones fill the gaps; none long is left to run
    alone at the end."""
    seconds: dict = {}                  # (unit, file) -> the file's measured seconds
    for item in items:
        marker = item.get_closest_marker("slow")
        key = (work_unit(item.nodeid), item.path)
        seconds[key] = max(seconds.get(key, 0), marker.kwargs.get("seconds", 1) if marker else 0)
    cost: dict = {}
    for (unit, _), value in seconds.items():
        cost[unit] = cost.get(unit, 0) + value
    items.sort(key=lambda item: -cost[work_unit(item.nodeid)])


@pytest.fixture(scope="module")
def localstripe():
    """A real, stateful Stripe server (localstripe) on 127.0.0.1 holding the payments and
    subscriptions of localstripe_server.populated (the payments and revenue tests read it)."""
    from localstripe_server import populated

    with populated() as server:
        yield server
