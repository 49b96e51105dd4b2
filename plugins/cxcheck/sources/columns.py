"""Exports whose columns each have an option and default names: one declaration, a tuple of
(dest, what, default names as the export writes them, required), gives both the options and the
column indexes of a header."""

from __future__ import annotations

from cxcheck.sources.exports import _normal, _pick, optional_column


def add_column_options(options, columns, source_option: str) -> None:
    for dest, what, names, required in columns:
        options.add(flag(dest), dest=dest, metavar="NAME", help=f"{source_option}: the {what} column (default "
                    f"{names[0]!r}{'' if required else ', if any'})")


def pick_columns(header: list[str], args, columns, path: str) -> list[int | None]:
    """The index of each column (None for an optional one the export lacks)."""
    found = []
    for dest, what, names, required in columns:
        normal = tuple(_normal(name) for name in names)
        wanted = getattr(args, dest)
        found.append(_pick(header, wanted, normal, what, flag(dest), path) if required
                     else optional_column(header, wanted, normal, path, what, flag(dest)))
    return found


def flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")
