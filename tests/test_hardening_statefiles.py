"""Class 3 of issue 21: state files (the Apdex log position) and screenshots in directories only
the check's user controls.

Another user (nobody, through setpriv from util-linux) prepares the shared state directory the
way an attacker would: made first, left writable, a symbolic link or a hard link in the state
file's place, pointing at a file the check's user may write (here root's "victim"). The check
must refuse with one UNKNOWN line naming the path and the fault, and write nothing anywhere.
Then the other way round: the check runs as nobody and refuses root's directory, and works in
one it makes itself. Replacing is atomic: a reader never sees half a state file, and runs that
overlap count every line once.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import MODULES, need_binary, plugin_env, run_plugin
from weblogs import nginx, write

from cxcheck.browser import screenshots
from cxcheck.runtime import ConfigError
from cxcheck.runtime.statefiles import PrivateDirectory, StateFile

NOBODY = 65534
VICTIM_TEXT = "precious configuration\n"


def lines(count: int) -> list[str]:
    return [nginx("GET", f"/item/{n}", 200, 0.1) for n in range(count)]


@pytest.fixture
def world():
    """A directory under /tmp that every user can traverse (pytest's tmp_path is root's alone),
    with a shared, sticky, world-writable `shared/` in it as /var/tmp is, the access log, and the
    victim: a file of the check's user (root) that a planted link points at."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the attacker and the check are two users")
    need_binary("setpriv", "util-linux")
    root = Path(tempfile.mkdtemp(prefix="cxstate-"))
    root.chmod(0o755)
    (root / "shared").mkdir(mode=0o777)
    (root / "shared").chmod(0o1777)
    write(root / "access.log", lines(3)).chmod(0o644)
    (root / "victim.cfg").write_text(VICTIM_TEXT)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_nobody(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    setpriv = need_binary("setpriv", "util-linux")
    return subprocess.run([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command],
                          capture_output=True, text=True, env=plugin_env(env), timeout=60, check=False)


def apdex(log: Path, *more: str, env: dict | None = None):
    return run_plugin("check_cx_apdex", "--log", str(log), "-T", "0.5", *more, env=env)


def default_name(world: Path) -> str:
    """The state file's name in the default directory, as an attacker works it out (one run of
    their own with the same options: it depends on the log, the options and the uid only)."""
    probe = world / "probe"
    assert apdex(world / "access.log", env={"CXCHECK_STATE_DIR": str(probe)}).code == 0
    (name,) = os.listdir(probe)
    shutil.rmtree(probe)
    return name


def assert_untouched(world: Path):
    assert (world / "victim.cfg").read_text() == VICTIM_TEXT


# -- the shared state directory, prepared by another user -------------------------------------------

def test_a_link_planted_in_a_directory_another_user_made_first(world):
    name = default_name(world)
    state_dir = world / "shared" / "cxcheck"
    assert as_nobody("mkdir", "-m", "0777", str(state_dir)).returncode == 0
    assert as_nobody("ln", "-s", str(world / "victim.cfg"), str(state_dir / name)).returncode == 0
    result = apdex(world / "access.log", env={"CXCHECK_STATE_DIR": str(state_dir)})
    assert (result.code, result.stdout, result.stderr) == (
        3, f"CX APDEX UNKNOWN - refusing state directory {state_dir}: it belongs to nobody, not to root "
           "(the user the check runs as)\n", "")
    assert_untouched(world)


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o770])
def test_a_link_planted_in_a_directory_others_may_write(world, mode):
    name = default_name(world)
    state_dir = world / "shared" / "cxcheck"
    state_dir.mkdir()
    state_dir.chmod(mode)
    if mode & 0o002:
        assert as_nobody("ln", "-s", str(world / "victim.cfg"), str(state_dir / name)).returncode == 0
    result = apdex(world / "access.log", env={"CXCHECK_STATE_DIR": str(state_dir)})
    assert result.stdout == (f"CX APDEX UNKNOWN - refusing state directory {state_dir}: its group or others may "
                             f"write to it (mode {mode:04o})\n")
    assert_untouched(world)


