"""The wasm runtime: engine, module cache, host interface, limits, execution.

Nothing here is created at import: a Celery prefork child must build its
engine after the fork (docs/DESIGN.md, "The fork hazard"), so every piece is
made on first use in the process that uses it.
"""
