"""``python -m contracts`` is the ``contracts`` command."""

import sys

from contracts.cli import main

if __name__ == "__main__":
    sys.exit(main())
