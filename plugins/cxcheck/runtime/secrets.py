"""Secrets: read from environment or file, never argv; masked in everything the plugin writes."""

from __future__ import annotations

import os
import sys
from urllib.parse import quote, quote_plus

from cxcheck.runtime.values import ConfigError

MASK = "***"


class Masker:
    """Replaces every registered secret by *** in whatever the plugin writes."""

    def __init__(self):
        self._secrets: list[str] = []

    def register(self, secret: str | None) -> str | None:
        if secret:
            # A secret also travels URL-encoded (form bodies, query strings, echoed pages).
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                if form not in self._secrets:
                    self._secrets.append(form)
            self._secrets.sort(key=len, reverse=True)
        return secret

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def clear(self):
        """Forget every secret (a process that runs one check after another, between two)."""
        self._secrets.clear()

    def __bool__(self):
        return bool(self._secrets)


masker = Masker()


class MaskingStream:
    """A text stream that masks secrets before they reach the real one."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(masker.mask(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def install_masking():
    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout = MaskingStream(sys.stdout)
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)


def mask_identity(identity: str) -> str:
    """shopper@example.com -> s***@example.com: enough to recognise the account, not to reuse it."""
    if not identity:
        return identity
    local, at, domain = identity.partition("@")
    return (local[:1] + MASK + at + domain) if at else (identity[:1] + MASK)


def read_secret(env: str | None = None, path: str | None = None, what: str = "secret") -> str | None:
    """The value of a --*-env NAME or --*-file PATH option, registered with the masker."""
    if env and path:
        raise ConfigError(f"give the {what} by environment variable or by file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        return masker.register(value)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"cannot read {what} file {path}: not UTF-8 text") from None
        return masker.register(value)
    return None
