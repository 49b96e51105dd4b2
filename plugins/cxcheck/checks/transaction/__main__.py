"""python -m cxcheck.checks.transaction: the plugin as the console script check_cx_transaction runs it."""

from cxcheck.checks.transaction import main

if __name__ == "__main__":
    main()
