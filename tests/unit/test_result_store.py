"""The result backend's one-round-trip store, and the worker's batched task events
(workers/backend.py, workers/consumer.py), against a real Redis."""

import json
import time

import pytest
import redis

from faasm.settings import Settings
from tests import fresh_database
from workers.app import create_celery
from workers.backend import adopt_unprefixed
from workers.consumer import EVENT_DELAY, Consumer


@pytest.fixture
def backend(redis_url):
    """A result backend on a database of its own (emptied): task IDs here are
    call IDs elsewhere."""
    return create_celery(Settings().replace(redis_url=fresh_database(redis_url))).backend


def _published(pubsub, seconds: float) -> dict | None:
    """The next message published on ``pubsub``'s channels within ``seconds``, decoded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=max(deadline - time.monotonic(), 0.01))
        if message is not None and message["type"] == "message":
            return json.loads(message["data"])
    return None


def _stored(backend, task_id: str) -> dict:
    return json.loads(backend.client.get(backend.get_key_for_task(task_id)))


def test_a_success_is_stored_published_and_never_overwritten(backend):
    pubsub = backend.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(backend.get_key_for_task("7"))
    backend.store_result("7", "first", "SUCCESS")
    backend.mark_as_failure("7", RuntimeError("a redelivered copy failed"))
    backend.store_result("7", "second", "SUCCESS")
    assert (_stored(backend, "7")["status"], _stored(backend, "7")["result"]) == (
        "SUCCESS", "first")
    assert _published(pubsub, 5)["result"] == "first"
    assert _published(pubsub, 0.3) is None  # the refused stores published nothing
    assert 0 < backend.client.ttl(backend.get_key_for_task("7")) <= backend.expires


def test_a_failure_may_be_replaced(backend):
    backend.mark_as_failure("8", RuntimeError("cancelled"))
    backend.store_result("8", "ran after all", "SUCCESS")
    assert _stored(backend, "8")["status"] == "SUCCESS"


def test_writes_ride_ahead_of_the_result_and_their_errors_fail_nothing(backend):
    client = backend.client
    client.set("faasm-test:not-a-hash", "x")

    def rider(pipe):
        pipe.hset("faasm-test:log", "outcome", "success")
        pipe.hincrby("faasm-test:not-a-hash", "calls", 1)  # WRONGTYPE: logged, not raised

    backend.store_result("0", "warm", "SUCCESS")  # the script is loaded
    backend.ride("9", rider)
    with client.monitor() as monitor:
        backend.store_result("9", "out", "SUCCESS")
        commands = []
        while not commands or not commands[-1].startswith("SETEX"):
            commands.append(monitor.next_command()["command"])
    sent = [c.split(" ", 1)[0] for c in commands]
    sent = [c for c in sent if c not in ("HELLO", "CLIENT", "SELECT")]  # a new connection
    # One round trip: the rider's writes, then the script storing and publishing.
    assert sent[:3] == ["HSET", "HINCRBY", "EVALSHA"], commands
    assert _stored(backend, "9")["result"] == "out"
    assert client.hget("faasm-test:log", "outcome") == b"success"
    backend.flush_riders("9")  # nothing left to send
    assert client.hlen("faasm-test:log") == 1


def test_a_rider_whose_result_is_never_stored_is_sent_on_its_own(backend):
    backend.ride("10", lambda pipe: pipe.set("faasm-test:alone", 1))
    backend.flush_riders("10")
    assert backend.client.get("faasm-test:alone") == b"1"
    assert backend.client.get(backend.get_key_for_task("10")) is None


def test_the_script_is_loaded_again_after_redis_forgets_it(backend):
    backend.store_result("11", "a", "SUCCESS")
    backend.client.script_flush()
    backend.store_result("12", "b", "SUCCESS")
    assert _stored(backend, "12")["result"] == "b"


def test_task_events_are_sent_once_per_delay():
    class Hub:
        def __init__(self):
            self.later = []

        def call_later(self, delay, callback):
            self.later.append((delay, callback))

    class Dispatcher:
        flushed = 0

        def flush(self):
            self.flushed += 1

    consumer = Consumer.__new__(Consumer)  # no connection: only the event hooks
    consumer.hub, consumer.event_dispatcher = Hub(), Dispatcher()
    for _ in range(3):
        consumer.on_send_event_buffered()
    assert [delay for delay, _ in consumer.hub.later] == [EVENT_DELAY]
    consumer.hub.later[0][1]()
    assert consumer.event_dispatcher.flushed == 1
    consumer.on_send_event_buffered()  # the next event schedules the next send
    assert len(consumer.hub.later) == 2


def test_the_transport_keeps_one_client_per_pool(redis_url):
    app = create_celery(Settings().replace(redis_url=fresh_database(redis_url)))
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert isinstance(first, redis.Redis) and first.ping()



def test_results_stored_under_old_keys_are_renamed_and_keep_their_expiry(backend):
    """Before results carried the key prefix and database, they were stored as
    ``celery-task-meta-<id>``: after an upgrade those stay pollable."""
    client = backend.client
    client.set("celery-task-meta-41", json.dumps({"status": "SUCCESS", "result": "old"}), ex=500)
    client.set("celery-task-meta-42", json.dumps({"status": "FAILURE", "result": "old"}))
    backend.store_result("42", "new", "SUCCESS")  # already stored under today's name
    client.set("celery-task-meta-other-thing", "x")
    assert adopt_unprefixed(backend) == 1  # 41 only
    assert backend.get_key_for_task("41") != b"celery-task-meta-41"
    assert _stored(backend, "41")["result"] == "old"
    assert 0 < client.ttl(backend.get_key_for_task("41")) <= 500
    assert _stored(backend, "42")["result"] == "new"
    assert client.exists("celery-task-meta-42")  # never written over today's
    assert client.get("celery-task-meta-other-thing") == b"x"  # not a call's result
    client.set("celery-task-meta-43", json.dumps({"status": "SUCCESS", "result": "late"}))
    assert adopt_unprefixed(backend) == 0  # one pass per database: a later worker skips it
    assert client.exists("celery-task-meta-43")


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1:6379/6", "redis://h:1", "redis://h:1/", "redis://h/3?db=5",
    "redis://h/03", "redis://h/?virtual_host=7", "rediss://:pw@h:1/9?ssl_cert_reqs=none",
    "sentinel://s1:26379/2;sentinel://s2:26379", "sentinel://a:26379;sentinel://b:26379/4"])
def test_the_results_prefix_names_the_database_the_backend_selects(url):
    """The database in result keys (and channels) is the one Celery's backend really
    selects, however the URL says it: else two platforms on different databases could
    share a prefix again, and hear each other's results (test_shared_server)."""
    from workers.app import result_keyprefix

    settings = Settings().replace(result_backend_url=url, redis_sentinel_master=(
        "m" if url.startswith("sentinel") else ""))
    backend = create_celery(settings).backend  # connects lazily: nothing is reached
    db = backend.connparams["db"]
    assert result_keyprefix(settings) == f"faasm:{int(db)}:"
    assert backend.get_key_for_task("1") == f"faasm:{int(db)}:celery-task-meta-1".encode()
