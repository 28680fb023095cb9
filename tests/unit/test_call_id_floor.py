"""Call IDs are never issued twice, whatever Redis loses (faasm/idfloor.py):
a real Redis emptied, restarted empty, or rolled back, and many issuers at once."""

import multiprocessing
import shutil
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis

from deploy.processes import RedisServer
from faasm.idfloor import IdFloor
from faasm.records import CallRecords

FIELDS = {"user": "demo", "function": "f"}


def records_for(url, floor_path, block=1000, prefix=None):
    return CallRecords(redis.Redis.from_url(url), prefix or f"floor-{uuid.uuid4().hex[:8]}",
                       60, floor=IdFloor(floor_path, block=block))


def issue(records, n):
    return [records.issue(dict(FIELDS)).id for _ in range(n)]


def test_ids_stay_below_the_floor_written_first(redis_url, tmp_path):
    floor = tmp_path / "floor"
    records = records_for(redis_url, floor, block=5)
    ids = issue(records, 12)
    assert ids == sorted(set(ids))
    assert max(ids) < IdFloor(floor).read()


def test_emptied_redis_continues_above_every_issued_id(redis_url, tmp_path):
    floor, prefix = tmp_path / "floor", f"floor-{uuid.uuid4().hex[:8]}"
    records = records_for(redis_url, floor, prefix=prefix)
    before = issue(records, 20)
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.keys(f"{prefix}:*"))  # every key of the platform lost
    after = issue(records, 20)
    assert min(after) > max(before)
    assert len(set(before + after)) == 40


def test_rolled_back_redis_after_a_restart_never_reissues(tmp_path):
    """A Redis restarted from old data (counter and ceiling both older) is caught by
    its new run_id: the counter continues from the floor, not from the old data."""
    server = RedisServer(tmp_path / "redis", durable=True)
    (tmp_path / "redis").mkdir()
    server.start()
    try:
        prefix = "rollback"
        records = records_for(server.url, tmp_path / "floor", prefix=prefix)
        before = issue(records, 30)
        server.stop()
        server.start()  # a new run of the server, with its data
        client = redis.Redis.from_url(server.url)
        client.set(f"{prefix}:call-id", 3)  # as if an old snapshot came back
        client.set(f"{prefix}:call-id:ceiling", 10 ** 9)
        records = records_for(server.url, tmp_path / "floor", prefix=prefix)
        after = issue(records, 30)
        assert min(after) > max(before), (before, after)
    finally:
        server.stop()


def test_a_new_empty_redis_never_reissues(tmp_path):
    server = RedisServer(tmp_path, durable=False)
    server.start()
    try:
        records = records_for(server.url, tmp_path / "floor", block=7, prefix="fresh")
        before = issue(records, 10)
        server.stop()
        server.start()  # no persistence: everything is gone
        records = records_for(server.url, tmp_path / "floor", block=7, prefix="fresh")
        after = issue(records, 10)
        assert min(after) > max(before) and len(set(before + after)) == 20
    finally:
        server.stop()


def test_many_issuers_with_small_blocks_get_unique_ids(redis_url, tmp_path):
    prefix, floor = f"floor-{uuid.uuid4().hex[:8]}", tmp_path / "floor"
    seen, errors = [], []

    def worker():
        records = records_for(redis_url, floor, block=3, prefix=prefix)
        try:
            seen.extend(issue(records, 40))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == 240 and len(set(seen)) == 240
    assert max(seen) < IdFloor(floor).read()


