"""`python -m bench.cases`: see the package docstring."""

import sys

from bench.cases.cli import main

sys.exit(main())