def test_a_state_directory_that_is_a_link_to_another_users_directory(world):
    theirs = world / "shared" / "theirs"
    assert as_nobody("mkdir", "-m", "0700", str(theirs)).returncode == 0
    link = world / "shared" / "cxcheck"
    assert as_nobody("ln", "-s", str(theirs), str(link)).returncode == 0
    result = apdex(world / "access.log", env={"CXCHECK_STATE_DIR": str(link)})
    assert result.stdout == f"CX APDEX UNKNOWN - refusing state directory {link}: it is a symbolic link\n"
    assert os.listdir(theirs) == []


# -- the state file itself ------------------------------------------------------------------------

def plant(world: Path, how: str) -> tuple[Path, str]:
    """A state file in a directory of root's (0700) that is not what the check would write: what a
    lax directory let in before it was made private, or what a restore from backup brought."""
    folder = world / "states"
    folder.mkdir(mode=0o700)
    state = folder / "apdex.json"
    if how == "symlink":
        state.symlink_to(world / "victim.cfg")
        return state, "it is a symbolic link"
    if how == "dangling symlink":
        state.symlink_to(world / "shared" / "created-through-the-link")
        return state, "it is a symbolic link"
    if how == "hard link":
        os.link(world / "victim.cfg", state)
        return state, "it has 2 names (hard links)"
    if how == "fifo":
        os.mkfifo(state, 0o600)
        return state, "it is not a regular file"
    if how == "directory":
        state.mkdir()
        return state, "Is a directory"
    state.write_text("{}")
    if how == "other owner":
        os.chown(state, NOBODY, NOBODY)
        return state, "it belongs to nobody, not to root (the user the check runs as)"
    state.chmod({"group-writable": 0o620, "world-writable": 0o606}[how])
    return state, f"its group or others may write to it (mode {stat.S_IMODE(state.stat().st_mode):04o})"


@pytest.mark.parametrize("how", ["symlink", "dangling symlink", "hard link", "fifo", "directory", "other owner",
                                 "group-writable", "world-writable"])
def test_a_state_file_the_check_did_not_write_is_refused(world, how):
    state, reason = plant(world, how)
    result = apdex(world / "access.log", "--state-file", str(state))
    said = "cannot open" if how == "directory" else "refusing"
    assert (result.code, result.stdout, result.stderr) == (3, f"CX APDEX UNKNOWN - {said} state file {state}: "
                                                              f"{reason}\n", "")
    assert_untouched(world)
    assert not (world / "shared" / "created-through-the-link").exists()
    assert os.listdir(state.parent) == ["apdex.json"]        # no temporary file left either


# -- the check as another user ----------------------------------------------------------------------

def test_the_check_as_nobody_makes_its_own_directory_and_refuses_roots(world):
    command = [sys.executable, "-m", MODULES["check_cx_apdex"], "--log", str(world / "access.log"), "-T", "0.5"]
    own = world / "shared" / "nobody-states" / "apdex"
    first = as_nobody(*command, env={"CXCHECK_STATE_DIR": str(own)})
    assert (first.returncode, first.stderr) == (0, ""), first.stdout
    assert first.stdout.startswith("CX APDEX OK - Apdex 1.00 [0.5] excellent, 3 requests in the whole log")
    info = own.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (NOBODY, 0o700)
    (state,) = own.iterdir()
    assert (state.stat().st_uid, stat.S_IMODE(state.stat().st_mode)) == (NOBODY, 0o600)
    write(world / "access.log", lines(2))
    again = as_nobody(*command, env={"CXCHECK_STATE_DIR": str(own)})
    assert " 2 requests since the last run " in again.stdout, again.stdout

    roots = world / "roots"
    roots.mkdir(mode=0o755)
    refused = as_nobody(*command, env={"CXCHECK_STATE_DIR": str(roots)})
    assert (refused.returncode, refused.stdout) == (
        3, f"CX APDEX UNKNOWN - refusing state directory {roots}: it belongs to root, not to nobody "
           "(the user the check runs as)\n")


