"""cxcheck benchmark: cost per check run, timing accuracy, journey overhead, NPS at scale.

    python bench/run.py                      # everything; prints the tables, writes bench/RESULTS.md
    python bench/run.py --rounds 30 --only cost,accuracy
    python bench/run.py --installed          # the installed package, not this checkout's plugins/

Needs: the package's dependencies (`python -m pip install .`), Debian's monitoring-plugins
(check_curl, check_http) and curl. Everything talks to servers this script starts on 127.0.0.1.
Run it by hand on a quiet machine; it is not a test and asserts nothing.

Cost: every command runs as its own process, round by round (order shuffled each round, one
warm-up round not counted); CPU is user+sys from the kernel's accounting of that process
(os.wait4), peak RSS its ru_maxrss (see lib.py for how inherited RSS is avoided). Ratios are of
medians from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lib  # noqa: E402
import sites  # noqa: E402
from lib import Launcher, median, spread, table  # noqa: E402

CHECK_CURL = "/usr/lib/nagios/plugins/check_curl"
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
MODULES = {
    "check_cx_login": "cxcheck.checks.login",
    "check_cx_checkout": "cxcheck.checks.checkout",
    "check_cx_nps": "cxcheck.checks.nps",
}
TARGET_CPU_RATIO = 1.25
TARGET_ACCURACY_MS = 1.0
TARGET_OVERHEAD_MS = 2.0
NPS_NOW = "2026-11-01T00:00:00+00:00"
SLOW_MS = 200


# ---------------------------------------------------------------------------------------------
# How plugins are started


class Setup:
    """Where the plugins come from and the clean environment a monitoring engine gives them."""

    def __init__(self, installed: bool, plugins: Path = lib.PLUGINS):
        self.installed, self.plugins = installed, plugins
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                    "HOME": os.environ.get("HOME", "/root"), "BENCH_PASSWORD": sites.PASSWORD}
        if not installed:
            self.env["PYTHONPATH"] = str(plugins)
            sys.path.insert(0, str(plugins))
        self.commands = {name: self._command(name, module) for name, module in MODULES.items()}

    def _command(self, name: str, module: str) -> list[str]:
        """The console script (as an engine runs it) if it belongs to this interpreter, else -m."""
        for candidate in (Path(sys.executable).parent / name, shutil.which(name)):
            if candidate and _script_of(Path(candidate), sys.executable):
                return [str(candidate)]
        return [sys.executable, "-m", module]

    def describe(self) -> list[str]:
        code = (f"`{self.plugins}` (PYTHONPATH; every Python row gets the same environment)"
                if not self.installed else "the installed package")
        lines = [f"- Python: `{sys.executable}` {platform.python_version()}, the same interpreter for the "
                 f"plugins and for `python3 -c 'import requests'`; plugin code from {code}"]
        for name, cmd in self.commands.items():
            how = "console script" if len(cmd) == 1 else "`python -m` (no console script for this interpreter)"
            lines.append(f"- {name}: {how} `{' '.join(cmd)}`")
        return lines


def _script_of(path: Path, interpreter: str) -> bool:
    """A pip console script whose #! is this interpreter (not a pyenv/asdf shell shim)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace")
    except OSError:
        return False
    if not first.startswith("#!"):
        return False
    target = first[2:].strip().split()[0] if first[2:].strip() else ""
    try:
        return os.path.realpath(target) == os.path.realpath(interpreter)
    except OSError:
        return False


def _versions() -> list[str]:
    lines = []
    for module in ("requests", "urllib3", "charset_normalizer", "idna", "certifi", "nagiosplugin", "yaml", "jmespath"):
        try:
            from importlib.metadata import version

            dist = {"yaml": "PyYAML", "charset_normalizer": "charset-normalizer"}.get(module, module)
            lines.append(f"{dist} {version(dist)}")
        except Exception:
            lines.append(f"{module} ?")
    return lines


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    distro = platform.platform()
    try:
        for line in open("/etc/os-release", encoding="utf-8"):
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    plugins = _run_text(["dpkg-query", "-W", "-f", "${Version}", "monitoring-plugins-basic"]) or "?"
    curl = (_run_text(["curl", "--version"]) or "? ").splitlines()[0].split(" (")[0]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"- Machine: {cpu}, {os.cpu_count()} CPUs, {memory} RAM; {distro}, Linux {platform.release()}; "
            f"load average at start {load}",
            f"- Reference plugins: Debian monitoring-plugins {plugins} ({CHECK_CURL}, {CHECK_HTTP}); {curl}",
            f"- Libraries: {', '.join(_versions())}"]


