"""``python -m rsample``: see :mod:`rsample.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
