"""The Redis broker transport (workers/transport.py): a message taken off its
queue just before Redis goes away is recorded as taken once Redis is back, so
it is run (or given back) instead of lost. Real Redis, stopped and restarted."""

import threading

import kombu
import pytest
from kombu.transport import redis as kombu_redis

from deploy.processes import RedisServer
from workers.app import REDIS_TRANSPORT


@pytest.mark.parametrize("transport, kept", [(REDIS_TRANSPORT, True),
                                             ("redis", False)])
def test_a_message_taken_as_redis_restarts_is_recorded(tmp_path, transport, kept):
    server = RedisServer(tmp_path, durable=True).start()
    try:
        with kombu.Connection(server.url, transport=transport) as conn:
            channel = conn.default_channel
            queue = kombu.Queue("faasm-test", routing_key="faasm-test")
            conn.Producer(channel).publish({"call": 7}, routing_key="faasm-test",
                                           declare=[queue])
            payload = channel._get("faasm-test")  # what BRPOP hands the worker
            message = channel.Message(payload, channel=channel)
            server.stop()  # Redis goes away before the message is recorded as taken
            restart = threading.Timer(1.5, server.start)
            restart.start()
            try:
                if not kept:
                    with pytest.raises(channel.connection_errors):
                        channel.qos.append(message, message.delivery_tag)
                    return
                channel.qos.append(message, message.delivery_tag)
            finally:
                restart.join()
            unacked = channel.client.hget(channel.unacked_key, message.delivery_tag)
            assert unacked is not None
            assert isinstance(channel.qos, kombu_redis.QoS)
            # Given back to its queue (what the visibility timeout does for a dead worker).
            channel.qos.restore_by_tag(message.delivery_tag)
            assert channel.client.llen("faasm-test") == 1
    finally:
        server.stop()


def test_a_sweep_lock_left_by_a_crash_expires_soon(tmp_path):
    """kombu locks its sweep that gives back unacknowledged calls; a worker or Redis
    killed while it is held leaves the lock behind, and no call is given back until
    it expires (kombu's default: 300 s). Ours lives UNACKED_MUTEX_EXPIRE seconds."""
    from faasm.settings import get_settings
    from workers.app import UNACKED_MUTEX_EXPIRE, broker_transport_options

    server = RedisServer(tmp_path, durable=True).start()
    try:
        options = broker_transport_options(get_settings())
        with kombu.Connection(server.url, transport=REDIS_TRANSPORT,
                              transport_options=options) as conn:
            channel = conn.default_channel
            lock = kombu_redis.Mutex(channel.client, channel.unacked_mutex_key,
                                     channel.unacked_mutex_expire)
            lock.__enter__()  # were its holder killed now, this would stay behind
            ttl = channel.client.pttl(channel.unacked_mutex_key)
            lock.__exit__(None, None, None)
            assert 0 < ttl <= UNACKED_MUTEX_EXPIRE * 1000 <= 15_000
    finally:
        server.stop()


@pytest.mark.parametrize("transport, given_back", [(REDIS_TRANSPORT, True),
                                                   ("redis", False)])
def test_calls_taken_are_given_back_once_redis_answers(tmp_path, transport, given_back):
    """A worker whose connection drops gives back the calls it took; with Redis
    away at that moment, kombu's transport fails and leaves them to the
    visibility timeout (minutes), this one gives them back when Redis is back."""
    server = RedisServer(tmp_path, durable=True).start()
    try:
        with kombu.Connection(server.url, transport=transport) as conn:
            channel = conn.default_channel
            queue = kombu.Queue("faasm-test", routing_key="faasm-test")
            conn.Producer(channel).publish({"call": 8}, routing_key="faasm-test",
                                           declare=[queue])
            message = channel.basic_get("faasm-test")  # taken: recorded as unacknowledged
            assert message is not None and channel.client.llen("faasm-test") == 0
            server.stop()
            restart = threading.Timer(1.5, server.start)
            restart.start()
            try:
                if not given_back:
                    with pytest.raises(channel.connection_errors):
                        channel.qos.restore_unacked()
                    return
                channel.qos.restore_unacked()
            finally:
                restart.join()
            assert channel.client.llen("faasm-test") == 1
            assert channel.client.hlen(channel.unacked_key) == 0
    finally:
        server.stop()
