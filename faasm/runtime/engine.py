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
from faasm.settings import get_settings

WASMTIME_VERSION = version("wasmtime")
logger = logging.getLogger("faasm.runtime")

_lock = threading.Lock()
_engines: dict[bool, tuple[wasmtime.Engine, int]] = {}


def engine_settings(epoch: bool) -> dict:
    """Engine settings. Epoch checks are compiled in only when timeouts are
    enforced that way (FAASM_TIMEOUT_MODE=epoch): they slow tight loops up to
    3x (bench/host.py). Precompiled artifacts only load into an engine built
    with the same settings, so they are part of every artifact's key."""
    return {"cranelift_opt_level": "speed", "epoch_interruption": epoch}


def default_epoch() -> bool:
    return get_settings().timeout_mode == "epoch"


def engine_key(epoch: bool | None = None) -> str:
    """Names artifacts: changes whenever wasmtime or the engine settings change."""
    epoch = default_epoch() if epoch is None else epoch
    settings = sorted(engine_settings(epoch).items())
    return hashlib.sha256(repr((WASMTIME_VERSION, settings)).encode()).hexdigest()[:16]


def pool_slots() -> int:
    """FAASM_INSTANCE_SLOTS, or 0 (no pool) when the process's address space is
    capped (``ulimit -v``) below twice what the pool would reserve: wasmtime
    aborts the process if it cannot reserve the pool."""
    slots = get_settings().instance_slots
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if slots and limit != resource.RLIM_INFINITY and 2 * slots * POOL_SLOT_BYTES > limit:
        logger.warning("Address space is capped at %d bytes: no wasm instance pool "
                       "(%d slots would reserve %d); every call maps fresh memory",
                       limit, slots, slots * POOL_SLOT_BYTES)
        return 0
    return slots


def get_engine(epoch: bool | None = None) -> wasmtime.Engine:
    """This process's engine, built on first use (and again after a fork)."""
    epoch = default_epoch() if epoch is None else epoch
    made = _engines.get(epoch)
    if made is None or made[1] != os.getpid():
        with _lock:
            made = _engines.get(epoch)
            if made is None or made[1] != os.getpid():
                config = wasmtime.Config()
                for name, value in engine_settings(epoch).items():
                    setattr(config, name, value)
                slots = pool_slots()
                if slots:  # how instances are allocated: machine code is the same
                    use_instance_pool(config, slots)
                made = _engines[epoch] = (wasmtime.Engine(config), os.getpid())
    return made[0]
