"""The two state tiers against a real Redis (a private redis-server)."""

import threading
import time
import uuid

import pytest
import redis

from faasm.errors import BadRequest, CallTimedOut, LimitExceeded, TooLarge
from faasm.state import CallState, GlobalState


@pytest.fixture
def store(redis_url):
    return GlobalState(redis.Redis.from_url(redis_url), f"test-{uuid.uuid4().hex[:8]}")


def call_state(store, seconds=5.0):
    return CallState(store, "alice", time.monotonic() + seconds)


def test_missing_value_reads_as_empty(store):
    state = call_state(store)
    assert state.size("nothing") == 0 and state.read("nothing") == b""


def test_write_pushes_whole_value(store):
    call_state(store).write("k", b"\x00\xffbinary")
    assert store.get("alice", "k") == b"\x00\xffbinary"
    assert call_state(store).read("k") == b"\x00\xffbinary"


def test_local_copy_is_pulled_once_until_pulled_again(store):
    store.set("alice", "k", b"v1")
    state = call_state(store)
    assert state.read("k") == b"v1"
    store.set("alice", "k", b"v2")
    assert state.read("k") == b"v1"  # the call's own copy
    state.pull("k")
    assert state.read("k") == b"v2"


def test_offset_writes_stay_local_until_pushed(store):
    store.set("alice", "k", b"0123456789")
    state = call_state(store)
    state.write_offset("k", 10, 2, b"AB")
    assert store.get("alice", "k") == b"0123456789"
    assert state.read_offset("k", 10, 0, 10) == b"01AB456789"
    state.push("k")
    assert store.get("alice", "k") == b"01AB456789"


def test_partial_push_sends_only_dirty_slices(store):
    store.set("alice", "k", b"0123456789")
    state = call_state(store)
    state.write_offset("k", 10, 1, b"a")
    state.write_offset("k", 10, 2, b"b")
    state.write_offset("k", 10, 8, b"z")
    store.set("alice", "k", b"----------")  # someone else changed the rest meanwhile
    state.push_partial("k")
    assert store.get("alice", "k") == b"-ab-----z-"


def test_flag_dirty_then_partial_push(store):
    state = call_state(store)
    state.write_offset("k", 4, 0, b"wxyz")
    state.push_partial("k")
    assert store.get("alice", "k") == b"wxyz"
    state.value("k").data[:] = b"WXYZ"  # changed without a dirty mark: not pushed
    state.push_partial("k")
    assert store.get("alice", "k") == b"wxyz"
    state.flag_offset_dirty("k", 4, 1, 2)
    state.push_partial("k")
    assert store.get("alice", "k") == b"wXYz"


@pytest.mark.parametrize("total, offset, length", [(10, 8, 4), (10, -1, 1), (-1, 0, 0)])
def test_slices_outside_the_value_are_refused(store, total, offset, length):
    with pytest.raises(BadRequest):
        call_state(store).read_offset("k", total, offset, length)


def test_append_read_clear(store):
    state = call_state(store)
    for item in (b"a", b"bb", b"\x00"):
        state.append("list", item)
    assert state.read_appended("list", 2) == b"abb"
    assert state.read_appended("list", 3) == b"abb\x00"
    with pytest.raises(BadRequest, match="has 3 appended elements"):
        state.read_appended("list", 4)
    state.clear_appended("list")
    assert state.read_appended("list", 0) == b""


def test_global_lock_excludes_other_calls(store):
    first, second = call_state(store), call_state(store, seconds=0.3)
    first.lock_global("k")
    with pytest.raises(CallTimedOut, match="global lock on k"):
        second.lock_global("k")
    first.unlock_global("k")
    second.deadline = time.monotonic() + 2
    second.lock_global("k")
    second.release()  # end of call releases what it holds
    first.lock_global("k")
    first.release()


def test_global_lock_counter_loses_no_update(store):
    store.set("alice", "n", b"0")

    def increment():
        for _ in range(10):
            state = call_state(store, seconds=20)
            state.lock_global("n")
            value = int(state.read("n"))
            state.write("n", str(value + 1).encode())
            state.unlock_global("n")

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("alice", "n") == b"40"


def test_unlock_without_lock_is_an_error(store):
    with pytest.raises(BadRequest, match="not held"):
        call_state(store).unlock_global("k")


def test_users_are_namespaced(store):
    call_state(store).write("k", b"alice's")
    assert CallState(store, "bob", time.monotonic() + 5).read("k") == b""


@pytest.fixture
def small(redis_url):
    """A store with budgets small enough to pass: values 100 B, users 250 B, copies 300 B."""
    return GlobalState(redis.Redis.from_url(redis_url), f"test-{uuid.uuid4().hex[:8]}",
                       max_value=100, user_limit=250, call_memory=300)


def test_a_value_over_the_largest_is_refused_and_nothing_written(small):
    with pytest.raises(TooLarge, match="100 byte state value limit"):
        small.set("alice", "k", b"x" * 101)
    with pytest.raises(TooLarge, match="FAASM_STATE_MAX_VALUE"):
        small.set_ranges("alice", "k", [(100, b"x")])  # one byte at offset 100: 101 bytes
    assert small.get_or_none("alice", "k") is None and small.usage("alice") == 0
    small.set("alice", "k", b"x" * 100)
    assert small.usage("alice") == 100


def test_each_user_keeps_at_most_the_user_limit(small):
    small.set("alice", "a", b"x" * 100)
    small.set("alice", "b", b"x" * 100)
    small.append("alice", "list", b"x" * 40)
    with pytest.raises(TooLarge, match="FAASM_STATE_USER_LIMIT"):
        small.set("alice", "c", b"x" * 20)
    with pytest.raises(TooLarge, match="FAASM_STATE_USER_LIMIT"):
        small.append("alice", "list", b"x" * 20)
    small.set("bob", "a", b"y" * 100)  # another user's budget is their own
    small.set("alice", "a", b"x" * 10)  # shrinking gives bytes back
    small.set("alice", "c", b"x" * 90)
    assert small.usage("alice") == 10 + 100 + 40 + 90
    small.clear_appended("alice", "list")
    assert small.delete("alice", "b") and not small.delete("alice", "b")
    assert small.usage("alice") == 100 and small.usage("bob") == 100


def test_a_calls_copies_count_against_its_memory(redis_url):
    store = GlobalState(redis.Redis.from_url(redis_url), f"test-{uuid.uuid4().hex[:8]}",
                        max_value=150, user_limit=1000, call_memory=300)
    for key in ("a", "b", "c", "d"):
        store.set("alice", key, b"x" * 100)
    state = CallState(store, "alice", time.monotonic() + 5)
    state.read("a"), state.read("b")
    with pytest.raises(LimitExceeded, match="300 byte memory limit"):
        state.write_offset("new", 101, 0, b"x")  # 200 held + 101
    state.read("c")
    assert state.held() == 300
    with pytest.raises(LimitExceeded, match="FAASM_MEMORY_LIMIT"):
        state.pull("d")  # fetched only if it fits: it does not cross the wire
    state.pull("a")  # pulling again replaces its own copy: no more held
    assert state.held() == 300
