"""The Celery app: the one piece the APIs share with the workers.

It holds the broker/backend configuration and :class:`CallQueue`, through
which the invoke API sends calls by task name and reads their results. It
imports no task code and no wasm runtime, so API processes stay light.
Every setting below is chosen on purpose; the README explains each.
"""

from __future__ import annotations

import contextlib
import logging
import time
import urllib.parse
from datetime import datetime

import celery
import kombu.exceptions
import redis
from celery.exceptions import TimeLimitExceeded
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from celery.states import READY_STATES
from kombu import Exchange, Queue

from faasm.calls import Call, CallResult, CallStatus, Outcome
from faasm.errors import CallFailed, FaasmError, Unavailable, first_line
from faasm.settings import Settings, get_settings

log = logging.getLogger("faasm.workers")

CALL_TASK = "faasm.call"
#: A no-op task: a health check, and the floor the benchmarks compare calls with.
PING_TASK = "faasm.ping"
FLUSH_COMMAND = "faasm_flush"
CANCELLED = "Call cancelled (DELETE /status/{id} or `faasm cancel`)"
#: Sync calls get their own queue so a backlog of async calls cannot sit
#: ahead of them (docs/DESIGN.md, "Sync calls behind an async backlog");
#: workers consume both.
SYNC_QUEUE = "faasm-sync"
ASYNC_QUEUE = "faasm-async"
#: Seconds past a call's timeout after which its pool process is killed
#: (Celery's hard time limit): the wall-clock limit, enforced from outside
#: the instance in FAASM_TIMEOUT_MODE=kill, and a backstop in epoch mode.
KILL_GRACE = {"kill": 0.5, "epoch": 10.0}
REDIS_TRANSPORT = "workers.transport:Transport"
#: Result backend URLs that are Redis (Celery's Redis backend, then its Sentinel one).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "sentinel://")
#: Seconds the Redis broker's lock over giving back unacknowledged calls lives.
UNACKED_MUTEX_EXPIRE = 15


def create_celery(settings: Settings) -> celery.Celery:
    app = celery.Celery("faasm")
    backend_url = settings.result_backend
    if backend_url.startswith(REDIS_SCHEMES[:3]):
        backend_url = f"workers.backend:AwaitedRedisBackend+{backend_url}"
    app.conf.update(
        broker_url=settings.broker,
        # A message taken off a Redis queue is recorded as taken even across a Redis
        # restart (workers/transport.py); other brokers use kombu's own transport.
        broker_transport=REDIS_TRANSPORT if settings.broker.startswith(
            ("redis://", "rediss://")) else None,
        result_backend=backend_url,
        # JSON only: a root worker refuses pickle, and JSON is language-neutral.
        task_serializer="json", result_serializer="json", accept_content=["json"],
        # A call is acknowledged when it ends, so a worker lost mid-call gives it back.
        task_acks_late=True, task_reject_on_worker_lost=True,
        # Each process takes one call at a time: calls are long next to a round trip,
        # and a prefetched call would wait behind a slow one.
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        # Each queue on its own exchange and key, as `-Q` declared them: a bare
        # Queue(name) is bound to the async exchange under the async key, where one
        # publish would reach both queues (Celery's sends, by queue name, did not).
        task_queues=[Queue(name, Exchange(name), routing_key=name)
                     for name in (SYNC_QUEUE, ASYNC_QUEUE)],
        task_default_queue=ASYNC_QUEUE,
        result_expires=settings.result_retention,
        # Flower shows every call under its call ID.
        worker_send_task_events=True, task_send_sent_event=True,
        # ... from events sent in batches (workers/consumer.py).
        worker_consumer="workers.consumer:Consumer",
        broker_connection_retry_on_startup=True,
        broker_transport_options=broker_transport_options(settings),
        result_backend_transport_options={"retry_policy": {"timeout": 5.0},
                                          **_results_prefix(settings), **_sentinel(settings)},
        # A result finished while Redis restarts is stored once it is back, not lost.
        result_backend_always_retry=True, result_backend_max_retries=60,
        result_backend_max_sleep_between_retries_ms=1000,
        worker_hijack_root_logger=False,
        task_ignore_result=False,
    )
    return app


