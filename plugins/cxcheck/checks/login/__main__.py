"""python -m cxcheck.checks.login: the plugin as the console script check_cx_login runs it."""

from cxcheck.checks.login import main

if __name__ == "__main__":
    main()
