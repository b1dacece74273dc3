"""``python -m kura_sklearn.cli``: the ``kura-sklearn`` command."""

import sys

from ._main import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
