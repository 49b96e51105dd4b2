"""The signed tokens the stores' APIs want: App Store Connect takes an ES256 JSON Web Token made
from the team's .p8 key, Google a service account's RS256 assertion traded for an OAuth access
token. PyJWT (with cryptography) signs them: imported only by runs that read those stores."""

from __future__ import annotations

import time

from cxcheck.runtime import ConfigError, masker

EXTRA = "pip install 'cxcheck[stores]' (PyJWT with cryptography)"
APPLE_AUDIENCE = "appstoreconnect-v1"
APPLE_LIFETIME = 15 * 60            # Apple refuses tokens that live more than 20 minutes
GOOGLE_SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GOOGLE_LIFETIME = 3600              # Google's most for an assertion


def _jwt():
    try:
        import jwt
    except ImportError:
        raise ConfigError(f"signing the store's token needs PyJWT: {EXTRA}") from None
    return jwt


def _signed(payload: dict, key: str, algorithm: str, what: str, headers: dict | None = None) -> str:
    jwt = _jwt()
    try:
        token = jwt.encode(payload, key, algorithm=algorithm, headers=headers)
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise ConfigError(f"{what} cannot sign an {algorithm} token: {reason}") from None
    except ImportError:
        raise ConfigError(f"signing an {algorithm} token needs cryptography: {EXTRA}") from None
    return masker.register(token)


def app_store_connect_token(key: str, key_id: str, issuer_id: str, now: float | None = None) -> str:
    """The bearer token of App Store Connect: header alg ES256 and kid, claims iss, iat, exp, aud."""
    issued = int(now if now is not None else time.time())
    return _signed({"iss": issuer_id, "iat": issued, "exp": issued + APPLE_LIFETIME, "aud": APPLE_AUDIENCE},
                   key, "ES256", "the App Store Connect key (--token-file, a .p8 file)",
                   headers={"kid": key_id, "typ": "JWT"})


def google_assertion(account: dict, now: float | None = None) -> str:
    """A service account's signed request for an access token (RFC 7523's JWT bearer grant)."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": account["client_email"], "scope": GOOGLE_SCOPE, "aud": account["token_uri"],
              "iat": issued, "exp": issued + GOOGLE_LIFETIME}
    headers = {"kid": account["private_key_id"]} if account.get("private_key_id") else None
    return _signed(claims, account["private_key"], "RS256", "the service account's private_key", headers)
