"""check_cx_ratings: do customers rate the app (or the shop) as well as they did?

Reads the reviews of a window (--window, default 30 days) where they are: Apple's public App
Store feed (no account), App Store Connect, Google Play, Trustpilot, or an export. Gives the
average star rating with its interval and the share of 1-2 star reviews, compares both with the
window before, and names the app version the low reviews are about. Floors on the average (-w 4:
-c 3.5:), ceilings on the low share (--warning-low-share 20), a drop from the previous window
(--max-drop 0.3 stars); with --significant only what the intervals confirm alerts. Under
--min-volume reviews nothing is judged. A store that keeps only recent reviews (the public feed:
its 500 most recent; Google Play: the last week, reviews with text only) is said to cover part of
the window, and a previous window it does not cover is not compared.
"""

from __future__ import annotations

from cxcheck import runtime
from cxcheck.bases.comments import add_sentiment_arguments
from cxcheck.bases.samples import add_max_rejected, add_window_arguments

EXAMPLES = """
  # an app in the French App Store (public feed, no account): warn under 4 stars, critical under 3.5
  check_cx_ratings --app-store 284882215 --country fr --window 30d -w 4: -c 3.5:

  # warn when more than 20 % of the reviews give 1-2 stars, or the average dropped 0.3 stars
  check_cx_ratings --app-store 284882215 --country fr --warning-low-share 20 --max-drop 0.3 --significant

  # every territory through App Store Connect (the team's API key), with the sentiment of the texts
  check_cx_ratings --app-store-connect 284882215 --key-id 2X9R4HXF34 --issuer-id 57246542-96fe-1a63-e053-0824d011072a \\
      --token-file /etc/cxcheck/AuthKey_2X9R4HXF34.p8 -w 4: --sentiment

  # Google Play (a service account's JSON key: the last week's reviews with text only), Trustpilot
  check_cx_ratings --google-play com.example.shop --token-file /etc/cxcheck/play.json --window 7d -w 4:
  check_cx_ratings --trustpilot 46d6a890ffa235a75b00021d --token-env TRUSTPILOT_KEY -w 4: --sentiment --language fr

  # an export (stars, date, version, comment columns)
  check_cx_ratings --csv /var/lib/cx/reviews.csv -w 4: -c 3.5: --sentiment --warning-negative 40
"""


def build_parser() -> runtime.Parser:
    from cxcheck.sources.registry import add_source_arguments

    parser = runtime.Parser("check_cx_ratings", description=__doc__.strip(), examples=EXAMPLES, timeout=30.0,
                            metric_help="the average star rating, 1-5 (floors, e.g. -w 4: -c 3.5:)",
                            thresholds=runtime.FLOOR)
    reading = add_source_arguments(parser, "reviews", "the reviews")
    add_max_rejected(reading.group, "rating", "reviews")
    judge = add_window_arguments(parser, ("--min-volume", 10, "reviews in the window", "ok"), "--max-drop",
                                 "warn when the average dropped more than this from the previous window, such as 0.3",
                                 metavar="STARS", examples="7d, 30d or 12w",
                                 compared="; compared with the window before")
    parser.add_range_pair("--warning-low-share", "--critical-low-share", runtime.CEILING, group=judge, helps=(
        "ceiling on the share of 1-2 star reviews in percent, such as 20",
        "ceiling on the share of 1-2 star reviews in percent, such as 35"))
    add_sentiment_arguments(parser)
    parser.add_http_options()
    return parser


def ratings_check(run: runtime.Run):
    """The whole check for a run: source, resource, contexts, summary."""
    import time

    import nagiosplugin

    from cxcheck.bases.comments import Comments, check_sentiment_arguments
    from cxcheck.checks.ratings.resource import Ratings
    from cxcheck.checks.ratings.verdicts import ratings_verdicts
    from cxcheck.sources.registry import open_source

    args = run.args
    check_sentiment_arguments(args)
    source = open_source(run, "reviews")
    now = args.now if args.now is not None else time.time()
    comments = Comments(args.language, now - args.window, now, args.window) if args.sentiment else None
    resource = Ratings(source, args.window, now, args.confidence, comments)
    return nagiosplugin.Check(resource, *ratings_verdicts(resource, args, run.state(args.low_volume_state)))


@runtime.plugin("CX RATINGS", build_parser)
def main(run: runtime.Run):
    return ratings_check(run)


if __name__ == "__main__":
    main()
