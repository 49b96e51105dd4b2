"""Apple's App Store: the public customer-reviews feed of an app in one country's store, and the
lookup API's average of all ratings. No account, no token.

The feed gives the most recent reviews, 50 a page and 10 pages at most (500 reviews): for an app
with more reviews than that in the window, the window is not whole, and the check says so."""

from __future__ import annotations

import re

from cxcheck.runtime.times import TimeParser
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.reviews import ReviewSource, review
from cxcheck.sources.rows import Rejects

PAGES = 10                      # the feed ends there: page 11 is refused
PER_PAGE = 50
COUNTRY = re.compile(r"^[a-z]{2}$")


def label(entry: dict, key: str):
    """The feed's JSON wraps every value as {"label": value}."""
    value = entry.get(key)
    return value.get("label") if isinstance(value, dict) else None


class AppStore(ReviewSource, ApiSource):
    name = "App Store"
    option, metavar = "--app-store", "APP_ID"
    help = "an app's reviews in Apple's public feed (with --country; no account needed)"
    default_api = "https://itunes.apple.com"
    token_required = False
    value_form = re.compile(r"^[0-9]+$"), "the app's numeric id (apps.apple.com/.../id<ID>)"

    @classmethod
    def add_arguments(cls, options):
        options.add("--country", default="us", metavar="CC",
                    help="--app-store: the store's country, two letters (default us)")

    def __init__(self, value, run):
        super().__init__(value, run)
        self.country = self.args.country.strip().lower()
        if not COUNTRY.match(self.country):
            raise ConfigError(f"--country {self.args.country!r}: two letters, such as fr or us")
        self.coverage_note = f"Apple's public feed holds the {PAGES * PER_PAGE} most recent reviews of a country"

    def read_reviews(self, since: float, until: float, rejects: Rejects):
        client, parse_time = self.client, TimeParser()
        oldest = None
        for page in range(1, PAGES + 1):
            path = f"/{self.country}/rss/customerreviews/page={page}/id={self.value}/sortby=mostrecent/json"
            body = client.get_json(client.url(path), what=f"reviews page {page}")
            feed = client.field(body, "feed", dict, f"reviews page {page}")
            entries = feed.get("entry") or []
            entries = [entries] if isinstance(entries, dict) else entries     # one entry comes bare
            if not isinstance(entries, list):
                raise client.unexpected("a feed with a list of entries")
            reviews = 0
            for index, entry in enumerate(entries):
                where = f"page {page} entry {index + 1}"
                if not isinstance(entry, dict):
                    rejects.add("not a JSON object", where)
                    continue
                if "im:rating" not in entry:        # the app itself, listed first on page 1
                    continue
                reviews += 1
                found = review(label(entry, "im:rating"), label(entry, "updated"), parse_time, rejects, where,
                               label(entry, "im:version"), label(entry, "title"), label(entry, "content"))
                if found:
                    oldest = found.when if oldest is None else min(oldest, found.when)
                    yield found
            if reviews < PER_PAGE or (oldest is not None and oldest <= since):
                return
        self.covered_since = oldest         # ten full pages and still inside the window: the feed's end

    def overall(self) -> tuple[float, int] | None:
        client = self.client
        body = client.get_json(client.url("/lookup"), params={"id": self.value, "country": self.country},
                               what="the app's average")
        results = client.field(body, "results", list, "the lookup")
        if not results:
            raise SourceError(f"App Store: no app {self.value} in the {self.country} store (the lookup found none)")
        app = results[0] if isinstance(results[0], dict) else {}
        average, count = app.get("averageUserRating"), app.get("userRatingCount")
        if not isinstance(average, (int, float)) or not isinstance(count, int) or isinstance(count, bool):
            return None
        return float(average), count
