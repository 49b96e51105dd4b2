"""An argv as the Nagios family stores it: shell words in a command's $ARG1$ (Nagios object files,
Centreon's CLAPI). Why $ARG1$ and not custom variables, from Nagios 4.4.6 as Debian 12 ships it
(4.4.6-4+deb12u2):

- a custom variable macro ($_SERVICEx$) reaches the command line with every character of
  illegal_macro_output_chars removed (Debian's nagios.cfg: `~$&|'"<> and the backquote) and
  every control character (common/macros.c clean_macro_chars(), the map set in init_macros());
  Debian's package applies it to custom variables too (its changelog: the backported fix of
  CVE-2026-48553). A quote in a value cannot survive it, so neither can shell words.
- the text of a check_command's arguments is not cleaned: get_raw_command_line_r() (base/utils.c)
  splits them on `!` (`\\!` is a `!`) and resolves the macros in them (`$$` is a `$`), and
  process_macros_r() inserts $ARGn$ uncleaned (grab_macro_value_r() gives ARGn no cleaning
  option). Each argument is cut at MAX_COMMAND_BUFFER - 1 = 8191 bytes (include/common.h).
- the object file ends a value at an unescaped `;` (`\\;` is a `;`,
  xodtemplate_handle_semicolons() in xdata/xodtemplate.c) and at a line break.
- the core runs the command line itself when it holds no shell syntax, else through /bin/sh -c
  (lib/runcmd.c runcmd_cmd2strv(), runcmd_open()); both read POSIX quoting alike.

So each word is quoted for the shell, then `$`, `!` and `;` are escaped for the core. CLAPI has
no escape for `;` (its import splits lines on it): there a `;` is made by the shell, printf '\\073'.
"""

from __future__ import annotations

import shlex

from cxcheck.engines.common import refuse

MAX_ARGUMENT = 8191                       # bytes of one $ARGn$ (MAX_COMMAND_BUFFER - 1)
SEMICOLON_BY_SHELL = "'\"$(printf '\\073')\"'"


def shell_words(argv: list[str]) -> str:
    """The argv as a POSIX shell reads it back: bare words where nothing needs quoting."""
    return " ".join(shlex.quote(word) for word in argv)


def _checked(argv: list[str], engine: str) -> None:
    for word in argv:
        if "\n" in word or "\r" in word or "\0" in word:
            refuse(f"{word!r}: a line break cannot be written in a command's arguments", engine)


def _for_the_core(text: str, engine: str) -> str:
    text = text.replace("$", "$$").replace("!", "\\!")
    if len(text.encode()) > MAX_ARGUMENT:
        refuse(f"the options make {len(text.encode())} bytes; the core cuts a command's argument at "
               f"{MAX_ARGUMENT}", engine)
    return text


def nagios_argument(argv: list[str], engine: str = "nagios") -> str:
    """$ARG1$ in a Nagios object file: shell words, `$` `!` and `;` escaped."""
    _checked(argv, engine)
    return _for_the_core(shell_words(argv), engine).replace(";", "\\;")


def clapi_argument(argv: list[str], engine: str = "centreon") -> str:
    """$ARG1$ in a CLAPI field: shell words, `$` and `!` escaped, `;` made by the shell (a `;` is
    always inside a single-quoted word: shlex quotes every word that holds one)."""
    _checked(argv, engine)
    return _for_the_core(shell_words(argv).replace(";", SEMICOLON_BY_SHELL), engine)
