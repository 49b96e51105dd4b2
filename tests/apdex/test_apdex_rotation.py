"""check_cx_apdex since the last run: every line counted once across runs, rotation (renamed,
copy-truncated, twice between runs), lines still being written, junk, and state files that are
corrupt, foreign or shared. The reader in-process for what needs control (the deadline, a server
writing while logrotate works), the plugin as the engine runs it for the rest."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import plugin_env, run_until
from weblogs import REQUESTS, STATUS_OF_REQUESTS, args_for, nginx, write

from cxcheck.sources import logtail
from cxcheck.sources.logtail import LogTail

AGO = r"(?:\d+[hm])*\d+s"


def lines(count: int, seconds: float = 0.1, status: int = 200) -> list[str]:
    return [nginx("GET", f"/item/{n}", status, seconds) for n in range(count)]


def ran(plugin, log, state, *more):
    return plugin("check_cx_apdex", *args_for(log, state), *more, "-v")


def requests_of(result) -> int:
    return int(result.value("requests"))


def assert_status(result, expected: str):
    """The whole status line; `{ago}` stands for the time since the last run."""
    pattern = re.escape(expected).replace(re.escape("{ago}"), AGO)
    assert re.fullmatch(pattern, result.status), result.stdout


# -- since the last run, through the plugin --------------------------------------------------------

def test_each_run_counts_the_lines_since_the_last(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, [nginx(*request) for request in REQUESTS])
    first = ran(plugin, log, state)
    assert first.status == STATUS_OF_REQUESTS.format(span="in the whole log")
    assert "first run: read the log from its start" in first.long_output
    write(log, [nginx(*request) for request in REQUESTS])
    assert_status(ran(plugin, log, state), STATUS_OF_REQUESTS.format(span="since the last run {ago} ago"))
    quiet = ran(plugin, log, state)
    assert_status(quiet, "CX APDEX OK - low volume: no requests since the last run {ago} ago | apdex=U;;;0;1 "
                         "frustrated=0c;;;0 p90=U;;;0 p99=U;;;0 rejected=0c;;;0 requests=0c;;;0 satisfied=0c;;;0 "
                         "tolerating=0c;;;0")
    entry = json.loads(state.read_text())[str(log)]
    assert (entry["pos"], entry["line"], entry["inode"]) == (log.stat().st_size, 14, log.stat().st_ino)


def test_low_volume_state_and_minimum(plugin, tmp_path):
    log = write(tmp_path / "access.log", lines(3))
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "s.json"), "--min-volume", "20",
                    "--low-volume-state", "warning", "-w", "0.9:")
    assert result.code == 1
    assert result.text == ("CX APDEX WARNING - low volume: 3 requests in the whole log, under --min-volume 20; "
                           "Apdex 1.00 not judged")


def test_renamed_rotation_reads_the_rest_of_the_old_file_then_the_new(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, lines(5))
    assert requests_of(ran(plugin, log, state)) == 5
    write(log, lines(3))                            # after the run, before the rotation
    log.rename(tmp_path / "access.log.1")
    write(tmp_path / "access.log.1", lines(2))      # the server writes on until it reopens
    write(log, lines(4, seconds=3.0))               # the new log
    result = ran(plugin, log, state)
    assert requests_of(result) == 3 + 2 + 4
    assert "log rotated (renamed) since the last run: read the rest of access.log.1, then the new log" \
        in result.long_output
    write(log, lines(1))
    assert requests_of(ran(plugin, log, state)) == 1


def test_copytruncate_grown_past_the_old_position_reads_the_copy_and_the_whole_new_log(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, lines(5))
    assert requests_of(ran(plugin, log, state)) == 5
    write(log, lines(2))
    shutil.copyfile(log, tmp_path / "access.log.1")
    os.truncate(log, 0)
    write(log, lines(20, seconds=3.0))              # longer than before: LogTail would seek into it
    result = ran(plugin, log, state)
    assert requests_of(result) == 2 + 20
    assert result.value("frustrated") == 20
    assert ("log truncated in place (copytruncate) since the last run: read the rest of access.log.1, then the "
            "new log") in result.long_output


def test_two_rotations_between_runs(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, lines(5))
    ran(plugin, log, state)
    write(log, lines(1))
    log.rename(tmp_path / "access.log.1")
    write(log, lines(2))
    (tmp_path / "access.log.1").rename(tmp_path / "access.log.2")
    log.rename(tmp_path / "access.log.1")
    write(log, lines(3))
    result = ran(plugin, log, state)
    assert requests_of(result) == 1 + 2 + 3
    assert "read the rest of access.log.2, access.log.1, then the new log" in result.status + "\n".join(
        result.long_output)


def test_a_rotated_file_compressed_before_the_run_is_said_lost(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, lines(5))
    ran(plugin, log, state)
    write(log, lines(2))
    log.rename(tmp_path / "access.log.1.gz")        # as if compressed: not read
    write(log, lines(4))
    result = ran(plugin, log, state)
    assert requests_of(result) == 4
    assert ("log rotated (renamed) since the last run; the file read last time was not found under a rotated "
            "name (compressed or deleted?): lines written to it after the last run are not counted") \
        in result.long_output


def test_an_incomplete_last_line_waits_for_its_end(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    complete = nginx("GET", "/", 200, 3.0)
    write(log, lines(2) + [complete[:40]])
    assert requests_of(ran(plugin, log, state)) == 2
    write(log, [complete[40:]])
    result = ran(plugin, log, state)
    assert (requests_of(result), result.value("frustrated"), result.value("rejected")) == (1, 1, 0)


def test_junk_is_rejected_and_an_endless_line_costs_bounded_memory(plugin, tmp_path):
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    with open(log, "wb") as out:
        out.write("".join(lines(100)).encode())
        out.write(os.urandom(300_000).replace(b"\n", b"x"))     # 300 KB without a newline
    result = ran(plugin, log, state)
    assert (requests_of(result), result.value("rejected")) == (100, 1)
    assert "1 rejected: line longer than 64 KB (line 101)" in result.long_output
    with open(log, "ab") as out:
        out.write(b"still junk\n" + "".join(lines(5)).encode() + b"\x00\x01\x02\n")
    result = ran(plugin, log, state, "--max-rejected", "50")
    assert (requests_of(result), result.value("rejected")) == (5, 1)
    assert "1 rejected: binary junk (line 107)" in result.long_output


def test_a_corrupt_state_file_starts_afresh_and_says_so(plugin, tmp_path):
    log, state = write(tmp_path / "access.log", lines(4)), tmp_path / "state.json"
    state.write_bytes(b"\x00garbage{")
    result = ran(plugin, log, state)
    assert requests_of(result) == 4
    assert any(line.startswith(f"state file {state} was corrupt (") and line.endswith(
        ") and is reset: read the log from its start") for line in result.long_output), result.stdout
    write(log, lines(1))
    assert requests_of(ran(plugin, log, state)) == 1


@pytest.mark.parametrize("content, note", [
    ('{"/var/log/other.log": {"inode": 1, "pos": 5}}',
     "state file {state} holds no position for {log} (it has /var/log/other.log): read the log from its start"),
    ('{"{log}": {"inode": 1, "pos": 5}}',           # nagiosplugin's LogTail's own entry
     "state file {state}: the entry for {log} is not understood: read the log from its start"),
    ("[1, 2]", "state file {state} was corrupt (format error: cookie does not contain dict) and is reset: "
               "read the log from its start"),
])
def test_a_foreign_state_file_starts_afresh_and_says_so(plugin, tmp_path, content, note):
    log, state = write(tmp_path / "access.log", lines(4)), tmp_path / "state.json"
    state.write_text(content.replace("{log}", str(log)))
    result = ran(plugin, log, state)
    assert requests_of(result) == 4
    assert note.format(state=state, log=log) in result.long_output


def test_two_services_on_one_log_with_their_own_state_files(plugin, tmp_path):
    log = write(tmp_path / "access.log", [nginx("GET", "/checkout/", 200, 0.1), nginx("GET", "/", 200, 3.0)])
    env = {"CXCHECK_STATE_DIR": str(tmp_path / "states")}
    checkout = ["--log", str(log), "-T", "0.5", "--path-regex", "^/checkout"]
    everything = ["--log", str(log), "-T", "0.5"]
    assert plugin("check_cx_apdex", *checkout, env=env).value("requests") == 1
    assert plugin("check_cx_apdex", *everything, env=env).value("requests") == 2
    write(log, [nginx("GET", "/checkout/", 200, 0.1)])
    assert plugin("check_cx_apdex", *everything, env=env).value("requests") == 1
    assert plugin("check_cx_apdex", *checkout, env=env).value("requests") == 1
    assert len(list((tmp_path / "states").iterdir())) == 2       # one per log and options


# -- faults ------------------------------------------------------------------------------------

def test_a_vanished_log_is_unknown_and_keeps_the_position(plugin, tmp_path):
    log, state = write(tmp_path / "access.log", lines(3)), tmp_path / "state.json"
    ran(plugin, log, state)
    saved = state.read_text()
    log.rename(tmp_path / "access.log.1")
    result = ran(plugin, log, state)
    assert (result.code, result.stdout) == (3, f"CX APDEX UNKNOWN - cannot read {log}: No such file or directory\n")
    assert state.read_text() == saved
    write(tmp_path / "access.log.1", lines(2))
    write(log, lines(1))
    assert requests_of(ran(plugin, log, state)) == 3


def test_a_log_that_is_not_a_file(plugin, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    result = plugin("check_cx_apdex", *args_for(tmp_path / "fifo", tmp_path / "s.json"))
    assert result.stdout == f"CX APDEX UNKNOWN - cannot read {tmp_path / 'fifo'}: not a regular file\n"


def test_a_missing_state_directory_is_made_for_the_check_alone(plugin, tmp_path):
    log = write(tmp_path / "access.log", lines(3))
    assert requests_of(ran(plugin, log, tmp_path / "missing" / "s.json")) == 3
    assert stat.S_IMODE((tmp_path / "missing").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "missing" / "s.json").stat().st_mode) == 0o600


def test_a_state_file_that_cannot_be_written(plugin, tmp_path):
    log = write(tmp_path / "access.log", lines(3))
    (tmp_path / "file").write_text("")
    result = plugin("check_cx_apdex", *args_for(log, tmp_path / "file" / "s.json"))
    assert result.stdout == f"CX APDEX UNKNOWN - cannot open state directory {tmp_path / 'file'}: Not a directory\n"


def test_an_unreadable_log(tmp_path):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv (util-linux) to run the check as another user")
    folder = Path(tempfile.mkdtemp(prefix="cxcheck-apdex-"))      # /tmp itself: traversable by nobody
    try:
        folder.chmod(0o755)
        log = write(folder / "access.log", lines(3))
        log.chmod(0o600)
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                   "cxcheck.checks.apdex", *args_for(log, folder / "state.json")]
        proc = subprocess.run(command, capture_output=True, text=True, env=plugin_env(), timeout=60)
        assert (proc.returncode, proc.stdout) == (3, f"CX APDEX UNKNOWN - cannot read {log}: Permission denied "
                                                     "(the check runs as nobody)\n")
        folder.chmod(0o700)
        result = subprocess.run(command[4:], capture_output=True, text=True, env=plugin_env(), timeout=60)
        assert result.stdout.startswith("CX APDEX OK - Apdex 1.00 [0.5] excellent, 3 requests in the whole log")
    finally:
        shutil.rmtree(folder)


def catching_up(result) -> bool:
    return result.code == 0 and any(line.startswith("catching up: ") for line in result.long_output)


def test_catching_up_within_the_deadline(plugin, tmp_path):
    """A first run over more than -t allows reads what it can, says so, and the next runs go on.
    -t 0.4 leaves 0.1 s to read (0.3 s kept for judging and writing; idle, the whole 40 MB takes
    0.27 s): a busy machine may spend those before the log is reached, and -t 0.6 or 0.8 gets
    there (a fresh state each, so the rest is the rest of the run that got there)."""
    log = tmp_path / "access.log"
    block = "".join(lines(1000))
    with open(log, "w") as out:
        for _ in range(250):
            out.write(block)
    short, seconds = run_until(catching_up, lambda seconds: ran(plugin, log, tmp_path / f"state-{seconds}.json",
                                                                 "-t", str(seconds)), deadlines=(0.4, 0.6, 0.8))
    assert any(line.startswith("catching up: ") and line.endswith(
        f"MB of the log not read yet within -t {seconds} s; the next runs go on from here")
        for line in short.long_output), short.stdout
    rest = ran(plugin, log, tmp_path / f"state-{seconds}.json", "-t", "60")
    assert requests_of(short) + requests_of(rest) == 250_000


# -- in-process: a server writing while logrotate works, the deadline inside a rotated file -------

class Clock:
    """Time on the files: each change stamps what it touched one second later than the last, as
    minutes apart in real life (the kernel's clock is too coarse for steps microseconds apart)."""

    def __init__(self):
        self.now = 1_800_000_000 * 10**9

    def stamp(self, *paths):
        self.now += 10**9
        for path in paths:
            os.utime(path, ns=(self.now, self.now))


class Server:
    """Writes numbered lines to its open log; between runs, the last line may be half written.
    Rotation sees whole lines (a server writes a line with one write()); after a rename the server
    may write on to the old file until logrotate has it reopen its log."""

    def __init__(self, path, clock):
        self.path, self.number, self.partial, self.clock = path, 0, "", clock
        self.handle = open(path, "a")

    def write(self, rng, whole: bool = False):
        text = self.partial
        for _ in range(rng.randrange(1, 6)):
            text += f"line {self.number}\n"
            self.number += 1
        cut = rng.randrange(len(text) + 1) if not whole and rng.random() < 0.3 else len(text)
        self._put(text[:cut])
        self.partial = text[cut:]

    def complete(self):
        self._put(self.partial)
        self.partial = ""

    def _put(self, text):
        self.handle.write(text)
        self.handle.flush()
        self.clock.stamp(f"/proc/self/fd/{self.handle.fileno()}")

    def reopen(self):
        self.handle.close()
        self.handle = open(self.path, "a")


def read_all(path, state, stop=lambda: False, clock=None):
    seen = []
    with LogTail(str(path), str(state), stop=stop) as tail:
        for block, _number in tail.blocks():
            seen += [int(line.split()[1]) for line in block.decode().splitlines()]
    if clock:
        clock.stamp(state)
    return seen


def shift(folder, base):
    """logrotate's numbered names: access.log.N -> N+1, newest first to last."""
    numbers = sorted((int(p.name.rsplit(".", 1)[1]) for p in folder.glob(base + ".*")), reverse=True)
    for n in numbers:
        (folder / f"{base}.{n}").rename(folder / f"{base}.{n + 1}")


@pytest.mark.parametrize("seed", range(40))
def test_every_line_exactly_once_whatever_happens_between_runs(tmp_path, seed):
    rng, clock = random.Random(seed), Clock()
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    server = Server(log, clock)
    seen = read_all(log, state, clock=clock)        # the first run: from here on, every line once
    rotation = ["rename", "copytruncate"][seed % 2]     # a log is rotated one way, as logrotate is told
    for _ in range(80):
        action = rng.choice(["write"] * 5 + ["run"] * 3 + [rotation])
        if action == "write":
            server.write(rng)
        elif action == "run":
            seen += read_all(log, state, clock=clock)
        elif action == "rename":
            server.complete()
            shift(tmp_path, "access.log")
            log.rename(tmp_path / "access.log.1")
            log.touch()
            clock.stamp(log)
            if rng.random() < 0.5:
                server.write(rng, whole=True)       # to the old file, before the server reopens
            server.reopen()
        else:
            server.complete()
            shift(tmp_path, "access.log")
            shutil.copyfile(log, tmp_path / "access.log.1")
            os.truncate(log, 0)
            clock.stamp(tmp_path / "access.log.1", log)
    server.complete()
    seen += read_all(log, state)
    assert seen == list(range(server.number))


def test_the_deadline_inside_a_rotated_file_resumes_there(tmp_path, monkeypatch):
    monkeypatch.setattr(logtail, "BLOCK", 64)
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    write(log, [f"line {n}\n" for n in range(10)])
    assert read_all(log, state) == list(range(10))
    write(log, [f"line {n}\n" for n in range(10, 40)])
    log.rename(tmp_path / "access.log.1")
    write(log, [f"line {n}\n" for n in range(40, 50)])
    blocks = iter(range(3))
    first = read_all(log, state, stop=lambda: next(blocks, None) is None)
    assert first and first == list(range(10, 10 + len(first))) and first[-1] < 39
    assert json.loads(state.read_text())[str(log)]["inode"] == (tmp_path / "access.log.1").stat().st_ino
    assert first + read_all(log, state) == list(range(10, 50))
