"""python -m cxcheck.checks.page: the plugin as the console script check_cx_page runs it."""

from cxcheck.checks.page import main

if __name__ == "__main__":
    main()
