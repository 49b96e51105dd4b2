"""Whether a browser's processes were killed: a SIGKILL reached them (pending, or the process
already exiting), read from /proc. On a loaded machine the kernel may take seconds to end a killed
process (a niced renderer waits for CPU to tear down); a test judges the plugin's kill by this,
and the kernel's teardown apart."""

from __future__ import annotations

import os
import time

SIGKILL_BIT = 1 << (9 - 1)      # SIGKILL in /proc's pending-signal masks
PF_EXITING = 0x4                # the kernel's flag for a process on its way out


def killed(pid: int) -> bool | None:
    """Whether a SIGKILL has reached `pid` (pending, or the process already exiting); None once
    it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            flags = int(handle.read().rsplit(b")", 1)[1].split()[6])
        with open(f"/proc/{pid}/status") as handle:
            masks = dict(line.split(":", 1) for line in handle if line.startswith(("SigPnd", "ShdPnd")))
    except (OSError, IndexError, ValueError):
        return None
    return bool(flags & PF_EXITING) or any(int(mask, 16) & SIGKILL_BIT for mask in masks.values())


def unkilled(pids, looks: int = 3) -> list[int]:
    """The processes among `pids` alive and reached by no SIGKILL, at each of a few looks (a
    process between taking its SIGKILL and marking itself exiting is not mistaken for one)."""
    left = list(pids)
    for look in range(looks):
        left = [pid for pid in left if killed(pid) is False]
        if left and look < looks - 1:
            time.sleep(0.02)
    return left


def described(pids) -> str:
    """What a test failing on processes left behind needs to know of each."""
    lines = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ")[:70].decode(errors="replace")
        except (OSError, IndexError):
            continue
        lines.append(f"{pid} state {fields[0].decode()} parent {int(fields[1])} group {int(fields[2])} "
                     f"killed {killed(pid)}: {command}")
    return "\n".join(lines)


def sweep_as_the_next_run(home_dir, lingering: bool):
    """A browser still tearing down at the run's exit (`lingering`, a loaded machine) may outlast
    the time the run had to remove its home: that home is the next run's sweep's, as designed
    (cxcheck.browser.ending); swept here as that run would. Otherwise left for the test to judge."""
    if lingering and os.listdir(home_dir):
        from cxcheck.browser.ending import sweep

        sweep(str(home_dir))