def test_chained_ids_use_the_floor_too(redis_url, tmp_path):
    prefix, floor = f"floor-{uuid.uuid4().hex[:8]}", tmp_path / "floor"
    records = records_for(redis_url, floor, block=2, prefix=prefix)
    root = records.issue(dict(FIELDS))
    children = [records.issue(dict(FIELDS, parent=root.id, root=root.id, depth=1)).id
                for _ in range(7)]
    assert len(set(children)) == 7 and min(children) > root.id
    client = redis.Redis.from_url(redis_url)
    assert int(client.get(f"{prefix}:call:{root.id}:children")) == 7  # no refused one counted
    client.delete(f"{prefix}:call-id", f"{prefix}:call-id:run", f"{prefix}:call-id:ceiling")
    later = records.issue(dict(FIELDS, parent=root.id, root=root.id, depth=1)).id
    assert later > max(children)


def test_without_a_floor_ids_still_count_up(redis_url):
    records = CallRecords(redis.Redis.from_url(redis_url), f"floor-{uuid.uuid4().hex[:8]}", 60)
    assert issue(records, 3) == [1, 2, 3]


def test_an_unwritable_floor_is_unavailable_not_a_crash(redis_url, tmp_path):
    from faasm.errors import Unavailable

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    records = records_for(redis_url, blocker / "floor")
    with pytest.raises((Unavailable, OSError)):
        issue(records, 1)


def _issue_until(url, floor_path, block, deadline, out, threads=3):
    """A process issuing IDs from ``threads`` threads until ``deadline`` (time.time());
    every ID it was answered goes to ``out``, one a line. Redis away: retried."""
    from faasm.errors import Unavailable

    records = records_for(url, floor_path, block=block, prefix="issue11")
    got, lock = [], threading.Lock()

    def loop():
        while time.time() < deadline:
            try:
                call_id = records.issue(dict(FIELDS)).id
            except Unavailable:
                time.sleep(0.02)
                continue
            with lock:
                got.append(call_id)

    running = [threading.Thread(target=loop) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    Path(out).write_text("".join(f"{i}\n" for i in got))


def test_processes_issuing_across_redis_kills_and_a_stale_restart_never_share_an_id(tmp_path):
    """Issue 11 ("a call ID is never issued twice, whatever Redis loses"), as the chaos
    test's APIs meet it: two processes of three threads issue IDs while their durable
    Redis is SIGKILLed and restarted twice, the second time from a copy of its data
    taken earlier (an old append-only file: the counter, the floor's run and ceiling
    and the records all roll back), so that re-bases race with issues in the other
    process and the scripts are gone (NOSCRIPT) on each new server."""
    data = tmp_path / "redis"
    data.mkdir()
    server = RedisServer(data, durable=True).start()
    floor = tmp_path / "floor"
    deadline = time.time() + 3.0
    context = multiprocessing.get_context("fork")
    issuers = [context.Process(target=_issue_until,
                               args=(server.url, floor, 1000, deadline, tmp_path / f"ids{i}"))
               for i in range(2)]
    for p in issuers:
        p.start()
    try:
        time.sleep(0.4)
        stale = tmp_path / "stale"
        shutil.copytree(data, stale)
        for restore in (False, True):
            time.sleep(0.8)
            server.proc.kill()
            server.proc.wait()
            if restore:
                shutil.rmtree(data)
                shutil.copytree(stale, data)
            server.start()
        for p in issuers:
            p.join(30)
            assert p.exitcode == 0
    finally:
        for p in issuers:
            if p.is_alive():
                p.kill()
        server.stop()
    ids = [int(line) for i in range(2) for line in (tmp_path / f"ids{i}").read_text().split()]
    assert len(ids) > 100
    assert len(ids) == len(set(ids)), sorted(i for i, n in Counter(ids).items() if n > 1)[:10]
    assert max(ids) < IdFloor(floor).read()


def test_scripts_flushed_from_redis_are_loaded_again(redis_url, tmp_path):
    """A Redis that lost its script cache (a restart, SCRIPT FLUSH) answers NOSCRIPT;
    the issue scripts are loaded again and numbering goes on."""
    records = records_for(redis_url, tmp_path / "floor")
    first = issue(records, 2)
    records.client.script_flush()
    assert issue(records, 2) == [first[-1] + 1, first[-1] + 2]
