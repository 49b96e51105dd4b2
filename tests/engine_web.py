"""Nagios' web UI in private processes: Debian's CGIs behind a private apache2, pages rendered by
headless Chromium (Debian chromium)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from engine_base import CLEAN_PATH, kill_session, session_members, wait_until


class Apache:
    """A private apache2 (its own config, pid file and logs) serving Debian's nagios4 web UI on
    127.0.0.1:`port`, with the CGIs reading a private cgi.cfg."""

    MODULES = ("mpm_event", "authz_core", "authz_host", "mime", "dir", "alias", "cgid", "env", "headers")

    def __init__(self, binary: str, workdir: Path, port: int, cgi_cfg: Path):
        self.binary = binary
        self.dir = Path(workdir)
        self.port = port
        self.cgi_cfg = cgi_cfg
        self.conf = self.dir / "apache2.conf"
        self.pid_file = self.dir / "apache2.pid"
        self.url = f"http://127.0.0.1:{port}"

    def write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        mods = "/usr/lib/apache2/modules"
        loads = "\n".join(f"LoadModule {m}_module {mods}/mod_{m}.so" for m in self.MODULES)
        self.conf.write_text(f"""\
ServerRoot "{self.dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.pid_file}"
Mutex file:{self.dir}
ScriptSock "{self.dir}/cgisock"
ErrorLog "{self.dir}/error.log"
LogLevel warn
User www-data
Group www-data
{loads}
TypesConfig /etc/mime.types
DocumentRoot /usr/share/nagios4/htdocs
ScriptAlias /cgi-bin/nagios4 /usr/lib/cgi-bin/nagios4
ScriptAlias /nagios4/cgi-bin /usr/lib/cgi-bin/nagios4
Alias /nagios4/stylesheets /etc/nagios4/stylesheets
Alias /nagios4 /usr/share/nagios4/htdocs
SetEnv NAGIOS_CGI_CONFIG {self.cgi_cfg}
SetEnv REMOTE_USER cxcheck
<Directory />
    Require all denied
</Directory>
<DirectoryMatch (/usr/share/nagios4/htdocs|/usr/lib/cgi-bin/nagios4|/etc/nagios4/stylesheets)>
    Options FollowSymLinks
    DirectoryIndex index.html
    Require ip 127.0.0.0/8
</DirectoryMatch>
""")

    def env(self) -> dict:
        return {"PATH": CLEAN_PATH, "LANG": "C", "APACHE_RUN_DIR": str(self.dir), "APACHE_LOCK_DIR": str(self.dir),
                "APACHE_LOG_DIR": str(self.dir)}

    def start(self, timeout: float = 20):
        proc = subprocess.run([self.binary, "-f", str(self.conf), "-k", "start"], capture_output=True, text=True,
                              env=self.env(), timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise AssertionError(f"apache2 did not start: {proc.stdout}{proc.stderr}")
        wait_until(lambda: self.pid_file.exists() and self.pid_file.read_text().strip(), timeout,
                   "apache2's pid file")

    def stop(self, timeout: float = 10, grace: float = 1.0):
        """SIGTERM, as `apache2 -k stop`; what is still there after `grace` seconds is killed with
        its whole session (apache2 detaches into one of its own): mod_wsgi's daemons would wait
        out their 5 s shutdown-timeout, and a test's teardown has no request left to finish."""
        if not self.pid_file.exists():
            return
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def gone():             # a zombie is gone: init reaps it when it will (not ours to wait for)
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
            except (OSError, IndexError):
                return True

        try:
            wait_until(gone, grace, "apache2 to stop")
        except AssertionError:
            kill_session(pid, grace=0)
            wait_until(lambda: gone() and not session_members(pid), timeout, "apache2's processes to end")


def chromium_screenshot(binary: str, url: str, out: Path, profile: Path, size=(1280, 640),
                        timeout: float = 60) -> subprocess.CompletedProcess:
    """Headless Chromium from Debian: a PNG of `url`."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={size[0]},{size[1]}", f"--screenshot={out}"]
    return subprocess.run([binary, *flags, url], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"PATH": CLEAN_PATH, "HOME": str(profile), "TMPDIR": str(profile)},
                          start_new_session=True)


def chromium_dump_dom(binary: str, url: str, profile: Path, timeout: float = 60) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--dump-dom"]
    proc = subprocess.run([binary, *flags, url], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={"PATH": CLEAN_PATH, "HOME": str(profile), "TMPDIR": str(profile)},
                          start_new_session=True)
    return proc.stdout