# -- replaced whole, one run at a time ------------------------------------------------------------------

def test_the_state_file_is_replaced_whole_and_never_read_half_written(tmp_path):
    log, state = write(tmp_path / "access.log", lines(3)), tmp_path / "states" / "apdex.json"
    stop, seen, bad = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            try:
                text = state.read_text()
            except FileNotFoundError:
                continue
            seen.append(text)
            try:
                json.loads(text)
            except ValueError:
                if text:                    # the file as created, before its first commit, is empty
                    bad.append(text)

    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    inodes = []
    try:
        for _ in range(6):
            write(log, lines(50))
            assert apdex(log, "--state-file", str(state)).code == 0
            inodes.append(state.stat().st_ino)
    finally:
        stop.set()
        watcher.join(5)
    assert seen and not bad
    assert all(one != other for one, other in zip(inodes, inodes[1:]))     # a new file each run, renamed in
    assert os.listdir(state.parent) == ["apdex.json"]


def test_a_commit_cut_off_leaves_nothing_for_long(tmp_path):
    """A run the hard timeout ends between writing its temporary file and renaming it leaves that
    file; the next run (holding the lock) removes it."""
    log, state = write(tmp_path / "access.log", lines(3)), tmp_path / "states" / "apdex.json"
    assert apdex(log, "--state-file", str(state)).code == 0
    (state.parent / ".apdex.json.0123456789ab.part").write_text('{"half')
    assert apdex(log, "--state-file", str(state)).code == 0
    assert os.listdir(state.parent) == ["apdex.json"]


def test_overlapping_runs_count_every_line_once(tmp_path):
    log, state = write(tmp_path / "access.log", []), tmp_path / "apdex.json"
    total = 0
    for batch in range(4):
        write(log, lines(20 + batch))
        total += 20 + batch
        procs = [subprocess.Popen([sys.executable, "-m", MODULES["check_cx_apdex"], "--log", str(log), "-T", "0.5",
                                   "--state-file", str(state)], stdout=subprocess.PIPE, text=True, env=plugin_env())
                 for _ in range(4)]
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
        counted = [int(line.split(" requests=")[1].split("c")[0]) for line in outputs]
        assert sum(counted) == 20 + batch, outputs
    assert json.loads(state.read_text())[str(log)]["line"] == total


# -- the library, in-process ------------------------------------------------------------------------

def test_state_file_keeps_a_dict_between_uses(tmp_path):
    path = tmp_path / "d" / "s.json"
    with StateFile(str(path)) as cookie:
        cookie["position"] = 42
    with StateFile(str(path)) as cookie:
        assert dict(cookie) == {"position": 42}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_private_directory_is_used_through_its_descriptor(tmp_path):
    folder = tmp_path / "states"
    with PrivateDirectory(str(folder)) as opened:
        folder.rename(tmp_path / "moved")                   # swapped for a link after the check:
        (tmp_path / "elsewhere").mkdir()
        folder.symlink_to(tmp_path / "elsewhere")
        opened.write("s.json", b"{}\n")
    assert (tmp_path / "moved" / "s.json").read_text() == "{}\n"
    assert os.listdir(tmp_path / "elsewhere") == []


# -- screenshots ------------------------------------------------------------------------------------

