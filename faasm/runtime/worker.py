"""Everything one worker process needs to run calls, assembled after the fork."""

from __future__ import annotations

import time

from faasm import redisdb
from faasm.buckets import Buckets
from faasm.calls import Call, CallResult
from faasm.chaining import Chaining, Dispatcher
from faasm.errors import CallFailed, FaasmError
from faasm.files import CallFiles
from faasm.functions import Functions
from faasm.records import CallRecords, ChainBudget
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.python import PythonRuntime
from faasm.runtime.services import Services
from faasm.settings import Settings
from faasm.state import GlobalState
from faasm.storage import open_storage

#: How long past its own timeout a claim on a call outlives a runner that died.
CLAIM_MARGIN = 60.0


class CallRunner:
    """Runs calls in this process: wasm, and Python in its WebAssembly sandbox."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher):
        self.settings = settings
        self.dispatcher = dispatcher
        storage = open_storage(settings.storage, settings)
        client = redisdb.connect(settings)
        self.records = CallRecords(client, settings.key_prefix, settings.result_retention,
                                   floor=settings.call_id_floor)
        budget = ChainBudget(max_depth=settings.chain_max_depth,
                             max_fanout=settings.chain_max_fanout,
                             max_calls=settings.chain_max_calls)
        self.chaining = Chaining(self.records, Functions(storage), dispatcher, self.execute,
                                 self.claim_ttl, budget)
        services = Services(state=GlobalState.from_settings(client, settings),
                            files=CallFiles(storage), chaining=self.chaining,
                            buckets=Buckets(storage, quota=settings.shared_file_quota))
        self.services = services
        self.wasm = WasmRuntime(settings, storage, services)
        self.python = PythonRuntime(settings, storage, services)
        self.python.prewarm(background=True)

    def claim_ttl(self, call: Call) -> float:
        return (call.timeout or self.settings.call_timeout) + CLAIM_MARGIN

    def execute(self, call: Call) -> CallResult:
        """Run ``call``; every failure, a vanished function included, is CallFailed."""
        started = time.time()
        try:
            if call.python:
                result = self.python.execute(call)
            else:
                result = self.wasm.execute(call)
            result.started, result.finished = started, time.time()
            return result
        except CallFailed:
            raise
        except FaasmError as exc:
            raise CallFailed(exc.reason) from None

    def take(self, call: Call) -> str:
        """Claim a chained call for a worker that received its message.

        ``"run"``: this worker runs it. ``"done"``: a call awaiting it ran it
        inline and its outcome is stored. ``"later"``: it is running inline
        right now; the message should come back later rather than hold this
        pool process idle while it waits (if the inline runner dies, its claim
        expires and a later delivery runs the call). A claim held by a task is
        this very message's earlier delivery, whose worker died: run it again.
        """
        if self.records.cancelled(call.root_id):
            raise CallFailed(f"Call {call.root_id} was cancelled")
        ttl = self.claim_ttl(call)
        won, holder = self.records.claim(call.id, CallRecords.TASK, ttl)
        if won:
            return "run"
        if holder == CallRecords.INLINE:
            return "done" if self.dispatcher.wait(call.id, 0.05) is not None else "later"
        self.records.reclaim(call.id, CallRecords.TASK, ttl)
        return "run"

    def flush(self) -> None:
        """Drop cached modules and files, and the local state tier (as Faasm's flush)."""
        self.wasm.flush()
        self.services.local_state.clear()
