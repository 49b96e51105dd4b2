"""Secrets: read from environment or file, never argv; masked wherever outside text enters the output.

The masker is applied to text that comes from outside (server pages, headers, URLs, exception
texts, extracted and substituted values) where it enters a message, never to a finished status
line: a password such as `s` or `login` must not rewrite the plugin's own words, labels or units.
It recognises a secret in every rendering the libraries and servers give it: raw, percent-encoded
(any subset of characters, any hex case, `+` for space, encoded twice), backslash-escaped as
repr() and JSON write it (escapes nested any number of times), as HTML character references,
its UTF-8 read as latin-1 or cp1252 (raw, or that misreading's own repr() escapes, as a
BadStatusLine or a header shown with repr() gives it), its own `%XX` sequences decoded (requests
unquotes those of unreserved characters in a redirect's Location), and in base64 (of
`user:secret`, `secret:`, anything that contains it). A secret of several lines is recognised
whole and line by line.

A secret shorter than MASKABLE characters cannot be told apart from ordinary text (`s`, `time`):
cutting it out would mangle the text and show where it stood and how long it is. A fragment of
outside text that contains such a secret is withheld whole (shown as ***). Its base64 form is too
short to recognise.
"""

from __future__ import annotations

import base64
import functools
import os
import sys

from cxcheck.runtime.values import ConfigError

MASK = "***"
MASKABLE = 8                    # characters: shorter secrets withhold whole fragments
MAX_SECRET = 64 * 1024          # bytes of a secret file: a key or a password, not a data set

# Characters repr() and JSON write as a backslash and a letter.
_NAMED_ESCAPES = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f", "\v": "v", "\0": "0"}
_HTML_NAMES = {"&": ("amp",), "<": ("lt",), ">": ("gt",), '"': ("quot",), "'": ("apos", "#39")}
# One backslash, or doubled by each further layer of escaping; percent-encoded in a URL.
_BACKSLASHES = r"(?:\\|%(?:25)*5[cC])+"


def _hex(value: int, width: int) -> str:
    """A hex number as a pattern that takes either case and optional leading zeros (JSON and
    HTML write \\u00fc, &#xfc; and &#x00FC; alike)."""
    return "0*" + "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d
                          for d in f"{value:0{width}x}".lstrip("0") or "0")


def _percent(char: str) -> str:
    """A character percent-encoded as UTF-8 (any hex case, possibly encoded twice)."""
    return "".join(f"%(?:25)*{_hex(b, 2)}" for b in char.encode("utf-8"))


def _escaped_forms(char: str) -> list[str]:
    """One character as it stands, percent-encoded, or as repr() and JSON escape it: the forms
    of each character of a misread secret (latin-1 shows C1 controls and a no-break space as
    \\x escapes in a repr)."""
    import re

    code = ord(char)
    forms = [_percent(char), _BACKSLASHES + "u" + _hex(code, 4)]
    if code < 0x100:
        forms.append(_BACKSLASHES + "x" + _hex(code, 2))
    return forms + [re.escape(char)]


@functools.lru_cache(maxsize=512)     # a process that runs check after check builds each once
def _char_forms(char: str) -> tuple[str, ...]:
    """Regular expressions for one character of a secret, in every rendering it takes."""
    import re

    code, raw = ord(char), char.encode("utf-8")
    forms = [_percent(char)]
    if char == " ":
        forms.append(r"\+")
    if char in "\\'\"/":
        forms.append(_BACKSLASHES + f"(?:{re.escape(char)}|%(?:25)*{_hex(code, 2)})")
    if char in _NAMED_ESCAPES:
        forms.append(_BACKSLASHES + _NAMED_ESCAPES[char])
    if char == "\n":
        forms.append(r"\r\n")
    if code < 0x100:
        forms.append(_BACKSLASHES + "x" + _hex(code, 2))
        if code > 0x7F:                                                             # latin-1 forms
            forms.append(f"%(?:25)*{_hex(code, 2)}")
    if code < 0x10000:
        forms.append(_BACKSLASHES + "u" + _hex(code, 4))
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(_BACKSLASHES + "u" + _hex(high, 4) + _BACKSLASHES + "u" + _hex(low, 4))
        forms.append(_BACKSLASHES + "U" + _hex(code, 8))
    if len(raw) > 1:
        forms.append("".join(_BACKSLASHES + "x" + _hex(b, 2) for b in raw))      # repr() of bytes
        for codec in ("latin-1", "cp1252"):                                        # UTF-8 misread
            try:
                misread = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            forms.append("".join("(?:" + "|".join(_escaped_forms(c)) + ")" for c in misread))
    forms.append(f"&#{code};|&#[xX]{_hex(code, 1)};")
    forms.extend(f"&{name};" for name in _HTML_NAMES.get(char, ()))
    forms.append(re.escape(char))       # last: an escaped form that starts alike is the longer match
    return tuple(forms)


def _text_pattern(text: str) -> str:
    parts = []
    for piece, decoded in _percent_pieces(text):
        literal = "".join("(?:" + "|".join(_char_forms(char)) + ")" for char in piece)
        if decoded is not None:         # the secret's own %XX, decoded by whoever unquoted it
            literal = f"(?:{literal}|{''.join('(?:' + '|'.join(_char_forms(c)) + ')' for c in decoded)})"
        parts.append(literal)
    return "".join(parts)


