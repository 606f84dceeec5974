"""``python -m emmix.cli``: the same as the ``emmix`` command."""

import sys

from emmix.cli import main

sys.exit(main())
