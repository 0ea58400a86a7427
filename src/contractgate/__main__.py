"""`python -m contractgate`: the same command line as the `contractgate` script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
