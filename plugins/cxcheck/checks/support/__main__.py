"""python -m cxcheck.checks.support: the plugin as the console script check_cx_support runs it."""

from cxcheck.checks.support import main

if __name__ == "__main__":
    main()
