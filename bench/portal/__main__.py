"""`python -m bench.portal`: see the package docstring."""

import sys

from bench.portal.cli import main

sys.exit(main())
