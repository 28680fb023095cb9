"""pyfaasm: the Faasm API for Python functions, as the sandbox offers it.

This package is never imported by the platform itself: the worker mounts
``faasm/guest`` read-only into each Python function's WebAssembly sandbox and
puts it on the guest's import path. Functions use ``pyfaasm.core``.
"""