def _run_text(cmd) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def startup_note(launcher: Launcher, setup: Setup) -> str | None:
    """Some Python installations import modules at startup (.pth files); say so, it is in every row."""
    probe = launcher.run([sys.executable, "-c", "import sys; print(sorted(m for m in ('certifi', 'requests', "
                                                "'urllib3', 'typing', 'importlib.resources') if m in sys.modules))"],
                         setup.env)
    found = probe.stdout.strip()
    if found and found != "[]":
        return (f"This interpreter's startup (site, .pth files) already imports {found}: every Python row, "
                "the floors included, pays for that before running anything.")
    return None


# ---------------------------------------------------------------------------------------------
# 1. Cost per run


def section_cost(launcher: Launcher, setup: Setup, rounds: int, tmp: Path) -> dict:
    site = sites.StaticSite().start()
    try:
        scenario = tmp / "five-steps.yaml"
        scenario.write_text(sites.FIVE_STEPS, encoding="utf-8")
        csv_path = tmp / "nps-small.csv"
        make_export(csv_path, 1000)
        url = f"{site.url}/login"
        py = sys.executable
        rows = {
            "check_cx_login": (setup.commands["check_cx_login"] + [
                "-u", url, "--username", sites.USERNAME, "--password-env", "BENCH_PASSWORD"], 0),
            "check_cx_checkout (5 steps)": (setup.commands["check_cx_checkout"] + [
                "--scenario", str(scenario), "--var", f"base_url={site.url}",
                "--var-env", "password=BENCH_PASSWORD"], 0),
            "check_cx_nps --csv (1,000 rows)": (setup.commands["check_cx_nps"] + [
                "--csv", str(csv_path), "--now", NPS_NOW, "--window", "30d", "--min-responses", "10"], 0),
            "check_cx_login usage error (-w abc)": (setup.commands["check_cx_login"] + ["-w", "abc"], 3),
            "check_curl": ([CHECK_CURL, "-H", "127.0.0.1", "-p", str(site.port), "-u", "/login"], 0),
            "check_http": ([CHECK_HTTP, "-H", "127.0.0.1", "-p", str(site.port), "-u", "/login"], 0),
            "python3 -c 'import requests'": ([py, "-c", "import requests"], 0),
            "python3 -c pass": ([py, "-c", "pass"], 0),
            "launch floor (/bin/true)": (["/bin/true"], 0),
        }
        rows = {name: spec for name, spec in rows.items() if _available(spec[0][0])}
        samples = {name: [] for name in rows}
        failures = {}
        order = list(rows)
        for number in range(rounds + 1):                 # round 0 warms caches, pyc files; not counted
            random.shuffle(order)
            for name in order:
                cmd, expected = rows[name]
                sample = launcher.run(cmd, setup.env)
                if sample.code != expected:
                    failures.setdefault(name, f"exit {sample.code}: {sample.status_line or sample.stderr.strip()[-300:]}")
                    continue
                if number:
                    samples[name].append(sample)
            _progress(f"cost round {number}/{rounds}")
        _progress("")
        commands = {name: _show(cmd, site.port, tmp) for name, (cmd, _) in rows.items()}
        return {"samples": samples, "failures": failures, "commands": commands, "rounds": rounds}
    finally:
        site.stop()


