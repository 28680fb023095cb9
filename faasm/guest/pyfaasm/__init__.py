"""pyfaasm: the Faasm API for Python functions, as the sandbox offers it.

This package is never imported by the platform itself: the worker mounts
``faasm/guest`` read-only into each Python function's WebAssembly sandbox and
puts it on the guest's import path. Functions use ``pyfaasm.core`` (input,
output, state, chaining), ``pyfaasm.config`` and ``pyfaasm.matrix`` (Faasm's
distributed matrix multiplication over state, which needs numpy) and
``pyfaasm.objects``, with Faasm's names. Importing the package itself
imports ``core``, ``config`` and ``objects``, never numpy.
"""

from . import config, core, objects  # noqa: F401