def broker_transport_options(settings: Settings) -> dict:
    """Redis broker: an unacked call comes back after the visibility timeout if its
    whole worker vanished, found by a sweep every few seconds (kombu's default, a
    sweep per ~100 s, would add minutes). RabbitMQ ignores these: it gives a call
    back as soon as the connection of the worker holding it drops."""
    timeout = settings.visibility_timeout
    return {"visibility_timeout": timeout,
            "unacked_restore_interval": min(10, max(1, timeout // 4)),
            "unacked_restore_throttle": 1,
            # The lock over that sweep: a worker or Redis killed while it is held
            # leaves it set (an append-only Redis keeps it), and no sweep runs until it
            # expires; kombu's 300 s would hold given-back calls that long. A sweep
            # takes milliseconds.
            "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE, **_sentinel(settings)}


def result_keyprefix(settings: Settings) -> str:
    """What every result key starts with: the key prefix and the database number.

    A result's key is also the channel its notification is published on, and Redis
    publishes to every client of the server, whatever database it selected. A waiter
    trusts the notification it is woken by, and every platform numbers its calls from
    1: without the database in the name, a sync caller of one platform was answered
    with the output of another platform's call of the same number on another database
    of the same server (docs/SECURITY.md, "One Redis server, several platforms").
    """
    return f"{settings.key_prefix}:{backend_database(settings.result_backend)}:"


def _results_prefix(settings: Settings) -> dict:
    """Celery's option for :func:`result_keyprefix`, on a Redis result backend (another
    kind of backend has neither its keys nor its channels)."""
    if settings.result_backend.startswith(REDIS_SCHEMES):
        return {"global_keyprefix": result_keyprefix(settings)}
    return {}


def backend_database(url: str) -> int:
    """The database number Celery's Redis backend selects for ``url``, read as it reads
    it (celery.backends.redis ``_params_from_url``): a Sentinel list's first server; a
    ``db`` in the query over the path; a socket's in the query only."""
    parts = urllib.parse.urlsplit(url.split(";")[0])
    query = dict(urllib.parse.parse_qsl(parts.query))
    if parts.scheme in ("socket", "unix"):  # the path is the socket's
        db = query.get("db") or query.get("virtual_host") or "0"
    else:
        db = query.get("db") or parts.path.strip("/") or "0"
    try:
        return int(db)
    except ValueError:
        raise ValueError(f"the result backend URL names no database number: {db!r}") from None


def _sentinel(settings: Settings) -> dict:
    master = settings.redis_sentinel_master
    return {"master_name": master} if master else {}


class CallQueue:
    """Sends calls to workers and reads their results, by call ID."""

    def __init__(self, app: celery.Celery, settings: Settings, registry=None):
        """``registry``: the live workers (:class:`faasm.fleet.WorkerRegistry`); by
        default the one in the settings' Redis."""
        self.app = app
        self.settings = settings
        self._registry = registry
        self._consumed_at = 0.0  # when a sync-queue consumer was last seen

    @property
    def registry(self):
        if self._registry is None:
            from faasm import redisdb
            from faasm.fleet import WorkerRegistry

            self._registry = WorkerRegistry(redisdb.connect(self.settings),
                                            self.settings.key_prefix)
        return self._registry

    def require_worker(self, queue: str = SYNC_QUEUE) -> None:
        """Unavailable (503) unless a live worker consumes ``queue``, after waiting
        FAASM_WORKER_WAIT seconds for one: a sync call then fails at once, rather than
        when its wait runs out. A consumer seen within the last second is trusted."""
        if time.monotonic() - self._consumed_at < 1.0:
            return
        if not self.registry.wait_for_consumer(queue, self.settings.worker_wait):
            raise Unavailable(
                f"No worker consumes the {queue} queue, so the call would wait for nothing: "
                "start one (`make run` does; or `celery -A workers.tasks worker`, which "
                "consumes both queues), and see GET /health")
        self._consumed_at = time.monotonic()

    def submit(self, call: Call, sync: bool) -> AsyncResult:
        """Send ``call`` to the workers. If the broker refuses it, record the call
        as failed (so it is never RUNNING forever) and raise Unavailable."""
        if sync and not call.parent:
            self.require_worker(SYNC_QUEUE)
        try:
            with _reachable("Broker"):
                return self._send(call, self._options(call, sync))
        except Unavailable as exc:
            self._record_failure([call], f"Call could not be queued: {exc.reason}")
            raise

    def _options(self, call: Call, sync: bool) -> dict:
        limit = min(call.timeout or self.settings.call_timeout, self.settings.max_call_timeout)
        options = {"queue": SYNC_QUEUE if sync else ASYNC_QUEUE,
                   "time_limit": limit + KILL_GRACE[self.settings.timeout_mode]}
        if sync:
            # Expire in the queue rather than run after the caller gave up.
            options["expires"] = self.settings.queue_grace
        return options

    def _send(self, call: Call, options: dict) -> AsyncResult:
        """``send_task``, with the call's message and its task-sent event (for Flower)
        in one round trip to a Redis broker (kombu's producer batch); if that round
        trip fails, sent again the usual way, with kombu's retries."""
        fields = dict(kwargs=call.to_message(), task_id=str(call.id),
                      argsrepr=f"({call.name!r}, id={call.id})",
                      kwargsrepr=f"{{input: {len(call.input)} bytes}}", **options)
        with self.app.producer_or_acquire() as producer:
            if producer.supports_batch_publish:
                try:
                    with producer.batch():
                        return self.app.send_task(CALL_TASK, producer=producer, **fields)
                except kombu.exceptions.BatchPublishError:
                    log.warning("call %s: batched send failed, sending it again", call.id,
                                exc_info=self.settings.debug)
            return self.app.send_task(CALL_TASK, producer=producer, **fields)

    def submit_many(self, calls: list[Call]) -> None:
        """Send a batch of async calls over one producer (one connection, no
        result subscriptions): a Celery group's way, without its bookkeeping."""
        grace = KILL_GRACE[self.settings.timeout_mode]
        try:
            with _reachable("Broker"), self.app.producer_or_acquire() as producer:
                for call in calls:
                    limit = min(call.timeout or self.settings.call_timeout,
                                self.settings.max_call_timeout)
                    self.app.send_task(
                        CALL_TASK, kwargs=call.to_message(), task_id=str(call.id),
                        argsrepr=f"({call.name!r}, id={call.id})",
                        kwargsrepr=f"{{input: {len(call.input)} bytes}}",
                        queue=ASYNC_QUEUE, time_limit=limit + grace, producer=producer)
        except Unavailable as exc:
            self._record_failure(calls, f"Call could not be queued: {exc.reason}")
            raise

    def _record_failure(self, calls: list[Call], reason: str) -> None:
        """Store ``reason`` as each call's result, so none stays RUNNING; the
        result store may be out of reach too (then it is logged, with why)."""
        for call in calls:
            try:
                self.app.backend.mark_as_failure(str(call.id), CallFailed(reason))
            except Exception:
                log.warning("could not record call %s as failed (%s)", call.id, reason,
                            exc_info=True)

    def outcomes(self, call_ids: list[int]) -> list[Outcome]:
        """The outcome of each call, in one read (RUNNING: a worker stored a state
        that is not an end)."""
        backend = self.app.backend
        keys = [backend.get_key_for_task(str(i)) for i in call_ids]
        with _reachable("Result backend"):
            raws = backend.mget(keys) if keys else []
        found = []
        for raw in raws:
            if not raw:  # no worker took it yet
                found.append(Outcome(status=CallStatus.QUEUED))
                continue
            meta = backend.decode_result(raw)
            found.append(outcome_of(meta.get("status"), meta.get("result"),
                                    meta.get("date_done"))
                         or Outcome(status=CallStatus.RUNNING))
        return found

    def workers(self) -> list[tuple[str, int, int]]:
        """(name, pool size, calls running) of every live worker: those announced in
        the registry (faasm.fleet) that answer, asked once, with their pool size as
        they announced it."""
        live = self._live_workers()
        if not live:
            return []
        with _reachable("Broker"):
            active = self.app.control.inspect(
                timeout=self.settings.flush_timeout,
                destination=[entry["name"] for entry in live]).active() or {}
        return [(entry["name"], int(entry.get("concurrency") or 0),
                 len(active[entry["name"]] or [])) for entry in live if entry["name"] in active]

    def wait(self, call: Call, result: AsyncResult, limit: float) -> CallResult:
        """Block until ``call`` ends; its result, or CallFailed with the reason."""
        waited = limit + self.settings.queue_grace + 5
        deadline = time.monotonic() + waited
        # By the end of the queue grace a worker took the call, or it expired in the
        # queue, or the broker lost its message: then it is sent again, once.
        ready = await_result(result, min(self.settings.queue_grace + 1, waited))
        lost = None  # not known yet (Redis away): asked again each second
        while not ready and lost is None and time.monotonic() < deadline:
            lost = self._lost(call)
            if lost:
                log.warning("call %s: its message was lost by the broker (a Redis restart "
                            "as a worker took it); sent again", call.id)
                try:
                    with _reachable("Broker"):
                        self._send(call, self._options(call, sync=True))
                except Unavailable:
                    lost = None
            if lost is None:
                ready = await_result(result, min(1.0, deadline - time.monotonic()))
        if not ready and not await_result(result, deadline - time.monotonic()):
            # By now the call either ran past its own limit (its process is killed at
            # limit + 0.5 s), expired in the queue, or its message was lost with a broker
            # crash: record it as failed, so it is never RUNNING forever.
            reason = f"Call {call.id} did not finish within {waited:g} s"
            self._record_failure([call], reason)
            raise CallFailed(reason)
        # The result as the wait read it (its notification, or the stored one): no
        # second round trip to read it again. await_result returned True, so the state
        # is one of READY_STATES, which outcome_of reads as an end.
        outcome = outcome_of(result.state, result.result, result.date_done)
        if not outcome.ok:
            raise CallFailed(outcome.reason)
        return outcome.result

    def status(self, call_id: int) -> Outcome:
        """The call's outcome: QUEUED, RUNNING, or how it ended and when."""
        with _reachable("Result backend"):
            meta = self.app.backend.get_task_meta(str(call_id))
        outcome = outcome_of(meta.get("status"), meta.get("result"), meta.get("date_done"))
        if outcome is not None:
            return outcome
        return Outcome(status=CallStatus.RUNNING if self._taken(call_id) else CallStatus.QUEUED)

    def _lost(self, call: Call) -> bool | None:
        """Whether a sync call's message is gone from a Redis broker: no result, not
        taken by a worker (kombu records a message taken, and faasm.records marks the
        call, in one round trip: workers/transport.py), and its queue empty, twice half
        a second apart (a worker may be between taking and recording it). None: not
        known yet, while Redis does not answer or the queue holds messages (it may be
        among them; the queue is not read, its messages may be large).

        kombu takes a message with BRPOP. If Redis stops in the event-loop turn that
        served that BRPOP, the pop is kept (it is in the append-only file) but the reply
        never reaches the worker: the message is nowhere. Only the sender still has it.
        """
        if self.app.conf.broker_transport != REDIS_TRANSPORT:
            return False
        try:
            for attempt in range(2):
                if attempt:
                    time.sleep(0.5)
                if self._states([str(call.id)])[0] != "PENDING" or self._taken(call.id):
                    return False
                with self.app.connection_for_read() as conn:
                    if conn.default_channel.client.llen(SYNC_QUEUE):
                        return None
        except Exception:  # the broker or Redis away: not known yet
            log.debug("could not tell whether call %s was lost", call.id, exc_info=True)
            return None
        return True

    def _taken(self, call_id: int) -> bool:
        """Whether a worker took the call (faasm.records.started_key), or a call awaiting
        it runs it inline (its claim). Not Celery's STARTED state: a worker that
        acknowledges a call run inline would write it over the stored outcome."""
        from faasm.records import claim_key, started_key

        prefix = self.settings.key_prefix
        with _reachable("Redis"):
            return bool(self.registry.client.exists(started_key(prefix, call_id),
                                                    claim_key(prefix, call_id)))

    def cancel(self, call_ids: list[int]) -> int:
        """Stop ``call_ids``: queued ones never start, running ones are killed, and
        each that had not ended fails with "cancelled". Returns how many had not ended."""
        ids = [str(i) for i in call_ids]
        with _reachable("Result backend"):
            # Which had ended is read before the revoke: a worker that kills a running
            # call records it REVOKED itself, often before the read below.
            running = [i for i, state in zip(ids, self._states(ids), strict=True)
                       if state not in READY_STATES]
        with _reachable("Broker"):
            # SIGKILL: a call deep in wasm code does not run Python signal handlers.
            self.app.control.revoke(ids, terminate=True, signal="SIGKILL")
        stopped = 0
        with _reachable("Result backend"):
            for task_id, state in zip(running, self._states(running), strict=True):
                if state not in READY_STATES:
                    self.app.backend.mark_as_failure(task_id, CallFailed(CANCELLED))
                # REVOKED is the worker's record of the kill, and reads as cancelled; a
                # call that ended on its own meanwhile (SUCCESS, FAILURE) keeps its end.
                if state not in READY_STATES or state == "REVOKED":
                    stopped += 1
        return stopped

    def _states(self, call_ids: list[str]) -> list[str]:
        """Each call's stored Celery state (PENDING: none stored), in one read."""
        backend = self.app.backend
        raws = backend.mget([backend.get_key_for_task(i) for i in call_ids]) if call_ids else []
        return [backend.decode_result(raw).get("status", "PENDING") if raw else "PENDING"
                for raw in raws]

    def flush(self) -> int:
        """Ask every live worker to drop its caches; returns how many answered.

        Asked by name, the workers announced in the registry (faasm.fleet): the wait
        ends once each has answered, not after FAASM_FLUSH_TIMEOUT (which now only
        bounds a worker slow to answer, or gone since it last announced itself). A
        worker too new to be announced yet has nothing cached."""
        live = self._live_workers()
        if not live:
            return 0
        with _reachable("Broker"):
            replies = self.app.control.broadcast(
                FLUSH_COMMAND, reply=True, timeout=self.settings.flush_timeout,
                destination=[entry["name"] for entry in live])
        return len(replies or [])

    def _live_workers(self) -> list[dict]:
        with _reachable("Redis"):
            return self.registry.live()


def await_result(result: AsyncResult, timeout: float) -> bool:
    """Wait until ``result`` is ready (True) or ``timeout`` passes (False).

    Waits on the backend's notification, and every second also reads the
    stored result: a notification lost while Redis restarts must not leave a
    caller waiting for nothing. Redis being away only pauses the wait.
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                result.get(timeout=min(remaining, 1.0), propagate=False,
                           disable_sync_subtasks=False)
                if result.state in READY_STATES:
                    return True
                # Woken by a state that is not an end: keep waiting.
                time.sleep(min(0.01, max(deadline - time.monotonic(), 0)))
            except CeleryTimeout:
                if result.state in READY_STATES:
                    return True
            except (redis.ConnectionError, redis.TimeoutError, ConnectionError,
                    kombu.exceptions.OperationalError):
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
            except RuntimeError as exc:
                # Celery's result consumer gives up ("Retry limit exceeded ... must be
                # restarted") when its one reconnect fails while Redis is away; the
                # next wait reconnects it, so this too only pauses the wait.
                if not isinstance(exc.__cause__, (redis.ConnectionError, redis.TimeoutError,
                                                  ConnectionError)):
                    raise
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
    finally:
        if not result.ready():
            result.backend.remove_pending_result(result)  # stop listening for it


@contextlib.contextmanager
def _reachable(what: str):
    """Broker and backend connection failures become Unavailable (HTTP 503)."""
    try:
        yield
    except (kombu.exceptions.OperationalError, redis.ConnectionError,
            redis.TimeoutError, ConnectionError) as exc:
        raise Unavailable(f"{what} unavailable: {exc}") from None


def outcome_of(state: str | None, value, finished=None) -> Outcome | None:
    """How a call ended, from its Celery state and result value as stored (None
    while it has not ended). The one reader of a call's stored result."""
    if isinstance(finished, datetime):
        finished = finished.isoformat()
    if state == "SUCCESS":
        return Outcome(result=CallResult.from_message(value), finished=finished)
    if state in ("FAILURE", "REVOKED"):
        return Outcome(reason=failure_reason(value, state), finished=finished)
    return None


def failure_reason(exc: object, state: str) -> str:
    if isinstance(exc, FaasmError):
        return exc.reason
    if isinstance(exc, TimeLimitExceeded):
        limit = float(exc.args[0]) - KILL_GRACE[get_settings().timeout_mode]
        return f"Call timed out: exceeded its {limit:g} s timeout"
    if state == "REVOKED":
        if "expired" in str(exc):
            return "Call expired in the queue before a worker took it"
        return CANCELLED
    return f"{type(exc).__name__}: {first_line(exc, type(exc).__name__)}"


#: The process's Celery app, configured from the environment.
app = create_celery(get_settings())
