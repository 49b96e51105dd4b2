"""Exports on disk, from a survey tool, a help desk, a CRM or a store console: CSV (as
spreadsheets and survey tools write them, the delimiter sniffed) and JSON Lines; the columns found
by name (`csv_cells`), the objects of JSON Lines (`jsonl_objects`) with their fields found by name
(`first_field`), the --date-format option every export reader takes.

Both stream: one row in memory at a time, whatever the file's size.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import json
import re

from cxcheck.runtime import open_input
from cxcheck.sources.base import SourceError
from cxcheck.sources.rows import Rejects

DATE_NAMES = ("date", "created_at", "submitted_at", "timestamp", "time")
DELIMITERS = (",", ";", "\t")
MAX_FIELD = 1024 * 1024
MAX_EXPORT = 4 * 1024 * 1024 * 1024     # bytes: ~100 million rows; a larger input is not an export
QUOTED = re.compile(r'"[^"]*(?:"|$)')


def _open(path: str):
    # Capped, and a FIFO without a writer or a closed standard input is an error, not a hang.
    raw = open_input(path, "", MAX_EXPORT, SourceError)
    # utf-8-sig drops a BOM if there is one; newline="" lets csv see quoted line breaks and CRLF.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _pick(names: list[str], wanted: str | None, defaults, what: str, option: str, path: str) -> int:
    """The index of the column `wanted` names (NAME, or NAME#N for the Nth of several so named),
    or else of the first named like one of `defaults`. A name that several columns share is
    ambiguous: an error naming it, unless NAME#N picks one."""
    lowered = [_normal(n) for n in names]
    if wanted:
        if _normal(wanted) in lowered:
            return _only(names, lowered, lowered.index(_normal(wanted)), option, path)
        base, _, nth = wanted.rpartition("#")
        same = [i for i, name in enumerate(lowered) if name == _normal(base)] if nth.isdigit() else []
        if same and 1 <= int(nth) <= len(same):
            return same[int(nth) - 1]
        raise SourceError(f"{path}: no column {wanted!r} (columns: {_shown(names)})")
    for index, name in enumerate(lowered):      # a column named exactly so wins over a longer name
        if name in defaults:
            return _only(names, lowered, index, option, path)
    for hint in defaults:
        for index, name in enumerate(lowered):
            if hint in name:
                return _only(names, lowered, index, option, path)
    raise SourceError(f"{path}: no {what} column (none named like {', '.join(defaults)}); name it with {option} "
                      f"(columns: {_shown(names)})")


def _only(names: list[str], lowered: list[str], index: int, option: str, path: str) -> int:
    """`index`, when no other column shares its name: two `created_at` with different values
    would be read as the first without a word."""
    same = [i for i, name in enumerate(lowered) if name == lowered[index]]
    if len(same) > 1:
        name = names[index].strip()
        picks = " or ".join(repr(f"{name}#{n}") for n in range(1, len(same) + 1))
        raise SourceError(f"{path}: {len(same)} columns named {_shown([name])} (columns "
                          f"{', '.join(str(i + 1) for i in same)}): say which with {option or 'its option'} {picks}")
    return index


def optional_column(names: list[str], wanted, defaults, path: str, what: str = "", option: str = "",
                    required: bool = False) -> int | None:
    """A column that may be absent: the one named (or, when required, found as _pick finds it);
    otherwise the first named exactly like one of `defaults`, None when there is none."""
    if required or wanted:
        return _pick(names, wanted, defaults, what, option, path)
    lowered = [_normal(n) for n in names]
    found = next((lowered.index(name) for name in defaults if name in lowered), None)
    return None if found is None else _only(names, lowered, found, option, path)


def _normal(name: str) -> str:
    """'Submitted At' and 'submitted-at' name the same column as submitted_at."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def _shown(names: list[str], most: int = 12) -> str:
    """The header's names for an error line, short even when the 'header' is a binary blob."""
    shown = ", ".join(repr(n[:40]) if len(n) <= 40 else repr(n[:37] + "...") for n in names[:most])
    return shown + (f", ... ({len(names)} columns)" if len(names) > most else "")


def _sniff(header: str) -> str:
    """The delimiter the header line uses most, outside quotes: a question text such as
    "How likely, from 0 to 10, ...?" as a column name must not make the comma win."""
    header = QUOTED.sub("", header)
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@contextlib.contextmanager
def csv_export(path: str):
    """(column names, row reader) of a CSV export: a BOM dropped, the delimiter sniffed outside
    quotes, lines read a bounded piece at a time; a broken file is a one-line SourceError."""
    handle = _open(path)
    try:
        try:
            header_line = handle.readline(MAX_FIELD)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not UTF-8 text (byte {exc.start} of the first line)") from None
        except OSError as exc:          # /proc/self/mem, a device that fails
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not header_line.strip():
            raise SourceError(f"{path}: empty file, no header line")
        if len(header_line) >= MAX_FIELD and not header_line.endswith("\n"):
            raise SourceError(f"{path}: the first line is longer than {MAX_FIELD // 1024} KB, "
                              "not the header of an export")
        csv.field_size_limit(MAX_FIELD)
        # The header goes through the reader too: a quoted column name may span lines. Lines come
        # at most MAX_FIELD + 1 characters at a time, so a file without line breaks (a binary, a
        # minified JSON) costs bounded memory: the csv field limit or the row checks refuse it.
        lines = iter(functools.partial(handle.readline, MAX_FIELD + 1), "")
        reader = csv.reader(itertools.chain([header_line], lines), delimiter=_sniff(header_line))
        try:
            yield next(reader), reader
        except UnicodeDecodeError:
            raise SourceError(f"{path}: not UTF-8 text (after line {reader.line_num})") from None
        except csv.Error as exc:
            raise SourceError(f"{path}: line {reader.line_num}: {exc}") from None
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        handle.close()


def add_date_format(options) -> None:
    """--date-format, for every export whose dates the administrator's tool formats."""
    options.add("--date-format", action="append", default=[], metavar="STRPTIME",
                help="a date format such as %%d/%%m/%%Y %%H:%%M, repeatable for mixed formats "
                     "(default: ISO 8601 or unix seconds)")


def csv_cells(path: str, rejects: Rejects, columns, described: list | None = None):
    """(line, cells) of a CSV export: for each of `columns`, (wanted, defaults, what, option,
    required) as optional_column takes them or None, the row's cell (None for a column absent);
    rows too short counted. `described` is filled with where each stands ("column 'Created'",
    None when absent), for messages, once the header is read."""
    with csv_export(path) as (names, reader):
        at = [None if column is None else optional_column(names, column[0], column[1], path, *column[2:])
              for column in columns]
        if described is not None:
            described[:] = [None if i is None else f"column {_shown([names[i]])}" for i in at]
        for row in wide_rows(reader, max(i for i in at if i is not None), rejects):
            yield reader.line_num, [None if i is None else row[i] for i in at]


def jsonl_objects(path: str, rejects: Rejects):
    """(line number, object) of a JSON Lines file; a line that is not a JSON object is counted."""
    for number, item in jsonl_items(path, rejects):
        if isinstance(item, dict):
            yield number, item
        else:
            rejects.add("not a JSON object", number)


def first_field(item: dict, wanted: str | None, names):
    """The field `wanted` names, or else the first of the usual `names` the item has."""
    if wanted:
        return item.get(wanted)
    return next((item[name] for name in names if name in item), None)


def wide_rows(reader, width: int, rejects: Rejects):
    """The rows of `reader` that reach column `width`; a shorter one is counted, unless blank."""
    for row in reader:
        if len(row) > width:
            yield row
        elif any(cell.strip() for cell in row):
            rejects.add("missing columns", reader.line_num)


def jsonl_items(path: str, rejects: Rejects):
    """(line number, decoded item) of a JSON Lines file; a line that is not JSON is counted."""
    handle = _open(path)
    number = 0
    try:
        for number, text in enumerate(iter(functools.partial(handle.readline, MAX_FIELD + 1), ""), 1):
            if len(text) > MAX_FIELD:
                raise SourceError(f"{path}: line {number} is longer than {MAX_FIELD // 1024} KB, not JSON Lines")
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except ValueError:
                rejects.add("not JSON", number)
                continue
            except RecursionError:
                rejects.add("JSON nested too deeply", number)
                continue
            yield number, item
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text (after line {number})") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        handle.close()
