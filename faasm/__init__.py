"""faasm-py's core: settings, call model, storage, state, wasm runtime, call IDs.

This package imports neither Falcon nor Celery: the HTTP APIs (``api/``) and
the Celery workers (``workers/``) are thin adapters around it.
"""
