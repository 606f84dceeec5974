"""``python -m emmix.cli``: the same as the ``emmix`` command."""

import sys

from emmix.cli import main

if __name__ == "__main__":  # not when a tool imports every module
    sys.exit(main())
