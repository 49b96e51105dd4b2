"""Access log lines as nginx and Apache write them, for the check_cx_apdex tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

WHEN = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
# Requests whose Apdex at T = 0.5 s is worked out by hand: satisfied 0.1, 0.5 and the 404 at 0.2
# (3); tolerating 0.501 and 2.0 (2); frustrated 2.001 and the 502 at 0.01 (2).
# Apdex = (3 + 2/2) / 7 = 0.571...; p90 and p99 = 2.001 s (nearest rank 7 of 7).
REQUESTS = [("GET", "/checkout/", 200, 0.1), ("GET", "/checkout/", 200, 0.5), ("GET", "/checkout/", 200, 0.501),
            ("POST", "/checkout/", 200, 2.0), ("POST", "/checkout/", 200, 2.001), ("GET", "/", 502, 0.01),
            ("GET", "/", 404, 0.2)]
STATUS_OF_REQUESTS = ("CX APDEX OK - Apdex 0.57 [0.5] poor, 7 requests {span}: satisfied 3, tolerating 2, "
                      "frustrated 2; p90 2.001 s, p99 2.001 s | apdex=0.57;;;0;1 frustrated=2c;;;0 p90=2.001s;;;0 "
                      "p99=2.001s;;;0 rejected=0c;;;0 requests=7c;;;0 satisfied=3c;;;0 tolerating=2c;;;0")
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def time_local(when: datetime) -> str:
    return when.strftime("%d/%b/%Y:%H:%M:%S %z")


def nginx(method: str, path: str, status: int, seconds: float | str, when: datetime = WHEN,
          agent: str = AGENT) -> str:
    """nginx combined + $request_time (or whatever `seconds` is, as written)."""
    taken = f"{seconds:.3f}" if isinstance(seconds, float) else seconds
    return (f'203.0.113.7 - - [{time_local(when)}] "{method} {path} HTTP/1.1" {status} 1534 '
            f'"https://shop.example.com/" "{agent}" {taken}\n')


def apache(method: str, path: str, status: int, seconds: float | int, when: datetime = WHEN,
           agent: str = AGENT, unit: str = "us") -> str:
    """Apache combined + %D (microseconds), or + %T (unit "s": whole seconds)."""
    taken = round(seconds * 1_000_000) if unit == "us" else int(seconds)
    return (f'203.0.113.7 - - [{time_local(when)}] "{method} {path} HTTP/1.1" {status} 1534 '
            f'"https://shop.example.com/" "{agent}" {taken}\n')


def write(path: Path, lines, mode: str = "a") -> Path:
    with open(path, mode, encoding="utf-8") as out:
        out.writelines(lines)
    return path


def args_for(log: Path, state: Path, *more: str, target: str = "0.5") -> list[str]:
    return ["--log", str(log), "--state-file", str(state), "-T", target, *more]