def report_cost(result: dict) -> tuple[list[str], dict]:
    samples = result["samples"]
    cpu = {name: median([s.cpu for s in runs]) for name, runs in samples.items() if runs}
    refs = [r for r in ("python3 -c 'import requests'", "check_curl", "check_http") if r in cpu]
    headers = ["command", "wall ms", "CPU ms (user+sys)", "peak RSS MB"] + [f"CPU ÷ {_short(r)}" for r in refs]
    rows = []
    for name, runs in samples.items():
        if not runs:
            rows.append([name, "failed", "", ""] + ["" for _ in refs])
            continue
        row = [name, spread([s.wall for s in runs], 1000), spread([s.cpu for s in runs], 1000),
               spread([s.maxrss_kb for s in runs], 1 / 1024)]
        row += [f"{cpu[name] / cpu[r]:.2f}×" for r in refs]
        rows.append(row)
    lines = table(headers, rows)
    figures = {"cpu_ms": {k: v * 1000 for k, v in cpu.items()}}
    floor = cpu.get("python3 -c 'import requests'")
    if floor and "check_cx_login" in cpu:
        figures["login_ratio"] = cpu["check_cx_login"] / floor
    return lines, figures


def _short(name: str) -> str:
    return "import requests" if "requests" in name else name


def _available(program: str) -> bool:
    if os.path.isabs(program):
        return os.access(program, os.X_OK)
    return shutil.which(program) is not None


def _show(cmd: list[str], port, tmp: Path) -> str:
    text = " ".join(_quote(part) for part in cmd)
    return text.replace(str(tmp), "$TMP").replace(f"127.0.0.1:{port}", "127.0.0.1:$PORT").replace(
        f"-p {port}", "-p $PORT")


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


def make_export(path: Path, rows: int):
    """The NPS engineer's generator (bench/bench_nps.py) when present, so both benches read the same shape."""
    try:
        import bench_nps

        bench_nps.make_export(path, rows)
        return
    except ImportError:
        pass
    rng = random.Random(1)
    start = datetime(2026, 11, 1, tzinfo=UTC).timestamp() - 90 * 86400
    weights = [3, 1, 1, 2, 2, 4, 6, 10, 16, 24, 22]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("id,submitted_at,score,comment\r\n")
        for number in range(rows):
            at = datetime.fromtimestamp(start + rng.randrange(90 * 86400), UTC)
            out.write(f"{number},{at:%Y-%m-%dT%H:%M:%SZ},{rng.choices(range(11), weights)[0]},\r\n")


# ---------------------------------------------------------------------------------------------
# 2. Timing accuracy at 200 ms


def _shop():
    from cxcheck.demo.shop import DemoShop

    return DemoShop().start()


