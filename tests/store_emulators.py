"""Local emulators of the review APIs check_cx_ratings reads, on 127.0.0.1, field by field as the
pages cited in tests/ratings/test_ratings_sources.py describe them: Apple's public customer-reviews feed
and lookup, App Store Connect's customerReviews (ES256 tokens verified), Google Play's
reviews.list and Google's OAuth token endpoint (RS256 assertions verified), Trustpilot's business
unit reviews. Built on emulators.ApiEmulator: its faults (script, headers, endless, drop) apply.

A review here is a dict: when (unix seconds), stars, version, title, text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

from emulators import ApiEmulator, ApiError

FEED = re.compile(r"^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")
PACIFIC = timezone(timedelta(hours=-7))         # the feed's dates carry Cupertino's offset


def newest_first(reviews):
    return sorted(reviews, key=lambda r: -r["when"])


class AppStoreFeed(ApiEmulator):
    """The public feed: 50 reviews a page, pages 1-10 (11 and beyond: 400), the app's own entry
    first on page 1, a page of one review as a bare object; and the lookup API."""

    def __init__(self, app: str, country: str, reviews=(), average=(4.5, 1234)):
        super().__init__(authorization=None)
        self.app, self.country, self.reviews, self.average = app, country, newest_first(reviews), average

    def route(self, method, path, query, body):
        if path == "/lookup":
            if query.get("id") != self.app or query.get("country") != self.country:
                return {"resultCount": 0, "results": []}
            return {"resultCount": 1, "results": [{"trackId": int(self.app), "kind": "software",
                                                   "averageUserRating": self.average[0],
                                                   "userRatingCount": self.average[1], "version": "3.2"}]}
        match = FEED.match(path)
        if not match:
            return super().route(method, path, query, body)
        country, page, app = match.group(1), int(match.group(2)), match.group(3)
        if page > 10:
            raise ApiError(400, "CustomerReviews RSS page out of range")
        chosen = self.reviews[(page - 1) * 50:page * 50] if (app, country) == (self.app, self.country) else []
        entries = [self.entry(r, (page - 1) * 50 + i) for i, r in enumerate(chosen)]
        if page == 1 and app == self.app:
            entries.insert(0, {"im:name": {"label": "Shop"}, "id": {"label": f"https://apps.apple.com/app/id{app}",
                                                                  "attributes": {"im:id": app}}})
        feed = {"author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/itunes/"}},
                "title": {"label": "iTunes Store: Customer Reviews"},
                "link": [{"attributes": {"rel": rel, "href": f"{self.url}/{country}/rss/customerreviews/page={n}/"
                                                              f"id={app}/sortby=mostrecent/json"}}
                         for rel, n in (("self", page), ("first", 1), ("last", 10), ("next", min(page + 1, 10)))]}
        if entries:
            feed["entry"] = entries[0] if len(entries) == 1 else entries
        return {"feed": feed}

    def entry(self, review, number):
        stamp = datetime.fromtimestamp(review["when"], UTC).astimezone(PACIFIC).isoformat()
        return {"author": {"uri": {"label": f"https://itunes.apple.com/{self.country}/reviews/id{number}"},
                           "name": {"label": f"customer{number}"}},
                "updated": {"label": stamp}, "im:rating": {"label": str(review["stars"])},
                "im:version": {"label": review.get("version", "1.0")}, "id": {"label": str(10_000 + number)},
                "title": {"label": review.get("title", "")},
                "content": {"label": review.get("text", ""), "attributes": {"type": "text"}},
                "im:voteSum": {"label": "0"}, "im:voteCount": {"label": "0"}}


class AppStoreConnect(ApiEmulator):
    """customerReviews: sort=-createdDate, limit at most 200, filter[territory], links.next with a
    cursor; Authorization must be an ES256 token of the key (kid), issuer, audience
    appstoreconnect-v1, living at most 20 minutes."""

    def __init__(self, app: str, public_key, key_id: str, issuer: str, reviews=()):
        super().__init__(authorization=None)
        self.app, self.public_key, self.key_id, self.issuer = app, public_key, key_id, issuer
        self.reviews = newest_first(reviews)
        self.tokens: list[dict] = []

    def authorized(self, auth):
        import jwt

        if not auth or not auth.startswith("Bearer "):
            return False
        token = auth[len("Bearer "):]
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"], audience="appstoreconnect-v1",
                                issuer=self.issuer, options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError:
            return False
        self.tokens.append({**header, **claims})
        return header.get("kid") == self.key_id and claims["exp"] - claims.get("iat", claims["exp"]) <= 1200

    def route(self, method, path, query, body):
        if path != f"/v1/apps/{self.app}/customerReviews":
            return super().route(method, path, query, body)
        limit = int(query.get("limit", 50))
        if limit > 200:
            raise ApiError(400, "PARAMETER_ERROR.INVALID: limit must be at most 200")
        chosen = [r for r in self.reviews if query.get("filter[territory]") in (None, r.get("territory", "FRA"))]
        if query.get("sort", "-createdDate") != "-createdDate":
            chosen = chosen[::-1]
        at = int(query.get("cursor", 0))
        page = chosen[at:at + limit]
        data = [{"type": "customerReviews", "id": f"r{at + i}",
                 "attributes": {"rating": r["stars"], "title": r.get("title", ""), "body": r.get("text", ""),
                                "reviewerNickname": "someone", "territory": r.get("territory", "FRA"),
                                "createdDate": datetime.fromtimestamp(r["when"], UTC).astimezone(PACIFIC).isoformat()}}
                for i, r in enumerate(page)]
        links = {"self": f"{self.url}{path}"}
        if at + limit < len(chosen) or self.endless:
            following = dict(query, cursor=at + limit if not self.repeat_cursor else at)
            links["next"] = f"{self.url}{path}?{urlencode(following)}"
        return {"data": data, "links": links, "meta": {"paging": {"total": len(chosen), "limit": limit}}}


class GooglePlay(ApiEmulator):
    """reviews.list: only reviews with text modified in the week before `now`, newest first,
    maxResults, tokenPagination.nextPageToken; the access token the OAuth emulator hands out."""

    def __init__(self, package: str, access_token: str, reviews=(), now: float | None = None):
        super().__init__(authorization=f"Bearer {access_token}")
        self.package, self.now = package, now
        self.reviews = newest_first(reviews)

    def route(self, method, path, query, body):
        if path != f"/androidpublisher/v3/applications/{self.package}/reviews":
            return super().route(method, path, query, body)
        recent = [r for r in self.reviews if r.get("text") and (self.now is None or r["when"] > self.now - 7 * 86400)]
        size = int(query.get("maxResults", 10))
        at = int(query.get("token", "0").removeprefix("t") or 0)
        page = recent[at:at + size]
        items = [{"reviewId": f"gp:{at + i}", "authorName": "A Customer", "comments": [
            {"userComment": {"text": f"{r['title']}\t{r['text']}" if r.get("title") else r["text"],
                             "lastModified": {"seconds": str(int(r["when"])), "nanos": 0},
                             "starRating": r["stars"], "reviewerLanguage": "fr_FR", "device": "a15",
                             "androidOsVersion": 34, "appVersionCode": 320,
                             **({"appVersionName": r["version"]} if r.get("version") else {}),
                             "thumbsUpCount": 0, "thumbsDownCount": 0}},
            {"developerComment": {"text": "Thank you", "lastModified": {"seconds": str(int(r["when"]) + 60)}}}]}
            for i, r in enumerate(page)]
        answer = {"pageInfo": {"totalResults": len(recent), "resultPerPage": size, "startIndex": at}}
        if items:
            answer["reviews"] = items
        if at + size < len(recent):
            answer["tokenPagination"] = {"nextPageToken": f"t{at + size}"}
        return answer


class GoogleOAuth(ApiEmulator):
    """POST /token: an RS256 assertion of the service account (iss, scope androidpublisher, aud
    this token URI, at most an hour) traded for an access token (RFC 7523 JWT bearer grant)."""

    def __init__(self, public_key, client_email: str, access_token: str):
        super().__init__(authorization=None)
        self.public_key, self.client_email, self.access_token = public_key, client_email, access_token
        self.grants: list[dict] = []

    def route(self, method, path, query, body):
        import jwt

        if (method, path) != ("POST", "/token"):
            return super().route(method, path, query, body)
        form = body or {}
        self.grants.append(form)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise ApiError(400, "unsupported_grant_type")
        try:
            claims = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"],
                                audience=f"{self.url}/token", options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise ApiError(400, f"invalid_grant: Invalid JWT: {exc}") from None
        if claims["iss"] != self.client_email or "androidpublisher" not in claims.get("scope", "") \
                or claims["exp"] - claims["iat"] > 3600:
            raise ApiError(400, "invalid_grant: Invalid JWT Signature.")
        return {"access_token": self.access_token, "expires_in": 3599, "token_type": "Bearer"}


class Trustpilot(ApiEmulator):
    """A business unit's reviews: the API key in the apikey header, perPage 1-100 (default 20),
    page from 1 (past the last: an empty list), orderBy createdat.desc, links with rel next-page."""

    auth_header = "apikey"

    def __init__(self, unit: str, key: str, reviews=()):
        super().__init__(authorization=key)
        self.unit, self.reviews = unit, newest_first(reviews)

    def route(self, method, path, query, body):
        if path != f"/v1/business-units/{self.unit}/reviews":
            return super().route(method, path, query, body)
        size, page = int(query.get("perPage", 20)), int(query.get("page", 1))
        if not 1 <= size <= 100:
            raise ApiError(400, "perPage must be between 1 and 100")
        chosen = self.reviews if query.get("orderBy", "createdat.desc") == "createdat.desc" else self.reviews[::-1]
        part = chosen[(page - 1) * size:page * size]
        reviews = [{"id": f"{page:04d}{i:020d}", "stars": r["stars"], "title": r.get("title", ""),
                    "text": r.get("text", ""), "language": "fr", "status": "active",
                    "createdAt": datetime.fromtimestamp(r["when"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "consumer": {"id": "c1", "displayName": "Client"}, "businessUnit": {"id": self.unit}}
                   for i, r in enumerate(part)]
        links = [{"href": f"{self.url}{path}?page={page}", "method": "GET", "rel": "self"}]
        if page * size < len(chosen):
            links.append({"href": f"{self.url}{path}?page={page + 1}&perPage={size}", "method": "GET",
                          "rel": "next-page"})
        return {"reviews": reviews, "links": links}
