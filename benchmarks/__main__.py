"""`python -m benchmarks`: run the benchmark (see `scripts/bench --help`)."""

import sys

from .runner import main

sys.exit(main())
