"""check_cx_ratings against local emulators of each review API (tests/store_emulators.py), with
figures computed by hand, paging, auth, rate limits, refusals and answers of the wrong shape.

What the emulators follow, field by field:
- Apple's public customer-reviews feed and lookup. Apple does not document the feed's JSON; its
  shape (feed.entry[], im:rating, im:version, updated, title, content as {"label": ...}, the app
  itself listed first, 50 a page, pages 1-10) is as observed and described in
  https://github.com/AngeloStavrow/app-store-reviews-in-manuscript/wiki/technical-spec and
  https://apify.com/scrapyx/appstore-reviews-scraper ("page 10 is the last page ... page 11
  answers HTTP 400", 500 reviews per storefront); the lookup API (averageUserRating,
  userRatingCount) is the iTunes Search API, https://performance-partners.apple.com/search-api
  and https://42matters.com/docs/app-market-data/ios/apps/reviews.
- App Store Connect: https://developer.apple.com/documentation/appstoreconnectapi/get-v1-apps-_id_-customerreviews
  (data[].attributes rating, title, body, reviewerNickname, createdDate, territory; links.next),
  https://developer.apple.com/documentation/appstoreconnectapi/customer-reviews (filter by
  territory, sort by date), limit at most 200, and the tokens:
  https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests
  (ES256, kid, iss, aud appstoreconnect-v1, exp within 20 minutes). No app version per review:
  https://developer.apple.com/forums/thread/817212.
- Google Play: https://developers.google.com/android-publisher/api-ref/rest/v3/reviews/list
  (token, maxResults; reviews[], tokenPagination), https://developers.google.com/android-publisher/api-ref/reviews
  (comments[].userComment: text as title TAB body, lastModified {seconds, nanos}, starRating,
  appVersionName, may be absent), https://developers.google.com/android-publisher/reply-to-reviews
  (only reviews with comments, production only; "Only reviews from last week will be returned":
  https://hackage.haskell.org/package/gogol-android-publisher-0.5.0/docs/Network-Google-Resource-AndroidPublisher-Reviews-List.html);
  the service account's token: https://developers.google.com/identity/protocols/oauth2/service-account
  (RS256 assertion, iss, scope, aud the token_uri, at most an hour, grant type jwt-bearer).
- Trustpilot: https://developers.trustpilot.com/business-units-api (stars, language, page from 1,
  an empty array past the last; perPage 1-100, default 20; orderBy createdat.desc), the API key
  in the apikey header (ibid., "Authentication: API Key", -H "apikey: ..."), review fields stars,
  title, text, createdAt as in https://apis.io/examples/trustpilot/trustpilot-get-business-unit-reviews-example/.
"""

from __future__ import annotations

import json

import pytest
import store_emulators as stores
from conftest import run_plugin

NOW = "2026-11-01T00:00:00Z"
NOW_EPOCH = 1793491200
DAY = 86400
# The same 20 reviews for every source: 10 in the 30 days before NOW, 10 in the 30 days before.
# Current stars 5 5 5 4 4 3 5 2 1 1: sum 35, average 3.5; 1-2 stars 3 of 10, 30%. Sample variance
# (4 x 1.5^2 + 2 x 0.5^2 + 0.5^2 + 1.5^2 + 2 x 2.5^2) / 9 = 24.5 / 9, standard error
# sqrt(24.5 / 90) = 0.52175, x 1.95996 = 1.0226: interval 2.48..4.52. Version 3.2 holds the last
# four (5, 2, 1, 1: average 2.25) and all three low reviews. Previous: sum 40, average 4.
CURRENT = [5, 5, 5, 4, 4, 3, 5, 2, 1, 1]
PREVIOUS = [5, 5, 4, 4, 4, 5, 3, 4, 5, 1]
TEXTS = {5: "Great app, fast delivery", 4: "Works well", 3: "Average", 2: "Delivery was 9 days late",
         1: "Crashes when I open my basket, still no refund"}
REVIEWS = [{"when": NOW_EPOCH - (i + 1) * 2 * DAY, "stars": s, "version": "3.2" if i >= 6 else "3.1",
            "title": "", "text": TEXTS[s]} for i, s in enumerate(CURRENT)] + \
          [{"when": NOW_EPOCH - 30 * DAY - (i + 1) * 2 * DAY, "stars": s, "version": "3.0", "title": "",
            "text": TEXTS[s]} for i, s in enumerate(PREVIOUS)]
EXPECTED = "rating 3.5 (95% CI 2.48..4.52, n=10) over 30d, 30% low (1-2 stars) (rating < 4), previous 4"


