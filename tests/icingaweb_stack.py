"""Icinga Web 2 from Debian 12 for the tests, set up without its wizard as its documentation's
"Icinga Web 2 Manual Setup" lays out (/usr/share/icingaweb2/doc/20-Advanced-Topics.md): a
private MariaDB (Debian's mariadbd on a copy of its 50-server.cnf, only paths and the port
changed), the icingaweb2 and IDO databases from the packages' schemas, an admin user with a PHP
password hash, the INI files of the documented layout in a private ICINGAWEB_CONFIGDIR, and
Debian's own apache2 configuration of Icinga Web 2 (conf-available/icingaweb2.conf) with that
directory, in a private apache2 (mod_php, prefork) that may serve graphite-web beside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import engines
from engines import CLEAN_PATH, stop_process, wait_until

SERVER_CNF = Path("/etc/mysql/mariadb.conf.d/50-server.cnf")
IDO_SCHEMA = Path("/usr/share/icinga2-ido-mysql/schema/mysql.sql")
WEB_SCHEMA = Path("/usr/share/icingaweb2/schema/mysql.schema.sql")
ICINGAWEB_APACHE = Path("/etc/apache2/conf-available/icingaweb2.conf")
MODULES = Path("/usr/share/icingaweb2/modules")
WEB_USER = "www-data"


class MariaDB:
    """mariadbd as root (--user=root) with its own datadir, socket and port under `workdir`."""

    def __init__(self, workdir: Path, port: int):
        self.dir = Path(workdir)
        self.port = port
        self.socket = self.dir / "mysqld.sock"
        self.cnf = self.dir / "my.cnf"
        self.proc: subprocess.Popen | None = None

    def write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        stock = SERVER_CNF.read_text()
        assert "pid-file                = /run/mysqld/mysqld.pid" in stock, f"{SERVER_CNF} changed"
        text = stock.replace("/run/mysqld/mysqld.pid", str(self.dir / "mysqld.pid"))
        text = text.replace("[mysqld]\n", f"[mysqld]\nuser = root\ndatadir = {self.dir}/data\nsocket = {self.socket}\n"
                                          f"port = {self.port}\nlog-error = {self.dir}/error.log\n", 1)
        self.cnf.write_text(text)

    def start(self, timeout: float = 120):
        proc = subprocess.run(["mariadb-install-db", f"--defaults-file={self.cnf}", "--auth-root-authentication-method=normal",
                               "--skip-test-db"], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, cwd=self.dir)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        self.proc = subprocess.Popen(["mariadbd", f"--defaults-file={self.cnf}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=self.dir,
                                     env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"mariadbd exited {self.proc.returncode}: {self.tail()}")
            return self.socket.exists() and "ready for connections" in self.tail(100_000)

        wait_until(ready, timeout, "mariadbd to accept connections", interval=0.2)

    def tail(self, chars: int = 3000) -> str:
        log = self.dir / "error.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def sql(self, text: str, database: str | None = None) -> str:
        command = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "--batch", "--skip-column-names"]
        proc = subprocess.run(command + ([database] if database else []), input=text, capture_output=True, text=True,
                              timeout=120, env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def create(self, database: str, user: str, password: str, schema: Path):
        """A database, its user over TCP from 127.0.0.1, and the package's schema in it."""
        self.sql(f"CREATE DATABASE {database};\n"
                 f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
                 f"GRANT ALL ON {database}.* TO '{user}'@'127.0.0.1';\n")
        self.sql(schema.read_text(), database)

    def stop(self, timeout: float = 30):
        stop_process(self.proc, timeout)
        self.proc = None


def ini(sections: dict[str, dict]) -> str:
    return "\n".join(f"[{name}]\n" + "".join(f'{key} = "{value}"\n' for key, value in values.items())
                     for name, values in sections.items())


