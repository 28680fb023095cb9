"""``python -m faasm``: the ``faasm`` command line (faasm/cli.py)."""

import sys

from faasm.cli import main

sys.exit(main())
