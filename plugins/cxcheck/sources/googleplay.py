"""Google Play: reviews.list of the Play Developer API (GET /androidpublisher/v3/applications/
{package}/reviews, tokenPagination), authorised by a service account: its JSON key
(--token-file) signs an assertion traded at the key's token_uri for an access token.

Google gives only the reviews that have text, created or changed in the last week, newest
first, each dated by its last change (an edited review counts when it was edited); star-only
ratings never come through this API. A window longer than a week is not whole,
and the check says so: for a month's average, use an export of the Play Console's reviews."""

from __future__ import annotations

import json
import re

from cxcheck.runtime import masker
from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.reviews import ReviewSource, review
from cxcheck.sources.rows import Rejects

PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+$")
WEEK = 7 * 86400
MAX_RESULTS = 100
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GooglePlay(ReviewSource, ApiSource):
    name = "Google Play"
    option, metavar = "--google-play", "PACKAGE"
    help = "an app's reviews in Google Play (service account JSON key as --token-file; the last week only)"
    default_api = "https://androidpublisher.googleapis.com"
    rate_limit = "the Play Developer API's reviews quota is per hour"
    coverage_note = "Google Play's API gives only reviews with text created or changed in the last week"
    key_file = True                 # the service account's JSON key: several lines
    value_form = PACKAGE, "the app's package name, such as com.example.shop"

    def __init__(self, value, run):
        super().__init__(value, run)
        try:
            account = json.loads(self.token)
        except ValueError:
            account = None
        missing = [key for key in ("client_email", "private_key") if not isinstance(account, dict)
                   or not isinstance(account.get(key), str)]
        if missing:
            raise ConfigError(f"--google-play: {self.token_origin} is not a service account's JSON key "
                              f"(no {' or '.join(missing)})")
        account.setdefault("token_uri", "https://oauth2.googleapis.com/token")
        self.account = account

    @property
    def credential(self) -> str:
        return f"the service account {self.account['client_email']} ({self.token_origin})"

    def auth(self) -> dict:
        return {"headers": {"Authorization": f"Bearer {self._access_token()}"}}

    def _access_token(self) -> str:
        from urllib.parse import urlsplit

        from cxcheck.sources.apiclient import ApiClient
        from cxcheck.sources.storetokens import google_assertion

        uri = self.account["token_uri"]
        parts = urlsplit(uri)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigError(f"--google-play: the key's token_uri {uri!r} is not a URL")
        oauth = ApiClient("Google OAuth", f"{parts.scheme}://{parts.netloc}", self.run.http_options(),
                          self.run.deadline, on_request=lambda what: self.reading(f"Google OAuth {what}"),
                          credential=self.credential, max_requests=4)
        grant = {"grant_type": GRANT, "assertion": google_assertion(self.account)}
        try:
            answer = oauth.json_of(oauth.request("POST", uri, what="an access token", data=grant))
            token = oauth.field(answer, "access_token", str, "the token answer")
        finally:
            oauth.close()
        return masker.register(token)

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        client, parse_time = self.client, TimeParser()
        self.covered_since = until - WEEK
        params, page = {"maxResults": MAX_RESULTS}, 1
        url = client.url(f"/androidpublisher/v3/applications/{self.value}/reviews")
        while True:
            body = client.get_json(url, params=params, what=f"reviews page {page}")
            if not isinstance(body, dict):
                raise client.unexpected("an object with reviews")
            items = body.get("reviews", [])
            if not isinstance(items, list):
                raise client.unexpected("an object with a list of reviews")
            for index, item in enumerate(items):
                where = f"page {page} review {index + 1}"
                comment = user_comment(item)
                if comment is None:
                    rejects.add("no user comment", where)
                    continue
                stamp = comment.get("lastModified")
                found = review(comment.get("starRating"), stamp.get("seconds") if isinstance(stamp, dict) else None,
                               parse_time, rejects, where, comment.get("appVersionName"), comment.get("text"))
                if found:
                    yield found
            following = (body.get("tokenPagination") or {}).get("nextPageToken") if isinstance(
                body.get("tokenPagination"), dict) else None
            if not following:
                return
            if not isinstance(following, str):
                raise SourceError("Google Play answered a nextPageToken that is not a string")
            client.follow(following)
            params, page = {"maxResults": MAX_RESULTS, "token": following}, page + 1


def user_comment(item) -> dict | None:
    """The customer's own comment of a review (the developer's replies are comments too)."""
    comments = item.get("comments") if isinstance(item, dict) else None
    for comment in comments if isinstance(comments, list) else []:
        if isinstance(comment, dict) and isinstance(comment.get("userComment"), dict):
            return comment["userComment"]
    return None