def _percent_pieces(text: str) -> list[tuple[str, str | None]]:
    """The secret in pieces: a character, or a run of `%XX` that decodes as UTF-8, with what it
    decodes to (None for a plain character)."""
    import re
    from urllib.parse import unquote_to_bytes

    pieces, at = [], 0
    for match in re.finditer(r"(?:%[0-9A-Fa-f]{2})+", text):
        pieces.extend((char, None) for char in text[at:match.start()])
        run = match.group()
        try:
            pieces.append((run, unquote_to_bytes(run).decode("utf-8")))
        except UnicodeDecodeError:      # not UTF-8 as a whole: each %XX of an ASCII byte alone
            pieces.extend((code, chr(int(code[1:], 16)) if int(code[1:], 16) < 0x80 else None)
                          for code in re.findall(r"%[0-9A-Fa-f]{2}", run))
        at = match.end()
    pieces.extend((char, None) for char in text[at:])
    return pieces


@functools.lru_cache(maxsize=64)      # as _char_forms
def _base64_pattern(core: str) -> str:
    """Base64 text as it travels: its + / = percent-encoded or backslash-escaped at worst."""
    import re

    special = {"+": r"(?:\+|%2[bB])", "/": r"(?:/|\\+/|%2[fF])", "=": r"(?:=|%3[dD])"}
    return "".join(special.get(char, re.escape(char)) for char in core)


def _base64_cores(text: str) -> list[str]:
    """The base64 characters that depend on the secret's bytes alone, at each of the three
    alignments it can have in the encoded text: whatever stands before or after it (`user:`
    before a password, `:` after an API key), these characters are in the encoding."""
    raw, cores = text.encode("utf-8"), []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode("ascii")
        first = -(-8 * offset // 6)                     # first character past the prefix's bits
        last = (8 * (offset + len(raw))) // 6           # characters wholly inside the secret
        if last - first >= 4:
            core = encoded[first:last]
            cores.extend({core, core.replace("+", "-").replace("/", "_")})
    return cores


class Masker:
    """Every registered secret, and how to keep it out of outside text."""

    def __init__(self):
        self._secrets: set[str] = set()
        self._compiled = None           # (long pattern, short pattern), built on first use

    def register(self, secret: str | None) -> str | None:
        if secret:
            parts = {secret, secret.strip()}
            if "\n" in secret:          # a file of several lines: each line is a secret too
                parts.update(line.strip("\r") for line in secret.split("\n"))
            self._secrets.update(part for part in parts if part.strip())
            self._compiled = None
        return secret

    def _patterns(self):
        if self._compiled is None:
            import re

            longs = sorted((s for s in self._secrets if len(s) >= MASKABLE), key=len, reverse=True)
            shorts = sorted((s for s in self._secrets if len(s) < MASKABLE), key=len, reverse=True)
            alternatives = [p for s in longs for p in (_text_pattern(s), *map(_base64_pattern, _base64_cores(s)))]
            self._compiled = (re.compile("|".join(alternatives)) if alternatives else None,
                              re.compile("|".join(map(_text_pattern, shorts))) if shorts else None)
        return self._compiled

    def mask(self, text) -> str:
        """Outside text, fit to show: each rendering of a secret replaced by ***; the whole
        fragment *** when it holds a secret too short to cut out."""
        text = "" if text is None else str(text)
        if not self._secrets or not text:
            return text
        long, short = self._patterns()
        if short is not None and short.search(text):
            return MASK
        return long.sub(MASK, text) if long is not None else text

    def clear(self):
        """Forget every secret (a process that runs one check after another, between two)."""
        self._secrets.clear()
        self._compiled = None

    def __bool__(self):
        return bool(self._secrets)


masker = Masker()


class MaskingStream:
    """A text stream that masks secrets before they reach the real one: the backstop on stderr,
    which carries no protocol (a normal run writes nothing there)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(masker.mask(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def install_masking():
    if sys.stderr is not None and not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)


def excerpt(text, size: int = 120) -> str:
    """Outside text fit for a message: masked, on one line, at most `size` characters. Masked
    before the cut: a cut secret is no longer recognisable to the masker."""
    text = " ".join(masker.mask(text).split())
    return (text[:size] + "...") if len(text) > size else text


def mask_identity(identity: str) -> str:
    """shopper@example.com -> s***@example.com: enough to recognise the account, not to reuse it."""
    if not identity:
        return identity
    local, at, domain = identity.partition("@")
    return (local[:1] + MASK + at + domain) if at else (identity[:1] + MASK)


def read_secret(env: str | None = None, path: str | None = None, what: str = "secret") -> str | None:
    """The value of a --*-env NAME or --*-file PATH option, registered with the masker. A file is
    read up to MAX_SECRET bytes and inside the deadline (a FIFO nobody writes, /dev/zero)."""
    if env and path:
        raise ConfigError(f"give the {what} by environment variable or by file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        if not value:
            raise ConfigError(f"{what}: environment variable {env} is empty")
        return masker.register(value)
    if path:
        from cxcheck.runtime.inputs import read_text

        value = read_text(path, MAX_SECRET, f"{what} file").rstrip("\r\n")
        if not value:
            raise ConfigError(f"{what} file {path} is empty")
        return masker.register(value)
    return None


def read_token(env: str | None = None, path: str | None = None, what: str = "bearer token") -> str | None:
    """A token for an Authorization header (--bearer-env/--bearer-file): read_secret's value without
    the blanks around it, refused when that leaves nothing or more than one line (a header cannot
    carry it)."""
    token = read_secret(env=env, path=path, what=what)
    if token is None:
        return None
    token = token.strip()
    if not token or "\n" in token:
        raise ConfigError(f"the {what} is empty or spans several lines")
    return token
