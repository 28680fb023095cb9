"""The process's wasmtime Engines and the fingerprints of their settings."""

from __future__ import annotations

import hashlib
import logging
import os
import resource
import threading
from importlib.metadata import version

import wasmtime

from faasm.runtime.capi import POOL_SLOT_BYTES, use_instance_pool

WASMTIME_VERSION = version("wasmtime")
logger = logging.getLogger("faasm.runtime")

_lock = threading.Lock()
_engines: dict[tuple[bool, int], tuple[wasmtime.Engine, int]] = {}


def engine_settings(epoch: bool) -> dict:
    """Engine settings. Epoch checks are compiled in only when timeouts are
    enforced that way (FAASM_TIMEOUT_MODE=epoch): they slow tight loops up to
    3x (bench/host.py). Precompiled artifacts only load into an engine built
    with the same settings, so they are part of every artifact's key."""
    return {"cranelift_opt_level": "speed", "epoch_interruption": epoch}


def engine_key(epoch: bool) -> str:
    """Names artifacts: changes whenever wasmtime or the engine settings change."""
    settings = sorted(engine_settings(epoch).items())
    return hashlib.sha256(repr((WASMTIME_VERSION, settings)).encode()).hexdigest()[:16]


def pool_slots(wanted: int) -> int:
    """``wanted`` (FAASM_INSTANCE_SLOTS), or 0 (no pool) when the process's address
    space is capped (``ulimit -v``) below twice what the pool would reserve:
    wasmtime aborts the process if it cannot reserve the pool."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if wanted and limit != resource.RLIM_INFINITY and 2 * wanted * POOL_SLOT_BYTES > limit:
        logger.warning("Address space is capped at %d bytes: no wasm instance pool "
                       "(%d slots would reserve %d); every call maps fresh memory",
                       limit, wanted, wanted * POOL_SLOT_BYTES)
        return 0
    return wanted


def get_engine(epoch: bool, slots: int = 0) -> wasmtime.Engine:
    """This process's engine for ``epoch`` checks and a pool of ``slots`` instances
    (0: no pool; see :func:`pool_slots`), built on first use and again after a fork."""
    made = _engines.get((epoch, slots))
    if made is None or made[1] != os.getpid():
        with _lock:
            made = _engines.get((epoch, slots))
            if made is None or made[1] != os.getpid():
                config = wasmtime.Config()
                for name, value in engine_settings(epoch).items():
                    setattr(config, name, value)
                if slots:  # how instances are allocated: machine code is the same
                    use_instance_pool(config, slots)
                made = _engines[(epoch, slots)] = (wasmtime.Engine(config), os.getpid())
    return made[0]
