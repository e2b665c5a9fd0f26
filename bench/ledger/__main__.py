"""`python -m bench.ledger`: see the package docstring."""

import sys

from bench.ledger.cli import main

sys.exit(main())
