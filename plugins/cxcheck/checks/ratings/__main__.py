"""python -m cxcheck.checks.ratings: the plugin as the console script check_cx_ratings runs it."""

from cxcheck.checks.ratings import main

if __name__ == "__main__":
    main()
