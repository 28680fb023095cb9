"""The process's wasmtime Engine and the fingerprint of its settings."""

from __future__ import annotations

import hashlib
import os
import threading
from importlib.metadata import version

import wasmtime

#: Engine settings. Precompiled artifacts only load into an engine built with
#: the same ones, so they are part of every artifact's key (ENGINE_KEY).
ENGINE_SETTINGS = {
    "cranelift_opt_level": "speed",
    "epoch_interruption": True,
}

WASMTIME_VERSION = version("wasmtime")

#: Names artifacts: changes whenever wasmtime or the engine settings change.
ENGINE_KEY = hashlib.sha256(
    repr((WASMTIME_VERSION, sorted(ENGINE_SETTINGS.items()))).encode()).hexdigest()[:16]

_lock = threading.Lock()
_engine: wasmtime.Engine | None = None
_engine_pid = 0


def make_config() -> wasmtime.Config:
    config = wasmtime.Config()
    for name, value in ENGINE_SETTINGS.items():
        setattr(config, name, value)
    return config


def get_engine() -> wasmtime.Engine:
    """This process's engine, built on first use (and again after a fork)."""
    global _engine, _engine_pid
    if _engine is None or _engine_pid != os.getpid():
        with _lock:
            if _engine is None or _engine_pid != os.getpid():
                _engine = wasmtime.Engine(make_config())
                _engine_pid = os.getpid()
    return _engine
