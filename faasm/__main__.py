"""``python -m faasm``: the ``faasm`` command line (faasm_client/cli)."""

import sys

from faasm_client.cli import main

sys.exit(main())
