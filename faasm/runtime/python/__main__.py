"""``python -m faasm.runtime.python``: compile the Python runtime once per machine.

The set-up (`make run`, `make test`) runs it before any worker starts: the first
compile takes about a minute or two and ~2.3 GB of memory; afterwards this
returns in about half a second.
"""

from faasm.runtime.python import compile_cache
from faasm.settings import get_settings

if __name__ == "__main__":
    compile_cache(get_settings())
