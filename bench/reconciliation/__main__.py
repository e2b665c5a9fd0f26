"""`python -m bench.reconciliation`: see the package docstring."""

import sys

from bench.reconciliation.cli import main

sys.exit(main())