class IcingaWeb2:
    """The documented configuration files in `workdir`, readable by the web server's user."""

    def __init__(self, workdir: Path, db: MariaDB, admin: tuple[str, str], graphite_url: str, templates: Path):
        self.dir = Path(workdir)
        self.db = db
        self.admin = admin
        self.graphite_url = graphite_url
        self.templates = templates
        self.log = self.dir / "log" / "icingaweb2.log"

    def resource(self, dbname: str) -> dict:
        return {"type": "db", "db": "mysql", "host": "127.0.0.1", "port": self.db.port, "dbname": dbname,
                "username": dbname, "password": dbname, "charset": "utf8mb4"}

    def write_config(self) -> str:
        """Databases, users and INI files; return the apache2 configuration of the site."""
        self.db.create("icingaweb2", "icingaweb2", "icingaweb2", WEB_SCHEMA)
        user, password = self.admin
        hashed = subprocess.run(["php", "-r", "echo password_hash($argv[1], PASSWORD_DEFAULT);", password],
                                capture_output=True, text=True, timeout=60, check=True).stdout
        self.db.sql(f"INSERT INTO icingaweb_user (name, active, password_hash) VALUES ('{user}', 1, '{hashed}');",
                    "icingaweb2")
        files = {
            "resources.ini": {"icingaweb2": self.resource("icingaweb2"), "icinga2": self.resource("icinga")},
            "config.ini": {"global": {"config_resource": "icingaweb2"},
                           "logging": {"log": "file", "file": self.log, "level": "ERROR"}},
            "authentication.ini": {"icingaweb2": {"backend": "db", "resource": "icingaweb2"}},
            "roles.ini": {"admins": {"users": user, "permissions": "*"}},
            "modules/monitoring/config.ini": {"security": {"protected_customvars": "*pw*,*pass*,community"}},
            "modules/monitoring/backends.ini": {"icinga2": {"type": "ido", "resource": "icinga2"}},
            "modules/graphite/config.ini": {"graphite": {"url": self.graphite_url},
                                            # the graphs span the test's minutes, not the default hour
                                            "ui": {"default_time_range": 2, "default_time_range_unit": "minutes"}},
        }
        for name, sections in files.items():
            path = self.dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ini(sections))
        (self.dir / "modules" / "graphite" / "templates").mkdir(parents=True, exist_ok=True)
        for template in self.templates.glob("*.ini"):
            (self.dir / "modules" / "graphite" / "templates" / template.name).symlink_to(template)
        (self.dir / "enabledModules").mkdir(exist_ok=True)
        for module in ("monitoring", "graphite"):
            (self.dir / "enabledModules" / module).symlink_to(MODULES / module)
        self.log.parent.mkdir(exist_ok=True)
        os.chown(self.log.parent, *web_ids())
        for path in [self.dir, *self.dir.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        site = ICINGAWEB_APACHE.read_text()
        assert 'SetEnv ICINGAWEB_CONFIGDIR "/etc/icingaweb2"' in site, f"{ICINGAWEB_APACHE} changed"
        return site.replace('"/etc/icingaweb2"', f'"{self.dir}"')

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def web_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(WEB_USER)
    return entry.pw_uid, entry.pw_gid


class Apache(engines.Apache):
    """A private apache2 on Debian's module files (prefork, PHP, WSGI), serving `sites` (apache2
    configuration texts) on 127.0.0.1 `ports`, with `env` added to its environment."""

    MODULES = ("mpm_prefork", "authz_core", "authz_host", "mime", "dir", "alias", "env", "headers", "setenvif",
               "rewrite", "php8.2", "wsgi")

    def __init__(self, binary: str, workdir: Path, ports: list[int], sites: list[str], env: dict | None = None):
        super().__init__(binary, workdir, ports[-1], cgi_cfg=None)
        self.ports = ports
        self.sites = sites
        self.extra_env = env or {}

    def write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        modules = []
        for module in self.MODULES:
            modules.append(f"Include /etc/apache2/mods-available/{module}.load")
            if Path(f"/etc/apache2/mods-available/{module}.conf").exists():
                modules.append(f"Include /etc/apache2/mods-available/{module}.conf")
        listens = "\n".join(f"Listen 127.0.0.1:{port}" for port in self.ports)
        self.conf.write_text(f"""\
ServerRoot "{self.dir}"
ServerName 127.0.0.1:{self.port}
{listens}
PidFile "{self.pid_file}"
Mutex file:{self.dir}
WSGISocketPrefix {self.dir}/wsgi
ErrorLog "{self.dir}/error.log"
LogLevel warn
User {WEB_USER}
Group {WEB_USER}
{chr(10).join(modules)}
TypesConfig /etc/mime.types
DocumentRoot /usr/share/icingaweb2/public
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<Directory /usr/share>
    Require ip 127.0.0.0/8
</Directory>
""" + "\n".join(self.sites) + "\n")

    def env(self) -> dict:
        return {**super().env(), **self.extra_env}

    def tail(self, chars: int = 3000) -> str:
        log = self.dir / "error.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""