def test_screenshots_are_never_written_through_a_planted_link(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir(mode=0o750)
    victim = tmp_path / "victim.cfg"
    victim.write_text(VICTIM_TEXT)
    import time as clock

    for offset in range(3):                 # every name the next seconds could take
        stamp = clock.strftime("%Y%m%dT%H%M%S", clock.gmtime(clock.time() + offset))
        (shots / f"cx_page-{stamp}-1.png").symlink_to(victim)
    path = screenshots.save(str(shots), "cx_page", b"\x89PNG shot", keep=10)
    assert victim.read_text() == VICTIM_TEXT
    assert Path(path).read_bytes() == b"\x89PNG shot" and not Path(path).is_symlink()


@pytest.mark.parametrize("how", ["symlink", "world-writable", "other owner"])
def test_a_screenshot_directory_others_control_is_refused_before_the_browser_starts(world, how):
    shots = world / "shots"
    if how == "symlink":
        (world / "real").mkdir(mode=0o700)
        shots.symlink_to(world / "real")
        reason = "it is a symbolic link"
    else:
        shots.mkdir()
        if how == "world-writable":
            shots.chmod(0o777)
            reason = "its group or others may write to it (mode 0777)"
        else:
            os.chown(shots, NOBODY, NOBODY)
            reason = "it belongs to nobody, not to root (the user the check runs as)"
    result = run_plugin("check_cx_page", "-u", "http://127.0.0.1:9/", "--screenshot-dir", str(shots))
    assert (result.code, result.stdout, result.stderr) == (
        3, f"CX PAGE UNKNOWN - refusing --screenshot-dir {shots}: {reason}\n", "")
    with pytest.raises(ConfigError, match="refusing --screenshot-dir"):
        screenshots.save(str(shots), "cx_page", b"png")


# -- every plugin, the new ones included ------------------------------------------------------------

# Where the plugins' own code is (the checks, what they share, their sources, the browser, the
# journeys, the sentiment scorer): a file any of them leaves for a later run goes through
# runtime.statefiles. browser/launch.py writes only in the run's private home (made by mkdtemp,
# removed at the end) and /proc/self.
PLUGIN_CODE = ["checks", "bases", "sources", "browser", "journey", "sentiment", "runtime"]
MAY_WRITE = {"runtime/statefiles.py", "browser/launch.py"}
WRITERS = {"write_text", "write_bytes", "mkdir", "touch", "mkstemp", "mkdtemp"}
MODULE_WRITERS = {"nagiosplugin": {"Cookie", "LogTail"}, "os": {"replace", "rename", "makedirs", "mkdir", "link", "symlink", "mkfifo"},
                  "shutil": {"copy", "copy2", "copyfile", "copytree", "move"}}


def writes_in(path: Path) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if name == "open" and isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
            found.append(f"{path.name}:{node.lineno} open(..., {mode.value!r})")
        elif name == "open" and getattr(getattr(func, "value", None), "id", "") == "os" and len(node.args) > 1 \
                and {"O_WRONLY", "O_RDWR", "O_CREAT"} & {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}:
            found.append(f"{path.name}:{node.lineno} os.open() to write")
        elif isinstance(func, ast.Attribute) and name in MODULE_WRITERS.get(getattr(func.value, "id", ""), ()):
            found.append(f"{path.name}:{node.lineno} {func.value.id}.{name}()")
        elif name in WRITERS:
            found.append(f"{path.name}:{node.lineno} {name}()")
    return found


def test_every_plugin_keeps_its_files_through_statefiles():
    """No module the plugins run (check_cx_ratings, _payments and _revenue included) writes a file
    but runtime.statefiles: a new state file cannot skip its checks by being written directly."""
    import cxcheck
    from cxcheck.plugin_table import PLUGINS

    package = Path(cxcheck.__file__).parent
    assert all((package / entry.module.split(".")[1]).is_dir() for entry in PLUGINS)
    found = []
    for folder in PLUGIN_CODE:
        for path in sorted((package / folder).rglob("*.py")):
            if str(path.relative_to(package)) not in MAY_WRITE:
                found += writes_in(path)
    assert found == [], found
    assert writes_in(package / "runtime" / "statefiles.py"), "the scan finds nothing: it proves nothing"