def ratings(*args, env=None):
    return run_plugin("check_cx_ratings", "--now", NOW, *args, env=env)


@pytest.fixture(scope="module")
def ec_key():
    """An App Store Connect API key as Apple hands it out: a P-256 private key in PKCS#8 PEM (.p8)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


# Apple's public feed ---------------------------------------------------------------------------

def test_app_store_feed_hand_computed(tmp_path):
    with stores.AppStoreFeed("284882215", "fr", REVIEWS, average=(4.6, 12345)) as feed:
        result = ratings("--app-store", "284882215", "--country", "fr", "--api-url", feed.url, "-w", "4:", "-c", "3:",
                         "--max-drop", "0.3", "-v")
    assert result.code == 1, result.stdout
    assert result.text == f"CX RATINGS WARNING - {EXPECTED}"
    assert result.value("rating") == 3.5 and result.value("low_share") == 30 and result.value("reviews") == 10
    assert result.value("rating_previous") == 4 and result.perfdata["rating"][1:3] == ("4:", "3:")
    assert "WARNING: dropped 0.5 stars from 4 in the previous 30d (> 0.3)" in result.long_output
    assert "most complained-about version: 3.2 (3 of the 3 low reviews; 4 reviews of it average 2.25)" \
        in result.long_output
    assert "App Store average of all ratings: 4.6 (12345 ratings)" in result.long_output
    assert feed.paths()[0] == "/fr/rss/customerreviews/page=1/id=284882215/sortby=mostrecent/json"
    assert feed.paths()[-1] == "/lookup" and len(feed.paths()) == 2      # one short page: no second one


def test_app_store_feed_ends_at_500_and_says_the_window_is_not_whole():
    # 600 reviews an hour apart, stars 1-5 in turn: the 500 the feed gives average 3, 40% low; the
    # 500th is 500 hours before NOW: 2026-10-11 04:00 UTC.
    reviews = [{"when": NOW_EPOCH - (i + 1) * 3600, "stars": i % 5 + 1, "version": "3.2", "text": "ok"}
               for i in range(600)]
    with stores.AppStoreFeed("284882215", "us", reviews) as feed:
        result = ratings("--app-store", "284882215", "--api-url", feed.url, "-v")
    assert result.code == 0, result.stdout
    assert result.value("reviews") == 500 and result.value("rating") == 3 and result.value("low_share") == 40
    assert result.text.endswith("(App Store covers only since 2026-10-11 04:00 UTC)")
    assert result.perfdata["rating_previous"][0] == "U"                 # the previous window is not there
    assert ("App Store gave reviews since 2026-10-11 04:00 UTC only: Apple's public feed holds the 500 most recent "
            "reviews of a country") in result.long_output
    assert len([p for p in feed.paths() if "/rss/" in p]) == 10          # page 11 is never asked


def test_app_store_feed_odd_entries_are_counted_not_fatal():
    reviews = [{"when": NOW_EPOCH - DAY * (i + 1), "stars": 5, "text": "great"} for i in range(12)]
    with stores.AppStoreFeed("284882215", "us", reviews) as feed:
        original = feed.entry
        feed.entry = lambda review, number: dict(original(review, number), **(
            {"im:rating": {"label": "6"}} if number == 3 else {"updated": {"label": "yesterday"}} if number == 5 else {}))
        result = ratings("--app-store", "284882215", "--api-url", feed.url, "--max-rejected", "20", "-v")
    assert result.code == 0, result.stdout
    assert result.value("reviews") == 10 and result.value("rejected") == 2
    assert "1 rejected: score out of range 1-5 (page 1 entry 5)" in result.long_output     # entry 1 is the app
    assert "1 rejected: unreadable date (page 1 entry 7)" in result.long_output


def test_app_store_single_review_comes_as_a_bare_entry():
    with stores.AppStoreFeed("1", "us", [{"when": NOW_EPOCH - DAY, "stars": 4, "text": "ok"}]) as feed:
        original = feed.route
        feed.route = lambda *a: _bare(original(*a))
        result = ratings("--app-store", "1", "--api-url", feed.url, "--min-volume", "1")
    assert result.code == 0 and result.value("reviews") == 1 and result.value("rating") == 4, result.stdout


def _bare(answer):
    entries = answer.get("feed", {}).get("entry")
    if isinstance(entries, list):       # drop the app's own entry: one review alone, as a bare object
        answer["feed"]["entry"] = entries[-1]
    return answer


def test_app_store_unknown_app_and_refusals():
    with stores.AppStoreFeed("284882215", "fr", REVIEWS) as feed:
        unknown = ratings("--app-store", "999", "--country", "fr", "--api-url", feed.url)
        feed.script = [(503, {}, b"<html>Service Unavailable</html>")]
        down = ratings("--app-store", "284882215", "--country", "fr", "--api-url", feed.url)
        feed.script = [(429, {"Retry-After": "0"}, b"{}")]
        limited = ratings("--app-store", "284882215", "--country", "fr", "--api-url", feed.url)
        feed.script = [(200, {}, b'{"feed": "closed"}')]
        shape = ratings("--app-store", "284882215", "--country", "fr", "--api-url", feed.url)
    assert unknown.code == 3 and unknown.text == \
        "CX RATINGS UNKNOWN - App Store: no app 999 in the fr store (the lookup found none)"
    assert down.code == 3 and down.text.startswith("CX RATINGS UNKNOWN - App Store answered HTTP 503:")
    assert limited.code == 0 and limited.value("reviews") == 10           # the 429 waited out, then read
    assert shape.code == 3 and "without 'feed'" in shape.text and "not the documented shape" in shape.text


@pytest.mark.parametrize("args, message", [
    (["--app-store", "com.example.shop"], "--app-store 'com.example.shop': the app's numeric id"),
    (["--app-store", "1", "--country", "fra"], "--country 'fra': two letters, such as fr or us"),
    (["--google-play", "shop", "--token-env", "KEY"], "--google-play 'shop': the app's package name"),
    (["--trustpilot", "acme", "--token-env", "KEY"], "--trustpilot 'acme': the business unit id"),
    (["--app-store-connect", "1", "--token-env", "KEY"], "--app-store-connect needs --key-id and --issuer-id"),
    (["--app-store", "1", "--warning-negative", "30"], "--warning-negative and --critical-negative judge --sentiment"),
    ([], "give a source: --app-store, --app-store-connect, --google-play, --trustpilot, --csv or --jsonl"),
])
def test_bad_input_is_one_line_unknown(args, message):
    result = ratings(*args, env={"KEY": "k"})
    assert result.code == 3 and message in result.text and len(result.stdout.splitlines()) == 1, result.stdout


# App Store Connect -----------------------------------------------------------------------------

def asc_args(tmp_path, pem, url):
    key = tmp_path / "AuthKey_2X9R4HXF34.p8"
    key.write_text(pem)
    return ["--app-store-connect", "284882215", "--key-id", "2X9R4HXF34", "--issuer-id", ISSUER,
            "--token-file", str(key), "--api-url", url]


ISSUER = "57246542-96fe-1a63-e053-0824d011072a"


def test_app_store_connect_hand_computed_with_a_verified_token(tmp_path, ec_key):
    pem, public = ec_key
    with stores.AppStoreConnect("284882215", public, "2X9R4HXF34", ISSUER, REVIEWS) as api:
        result = ratings(*asc_args(tmp_path, pem, api.url), "-w", "4:", "-c", "3:", "-v")
    assert result.code == 1, result.stdout
    assert result.text == f"CX RATINGS WARNING - {EXPECTED}"
    assert "versions: App Store Connect gives no app version per review" in result.long_output
    token = api.tokens[0]
    assert token["alg"] == "ES256" and token["kid"] == "2X9R4HXF34" and token["aud"] == "appstoreconnect-v1"
    assert api.requests[0][2] == {"sort": "-createdDate", "limit": "200"}
    assert "BEGIN PRIVATE KEY" not in result.stdout + result.stderr


def test_app_store_connect_pages_and_territory(tmp_path, ec_key):
    pem, public = ec_key
    reviews = [{"when": NOW_EPOCH - 3600 * (i + 1), "stars": 5, "territory": "FRA" if i % 3 else "USA"}
               for i in range(450)]
    with stores.AppStoreConnect("284882215", public, "2X9R4HXF34", ISSUER, reviews) as api:
        every = ratings(*asc_args(tmp_path, pem, api.url))
        pages = len(api.requests)
        france = ratings(*asc_args(tmp_path, pem, api.url), "--territory", "FRA")
    assert every.value("reviews") == 450 and pages == 3, every.stdout           # 200 + 200 + 50
    assert france.value("reviews") == 300 and api.requests[-1][2]["filter[territory]"] == "FRA"


def test_app_store_connect_refuses_a_wrong_key_and_masks_it(tmp_path, ec_key):
    from cryptography.hazmat.primitives.asymmetric import ec

    pem, _ = ec_key
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with stores.AppStoreConnect("284882215", other, "2X9R4HXF34", ISSUER, REVIEWS) as api:
        result = ratings(*asc_args(tmp_path, pem, api.url), "-vvv")
    assert result.code == 3, result.stdout
    assert result.text.startswith("CX RATINGS UNKNOWN - App Store Connect rejected the key 2X9R4HXF34 (a token "
                                  "signed with ") and "(401)" in result.text
    assert "eyJ" not in result.stdout + result.stderr                   # the token echoed back is masked


def test_app_store_connect_bad_key_file_is_a_configuration_error(tmp_path, ec_key):
    _, public = ec_key
    with stores.AppStoreConnect("284882215", public, "2X9R4HXF34", ISSUER, REVIEWS) as api:
        result = ratings(*asc_args(tmp_path, "not a key\n", api.url))
    assert result.code == 3 and "the App Store Connect key (--token-file, a .p8 file) cannot sign an ES256 token" \
        in result.text, result.stdout
    assert api.requests == []


# Google Play -----------------------------------------------------------------------------------

def play_key(tmp_path, pem, oauth_url):
    key = tmp_path / "play.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "shop", "private_key_id": "k1",
                               "private_key": pem, "client_email": "cx@shop.iam.gserviceaccount.com",
                               "token_uri": f"{oauth_url}/token"}))
    return str(key)


def test_google_play_last_week_hand_computed(tmp_path, rsa_key):
    # In the last 7 days: 5 4 1 2 5 5 (sum 22, average 3.67, 2 of 6 low: 33.3%); one more review
    # 9 days back, which Google no longer gives, and one without text, which it never gives.
    pem, public = rsa_key
    week = [5, 4, 1, 2, 5, 5]
    reviews = [{"when": NOW_EPOCH - DAY * (i + 0.5), "stars": s, "version": "3.2" if s < 3 else "3.1",
                "text": TEXTS[s]} for i, s in enumerate(week)]
    reviews += [{"when": NOW_EPOCH - 9 * DAY, "stars": 1, "text": "old"}, {"when": NOW_EPOCH - DAY, "stars": 1}]
    with stores.GoogleOAuth(public, "cx@shop.iam.gserviceaccount.com", "ya29.access") as oauth, \
            stores.GooglePlay("com.example.shop", "ya29.access", reviews, now=NOW_EPOCH) as api:
        result = ratings("--google-play", "com.example.shop", "--token-file", play_key(tmp_path, pem, oauth.url),
                         "--api-url", api.url, "--window", "7d", "--min-volume", "5", "-w", "3.5:", "-v")
    assert result.code == 0, result.stdout
    assert result.text.startswith("CX RATINGS OK - rating 3.67 (95% CI ")
    assert "n=6) over 7d, 33.3% low (1-2 stars), floor 3.5" in result.text
    assert result.perfdata["rating_previous"][0] == "U"                 # the week before is not there
    assert "previous 7d: not whole in what Google Play gives, not compared" in result.long_output
    assert "most complained-about version: 3.2 (2 of the 2 low reviews; 2 reviews of it average 1.5)" \
        in result.long_output
    assert oauth.grants[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert api.requests[0][2] == {"maxResults": "100"}
    assert "ya29.access" not in result.stdout and "PRIVATE KEY" not in result.stdout


def test_google_play_a_month_says_only_the_last_week_is_there(tmp_path, rsa_key):
    pem, public = rsa_key
    reviews = [{"when": NOW_EPOCH - DAY * (i + 0.5) / 4, "stars": 4, "text": "fine"} for i in range(250)]
    with stores.GoogleOAuth(public, "cx@shop.iam.gserviceaccount.com", "ya29.access") as oauth, \
            stores.GooglePlay("com.example.shop", "ya29.access", reviews, now=NOW_EPOCH) as api:
        result = ratings("--google-play", "com.example.shop", "--token-file", play_key(tmp_path, pem, oauth.url),
                         "--api-url", api.url, "-v")
    assert result.code == 0 and result.value("reviews") == 28, result.stdout   # 28 a quarter-day apart in 7 days
    assert result.text.endswith("(Google Play covers only since 2026-10-25 00:00 UTC)")
    assert ("Google Play gave reviews since 2026-10-25 00:00 UTC only: Google Play's API gives only reviews with text "
            "created or changed in the last week") in result.long_output


def test_google_play_pages_with_next_page_token(tmp_path, rsa_key):
    pem, public = rsa_key
    reviews = [{"when": NOW_EPOCH - 600 * (i + 1), "stars": 5, "text": "great"} for i in range(230)]
    with stores.GoogleOAuth(public, "cx@shop.iam.gserviceaccount.com", "ya29.access") as oauth, \
            stores.GooglePlay("com.example.shop", "ya29.access", reviews, now=NOW_EPOCH) as api:
        result = ratings("--google-play", "com.example.shop", "--token-file", play_key(tmp_path, pem, oauth.url),
                         "--api-url", api.url, "--window", "7d")
    assert result.value("reviews") == 230 and [q.get("token") for _, _, q, _ in api.requests] == [None, "t100", "t200"]


def test_google_play_refusals(tmp_path, rsa_key):
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem, public = rsa_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    not_json = tmp_path / "key.txt"
    not_json.write_text("-----BEGIN PRIVATE KEY-----\n")
    with stores.GoogleOAuth(other, "cx@shop.iam.gserviceaccount.com", "ya29.access") as oauth, \
            stores.GooglePlay("com.example.shop", "ya29.access", [], now=NOW_EPOCH) as api:
        wrong_key = ratings("--google-play", "com.example.shop", "--token-file", play_key(tmp_path, pem, oauth.url),
                            "--api-url", api.url)
        bad_file = ratings("--google-play", "com.example.shop", "--token-file", str(not_json), "--api-url", api.url)
    assert wrong_key.code == 3 and wrong_key.text.startswith(
        "CX RATINGS UNKNOWN - Google OAuth answered HTTP 400: {\"error\": \"invalid_grant: Invalid JWT: Signature"), wrong_key.stdout
    assert bad_file.code == 3 and bad_file.text == (f"CX RATINGS UNKNOWN - --google-play: {not_json} is not a service "
                                                    "account's JSON key (no client_email or private_key)")
    assert api.requests == []


# Trustpilot ------------------------------------------------------------------------------------

UNIT = "46d6a890ffa235a75b00021d"


def test_trustpilot_pages_hand_computed():
    # 120 reviews in the window: 60 x 5, 30 x 4, 30 x 1: sum 450, average 3.75, 25% low; two
    # pages of 100 (the second short: the end).
    reviews = [{"when": NOW_EPOCH - 3600 * (i + 1), "stars": (5, 5, 4, 1)[i % 4], "text": "x"} for i in range(120)]
    with stores.Trustpilot(UNIT, "tp-Key-42", reviews) as api:
        result = ratings("--trustpilot", UNIT, "--token-env", "TP_KEY", "--api-url", api.url,
                         "--warning-low-share", "20", env={"TP_KEY": "tp-Key-42"})
    assert result.code == 1, result.stdout
    assert result.text.startswith("CX RATINGS WARNING - rating 3.75 (95% CI ")
    assert "n=120) over 30d, 25% low (1-2 stars) (low share > 20%)" in result.text
    assert [(q["page"], q["perPage"], q["orderBy"]) for _, _, q, _ in api.requests] == \
        [("1", "100", "createdat.desc"), ("2", "100", "createdat.desc")]
    assert result.perfdata["low_share"][1] == "20"


def test_trustpilot_key_rejected_masked_and_rate_limited():
    reviews = [{"when": NOW_EPOCH - 3600, "stars": 5, "text": "x"}] * 12
    with stores.Trustpilot(UNIT, "tp-Key-42", reviews) as api:
        wrong = ratings("--trustpilot", UNIT, "--token-env", "TP_KEY", "--api-url", api.url, "-vvv",
                        env={"TP_KEY": "tp-Wrong-7"})
        api.script = [(429, {"Retry-After": "30"}, b"{}")]
        limited = ratings("--trustpilot", UNIT, "--token-env", "TP_KEY", "--api-url", api.url, "-t", "5",
                          env={"TP_KEY": "tp-Key-42"})
        api.drop = "reviews"
        shape = ratings("--trustpilot", UNIT, "--token-env", "TP_KEY", "--api-url", api.url,
                        env={"TP_KEY": "tp-Key-42"})
    assert wrong.code == 3 and wrong.text.startswith("CX RATINGS UNKNOWN - Trustpilot rejected the token (401)")
    assert "tp-Wrong-7" not in wrong.stdout + wrong.stderr
    assert limited.code == 3 and "Trustpilot rate limited (429), Retry-After 30 s exceeds the" in limited.text
    assert shape.code == 3 and "Trustpilot answered reviews page 1 without 'reviews'" in shape.text


def test_a_slow_store_is_cut_at_the_deadline():
    with stores.Trustpilot(UNIT, "tp-Key-42", [{"when": NOW_EPOCH - 3600, "stars": 5, "text": "x"}]) as api:
        api.delay = 5
        result = ratings("--trustpilot", UNIT, "--token-env", "TP_KEY", "--api-url", api.url, "-t", "1",
                         env={"TP_KEY": "tp-Key-42"})
    assert result.code == 2, result.stdout                            # --timeout-state: critical by default
    assert "timed out" in result.text and "Trustpilot reviews page 1" in result.text, result.text
