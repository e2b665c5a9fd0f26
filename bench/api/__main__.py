"""`python -m bench.api`: see the package docstring."""

import sys

from bench.api.cli import main

sys.exit(main())
