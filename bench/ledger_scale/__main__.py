"""`python -m bench.ledger_scale`: see the package docstring."""

import sys

from bench.ledger_scale.cli import main

sys.exit(main())
