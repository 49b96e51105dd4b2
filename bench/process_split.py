"""Where a row's CPU went, by process: bench_worker.py --by-process.

The cgroup gives the whole tree's CPU; this reads each live process of it from /proc (its own
CPU, and what it reaped of its children: a plugin process ends inside the window and is counted
in the core's worker that reaped it) at both ends of a round. 10 ms ticks: over 40 results a
tick is 0.25 ms a result, so small shares read 0 or 0.25.
"""

from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK")


def snapshot(pids) -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, own ticks, reaped children's ticks), for the processes still there."""
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    return found


def split(before: dict, after: dict, core: int, worker: int | None, results: int) -> dict[str, float]:
    """CPU ms a result, by what each process is to the row: the core, its workers (with the
    plugin processes they reaped), `cxcheck worker` (the relay) and its runners."""
    shares: dict[str, float] = {}
    for pid, (parent, own, reaped) in after.items():
        was = before.get(pid, (parent, 0, 0))
        if pid == core:
            what = "the core"
        elif pid == worker:
            what = "cxcheck worker (relay)"
        elif parent == worker:
            what = "its runners"
        else:
            what = "the core's workers and their plugin processes"
        ticks = own - was[1] + reaped - was[2]
        shares[what] = shares.get(what, 0.0) + ticks * 1000 / TICK / results
    return shares
