"""Where a check goes, checked before it goes: a web URL given by the user (-u, a scenario's
base_url), the proxy, the TLS files. A mistake in them is the configuration's (UNKNOWN with the
fix), never a failure of the site at every run (CRITICAL)."""

from __future__ import annotations

import os

from cxcheck.runtime.values import ConfigError


def web_url(option: str, url: str, relative: bool = False, path: str = "/login") -> str:
    """The URL as given, or one line that shows the fix: a scheme other than http(s) is named as
    such, a bare host name gets an example of a full URL (ending in `path` when it has none)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{option} {url}: unsupported scheme {scheme}:// (cxcheck checks web pages: "
                          "http:// or https://)")
    if sep and rest.split("/", 1)[0] or relative and url.startswith("/"):
        return url
    bare = (rest if sep else url).lstrip("/")
    if relative:
        raise ConfigError(f"{option} needs a full URL or a path such as /{bare}, not {url!r}")
    example = "https://" + (bare if "/" in bare else (bare or "shop.example.com") + path)
    raise ConfigError(f"{option} needs a full URL such as {example}, not {url!r}")


PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def check_proxy(proxy: str) -> None:
    """--proxy host:3128 or ftp://...: the configuration's mistake, said before any request."""
    scheme, sep, rest = proxy.partition("://")
    if not sep or not rest.split("/", 1)[0]:
        raise ConfigError(f"--proxy needs a URL such as http://{proxy.lstrip('/') or 'proxy.example.com:3128'}, "
                          f"not {proxy!r}")
    if scheme.lower() not in PROXY_SCHEMES:
        raise ConfigError(f"--proxy {proxy}: unsupported scheme {scheme}:// (http://, https:// or socks5://)")


def check_tls_files(ca_file: str | None, cert: str | None, key: str | None) -> None:
    """A CA file without a certificate, or a client certificate OpenSSL cannot load: the
    configuration's mistake (UNKNOWN), not a TLS failure of the site (CRITICAL) at every run."""
    if not ca_file and not cert:
        return
    import ssl

    def no_passphrase():
        raise ConfigError(f"--client-key {key or cert}: the key is encrypted; give it without a passphrase "
                          "(readable by the nagios user only)")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file and not os.path.isdir(ca_file):
        try:
            context.load_verify_locations(cafile=ca_file)
        except (ssl.SSLError, ValueError):
            raise ConfigError(f"--ca-file {ca_file}: no certificate in it (a PEM bundle of CA certificates)") \
                from None
    if cert:
        try:
            context.load_cert_chain(cert, key, password=no_passphrase)
        except ssl.SSLError as exc:
            what = "--client-cert " + cert + (f" with --client-key {key}" if key else "")
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise ConfigError(f"{what}: the key is not the certificate's") from None
            raise ConfigError(f"{what}: not a PEM certificate and its private key") from None
