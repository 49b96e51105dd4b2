"""Icinga 2 features as an administrator enables them (`icinga2 feature enable`): Debian's own
file from /etc/icinga2/features-available, with the settings a test needs assigned last in its
object (the last assignment wins), for engines.Icinga2's `features`."""

from __future__ import annotations

from engines import STOCK_ICINGA2


def icinga_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def stock_feature(name: str, **settings) -> str:
    text = (STOCK_ICINGA2 / "features-available" / f"{name}.conf").read_text()
    if not settings:
        return text
    end = text.rindex("}")
    lines = "".join(f"  {key} = {icinga_value(value)}\n" for key, value in settings.items())
    return text[:end].rstrip() + "\n" + lines + text[end:]


def icinga_log(node, chars: int = 3000) -> str:
    """The end (`chars`; 0: all) of a daemon's output and of its main log (features-enabled/mainlog.conf)."""
    paths = (node.dir / "icinga2.out", node.dir / "log" / "icinga2.log")
    return "\n".join(path.read_text(errors="replace")[-chars:] for path in paths if path.exists())