def _admin(shop, method: str, path: str):
    request = urllib.request.Request(shop.url + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def section_accuracy(launcher: Launcher, setup: Setup, rounds: int, tmp: Path) -> dict:
    shop = _shop()
    try:
        path = f"/fault/slow?ms={SLOW_MS}"
        url = shop.url + path
        scenario = tmp / "one-step.yaml"
        scenario.write_text(sites.one_step(url), encoding="utf-8")
        tools = {
            "curl time_total": (["curl", "-s", "-o", "/dev/null", "-w",
                                 "%{time_connect} %{time_starttransfer} %{time_total}", url], "curl"),
            "check_cx_checkout (step_slow)": (setup.commands["check_cx_checkout"] + [
                "--scenario", str(scenario)], "step_slow"),
            "check_cx_login --scenario (time)": (setup.commands["check_cx_login"] + [
                "--scenario", str(scenario)], "time"),
            "check_curl (time)": ([CHECK_CURL, "-H", "127.0.0.1", "-p", str(shop.port), "-u", path], "time"),
            "check_http (time)": ([CHECK_HTTP, "-H", "127.0.0.1", "-p", str(shop.port), "-u", path], "time"),
        }
        tools = {name: spec for name, spec in tools.items() if _available(spec[0][0])}
        reported = {name: [] for name in tools}
        server = {name: [] for name in tools}
        connect = []
        failures = {}
        order = list(tools)
        for number in range(rounds + 1):
            random.shuffle(order)
            for name in order:
                cmd, key = tools[name]
                _admin(shop, "DELETE", "/admin/requests")
                sample = launcher.run(cmd, setup.env)
                log = [r for r in _admin(shop, "GET", "/admin/requests") if r["path"] == "/fault/slow"]
                value = None
                if key == "curl":
                    parts = sample.stdout.split()
                    if sample.code == 0 and len(parts) == 3:
                        value = float(parts[2])
                        if number:
                            connect.append(float(parts[0]))
                else:
                    value = sample.perfdata().get(key)
                if value is None or len(log) != 1:
                    failures.setdefault(name, f"exit {sample.code}: {sample.status_line or sample.stderr.strip()[-300:]}")
                    continue
                if number:
                    reported[name].append(value)
                    server[name].append(log[0]["duration_s"])
            _progress(f"accuracy round {number}/{rounds}")
        _progress("")
        commands = {name: _show(cmd, shop.port, tmp) for name, (cmd, _) in tools.items()}
        return {"reported": reported, "server": server, "connect": connect, "failures": failures,
                "commands": commands, "rounds": rounds}
    finally:
        shop.stop()


def report_accuracy(result: dict) -> tuple[list[str], dict]:
    reported, server = result["reported"], result["server"]
    truth = median(reported.get("curl time_total", []))
    headers = ["tool", "reported ms", "server's own ms", "reported − server ms", "median − curl's ms"]
    rows, figures = [], {}
    for name, values in reported.items():
        if not values:
            rows.append([name, "failed", "", "", ""])
            continue
        delta = (median(values) - truth) * 1000
        over = [v - s for v, s in zip(values, server[name])]
        rows.append([name, spread(values, 1000, 2), spread(server[name], 1000, 2), spread(over, 1000, 2),
                     "—" if name.startswith("curl") else f"{delta:+.2f}"])
        figures[name] = delta
    return table(headers, rows), figures


# ---------------------------------------------------------------------------------------------
# 3. Journey overhead per step


def section_overhead(launcher: Launcher, setup: Setup, rounds: int, tmp: Path) -> dict:
    shop = _shop()
    try:
        scenario = tmp / "ten-steps.yaml"
        scenario.write_text(sites.ten_steps(shop.url), encoding="utf-8")
        url = shop.url + "/api/health"
        curl = ["curl", "-s", "-w", "%{time_total}\\n"]
        for _ in range(10):
            curl += ["-o", "/dev/null", url]
        tools = {"check_cx_checkout, 10 steps": setup.commands["check_cx_checkout"] + ["--scenario", str(scenario)]}
        if _available("curl"):
            tools["curl, the same 10 URLs in one process"] = curl
        per_step = {name: [] for name in tools}
        first = {name: [] for name in tools}
        rest = {name: [] for name in tools}
        failures = {}
        order = list(tools)
        for number in range(rounds + 1):
            random.shuffle(order)
            for name in order:
                _admin(shop, "DELETE", "/admin/requests")
                sample = launcher.run(tools[name], setup.env)
                log = [r["duration_s"] for r in _admin(shop, "GET", "/admin/requests") if r["path"] == "/api/health"]
                if name.startswith("curl"):
                    steps = [float(x) for x in sample.stdout.split()]
                else:
                    perf = sample.perfdata()
                    steps = [perf.get(f"step_s{i:02d}") for i in range(1, 11)]
                if sample.code != 0 or len(log) != 10 or len(steps) != 10 or None in steps:
                    failures.setdefault(name, f"exit {sample.code}: {sample.status_line or sample.stderr.strip()[-300:]}")
                    continue
                if number:
                    per_step[name].append((sum(steps) - sum(log)) / 10)
                    first[name].append(steps[0] - log[0])
                    rest[name].append((sum(steps[1:]) - sum(log[1:])) / 9)
            _progress(f"overhead round {number}/{rounds}")
        _progress("")
        commands = {name: _show(cmd, shop.port, tmp) for name, cmd in tools.items()}
        return {"per_step": per_step, "first": first, "rest": rest, "failures": failures, "commands": commands,
                "rounds": rounds}
    finally:
        shop.stop()


def report_overhead(result: dict) -> tuple[list[str], dict]:
    headers = ["journey", "(reported − server's own) ÷ 10, ms", "step 1 (new connection) ms", "steps 2–10 each ms"]
    rows, figures = [], {}
    for name, values in result["per_step"].items():
        if not values:
            rows.append([name, "failed", "", ""])
            continue
        rows.append([name, spread(values, 1000, 2), spread(result["first"][name], 1000, 2),
                     spread(result["rest"][name], 1000, 2)])
        figures[name] = median(values) * 1000
    return table(headers, rows), figures


# ---------------------------------------------------------------------------------------------
# 4. check_cx_nps at scale


def section_nps(launcher: Launcher, setup: Setup, rows: int, runs: int, tmp: Path) -> dict:
    path = tmp / "nps-large.csv"
    started = time.perf_counter()
    make_export(path, rows)
    generated = time.perf_counter() - started
    tools = {
        f"check_cx_nps --csv ({rows:,} rows)": setup.commands["check_cx_nps"] + [
            "--csv", str(path), "--now", NPS_NOW, "--window", "30d", "-w", "30:", "-c", "0:"],
        "floor: python3, csv.reader over the same file": [
            sys.executable, "-c", "import csv, sys\nn = 0\nwith open(sys.argv[1], newline='', encoding='utf-8') "
                                  "as f:\n    for n, _ in enumerate(csv.reader(f)): pass\nprint(n)", str(path)],
    }
    samples = {name: [] for name in tools}
    failures = {}
    status = ""
    for number in range(runs + 1):
        for name, cmd in tools.items():
            sample = launcher.run(cmd, setup.env, timeout=600)
            if sample.code not in (0, 1, 2):
                failures.setdefault(name, f"exit {sample.code}: {sample.status_line or sample.stderr.strip()[-300:]}")
                continue
            if name.startswith("check_cx_nps"):
                status = sample.status_line
            if number:
                samples[name].append(sample)
        _progress(f"nps run {number}/{runs}")
    _progress("")
    commands = {name: _show(cmd, 0, tmp) for name, cmd in tools.items()}
    return {"samples": samples, "failures": failures, "commands": commands, "runs": runs, "rows": rows,
            "size_mb": path.stat().st_size / 1e6, "generated_s": generated, "status": status}


def report_nps(result: dict) -> tuple[list[str], dict]:
    headers = ["command", "wall s", "CPU s", "peak RSS MB"]
    rows, figures = [], {}
    for name, runs in result["samples"].items():
        if not runs:
            rows.append([name, "failed", "", ""])
            continue
        rows.append([name, spread([s.wall for s in runs], 1, 2), spread([s.cpu for s in runs], 1, 2),
                     spread([s.maxrss_kb for s in runs], 1 / 1024)])
        if name.startswith("check_cx_nps"):
            figures = {"wall_s": median([s.wall for s in runs]), "rss_mb": median([s.maxrss_kb for s in runs]) / 1024}
    return table(headers, rows), figures


# ---------------------------------------------------------------------------------------------
# 5. Where a login run's imports go (python -X importtime), beyond `import requests`


def _importtime(launcher: Launcher, cmd: list[str], env: dict) -> dict[str, int]:
    sample = launcher.run([sys.executable, "-X", "importtime", *cmd], env)
    found = {}
    for line in sample.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            own, _, name = line[len("import time:"):].split("|")
            if own.strip().isdigit():
                found[name.strip()] = int(own)
    return found


def section_imports(launcher: Launcher, setup: Setup, runs: int) -> dict:
    site = sites.StaticSite().start()
    try:
        login = ["-m", MODULES["check_cx_login"], "-u", f"{site.url}/login", "--username", sites.USERNAME,
                 "--password-env", "BENCH_PASSWORD"]
        floor = [_importtime(launcher, ["-c", "import requests"], setup.env) for _ in range(runs)]
        plugin = [_importtime(launcher, login, setup.env) for _ in range(runs)]
    finally:
        site.stop()
    in_floor = set().union(*floor)
    extra = {}
    for run in plugin:
        for name, own in run.items():
            if name not in in_floor:
                extra.setdefault(name, []).append(own)
    return {"extra": {name: median(values) for name, values in extra.items()}, "runs": runs,
            "floor_total": median([sum(r.values()) for r in floor]),
            "plugin_total": median([sum(r.values()) for r in plugin])}


def report_imports(result: dict, top: int = 15) -> list[str]:
    extra = result["extra"]
    groups = {}
    for name, own in extra.items():
        root = name.split(".")[0] if not name.startswith("cxcheck.") else ".".join(name.split(".")[:2])
        groups[root] = groups.get(root, 0) + own
    rows = [[name, f"{own / 1000:.2f}"] for name, own in sorted(groups.items(), key=lambda kv: -kv[1])[:top]]
    return table(["package (modules beyond `import requests`)", "import ms (own time, summed)"], rows) + [
        "", f"{len(extra)} modules beyond the floor's, {sum(extra.values()) / 1000:.1f} ms of import time in all "
            f"(-X importtime's own figures, inflated by its bookkeeping; medians of {result['runs']} runs)."]


# ---------------------------------------------------------------------------------------------


def _progress(text: str):
    if sys.stderr.isatty():
        sys.stderr.write("\r" + text.ljust(40) + ("" if text else "\r"))
        sys.stderr.flush()


def _failures(result: dict) -> list[str]:
    return [f"- **{name} failed** ({why}); its runs are left out" for name, why in result.get("failures", {}).items()]


def _commands(result: dict) -> list[str]:
    return ["```", *(f"{cmd}" for cmd in result["commands"].values()), "```"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25, help="cost rounds (default 25, at least 20 counts)")
    parser.add_argument("--accuracy-rounds", type=int, default=40)
    parser.add_argument("--overhead-rounds", type=int, default=25)
    parser.add_argument("--nps-rows", type=int, default=1_000_000)
    parser.add_argument("--nps-runs", type=int, default=3)
    parser.add_argument("--only", default="cost,accuracy,overhead,imports,nps",
                        help="comma-separated sections: cost, accuracy, overhead, imports, nps")
    parser.add_argument("--installed", action="store_true",
                        help="run the installed package (default: this checkout's plugins/ via PYTHONPATH)")
    parser.add_argument("--plugins", type=Path, default=lib.PLUGINS,
                        help="the package root to run (default: this checkout's plugins/), e.g. an older copy")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md", help="where to write the report")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}

    setup = Setup(args.installed, args.plugins.resolve())
    launcher = Launcher()
    started = datetime.now(UTC)
    out = ["# cxcheck benchmark results", "",
           f"Run {started:%Y-%m-%d %H:%M} UTC with `{' '.join(['python bench/run.py', *(argv if argv is not None else sys.argv[1:])])}`.",
           "", *machine(), *setup.describe(), f"- Measurement: {launcher.how}"]
    note = startup_note(launcher, setup)
    if note:
        out.append(f"- Note: {note}")
    missing = [tool for tool, package in ((CHECK_CURL, "monitoring-plugins"), (CHECK_HTTP, "monitoring-plugins"),
                                          ("curl", "curl")) if not _available(tool)]
    if missing:
        out.append(f"- **Missing: {', '.join(missing)}** (`apt-get install monitoring-plugins curl`): "
                   "their rows and ratios are left out")
    head, out, verdicts = out, [], []

    with tempfile.TemporaryDirectory(prefix="cxbench-") as tmpdir:
        tmp = Path(tmpdir)
        if "cost" in sections:
            result = section_cost(launcher, setup, args.rounds, tmp)
            lines, figures = report_cost(result)
            out += ["", f"## Cost per run ({result['rounds']} rounds, order shuffled each round; median (min–max))",
                    "", *lines, "", *_failures(result),
                    "check_cx_login: GET the login page, POST its form (303 to /home), GET /home. check_curl and "
                    "check_http: one GET of the same login page. The checkout journey: 5 steps on the same "
                    "static site. The NPS export: 1,000 rows. `launch floor` is what starting a process through "
                    "the bench's launcher costs (in every wall time). Ratios are of the CPU medians above, all "
                    "from this run.", "", "Commands:", *_commands(result)]
            if "login_ratio" in figures:
                ratio = figures["login_ratio"]
                verdicts.append(["check_cx_login CPU ÷ `python3 -c 'import requests'` CPU", f"{ratio:.2f}×",
                                 f"≤ {TARGET_CPU_RATIO}×", "met" if ratio <= TARGET_CPU_RATIO else "NOT met"])
        if "accuracy" in sections:
            result = section_accuracy(launcher, setup, args.accuracy_rounds, tmp)
            lines, figures = report_accuracy(result)
            connect = median(result["connect"]) * 1000 if result["connect"] else float("nan")
            out += ["", f"## Timing accuracy: an endpoint that waits {SLOW_MS} ms ({result['rounds']} rounds, "
                        "interleaved; median (min–max))", "", *lines, "", *_failures(result),
                    "Every tool is a fresh process with a fresh TCP connection, as curl is: like is compared with "
                    f"like (curl's median time_connect here: {connect:.3f} ms). `server's own` is the demo shop's "
                    "duration of that very request (/admin/requests), so `reported − server` is the tool's "
                    "client-side share.", "", "Commands:", *_commands(result)]
            for name, delta in figures.items():
                if name.startswith("check_cx") and delta == delta:      # NaN without curl
                    verdicts.append([f"{name}: reported − curl time_total at {SLOW_MS} ms", f"{delta:+.2f} ms",
                                     f"within ±{TARGET_ACCURACY_MS:g} ms",
                                     "met" if abs(delta) <= TARGET_ACCURACY_MS else "NOT met"])
        if "overhead" in sections:
            result = section_overhead(launcher, setup, args.overhead_rounds, tmp)
            lines, figures = report_overhead(result)
            out += ["", f"## Journey overhead: 10 × GET /api/health, instant ({result['rounds']} rounds; "
                        "median (min–max))", "", *lines, "", *_failures(result),
                    "Reported total (sum of the steps) minus the sum of the demo shop's own durations of the 10 "
                    "requests (/admin/requests), per step. curl fetching the same 10 URLs in one process "
                    "(one kept-alive connection) is the reference.", "", "Commands:", *_commands(result)]
            for name, value in figures.items():
                if name.startswith("check_cx"):
                    verdicts.append(["journey overhead per step (10 instant steps)", f"{value:.2f} ms",
                                     f"≤ {TARGET_OVERHEAD_MS:g} ms", "met" if value <= TARGET_OVERHEAD_MS else "NOT met"])
        if "imports" in sections:
            result = section_imports(launcher, setup, 5)
            out += ["", "## Where check_cx_login's imports go beyond `python3 -c 'import requests'`", "",
                    *report_imports(result), "", "Command: `python -X importtime -m cxcheck.checks.login -u "
                    "http://127.0.0.1:$PORT/login --username bench@example.com --password-env BENCH_PASSWORD`, "
                    "against `python -X importtime -c 'import requests'`."]
        if "nps" in sections:
            result = section_nps(launcher, setup, args.nps_rows, args.nps_runs, tmp)
            lines, figures = report_nps(result)
            out += ["", f"## check_cx_nps at scale: {result['rows']:,} rows, {result['size_mb']:.1f} MB CSV "
                        f"({result['runs']} runs; median (min–max))", "", *lines, "", *_failures(result),
                    f"Status line: `{result['status'][:200]}`", "", "Commands:", *_commands(result)]
            if figures:
                verdicts.append([f"check_cx_nps on {result['rows']:,} rows", f"{figures['wall_s']:.2f} s, "
                                 f"{figures['rss_mb']:.1f} MB", "(measured; no target in the issue)", ""])

    if verdicts:
        head += ["", "## Targets", "", *table(["figure", "measured", "target", ""], verdicts)]
    text = "\n".join(head + out) + "\n"
    lib.publish(text, args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
