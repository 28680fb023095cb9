"""Call IDs a client chooses, batches issued in one round trip, request trees (real Redis)."""

import itertools
import os

import pytest
import redis

from faasm.errors import BadRequest, Expired, NotFound
from faasm.records import CallRecords

_prefixes = itertools.count()


@pytest.fixture
def records(redis_url):
    client = redis.Redis.from_url(redis_url)
    prefix = f"rectest{os.getpid()}-{next(_prefixes)}"
    yield CallRecords(client, prefix, 60)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def fields(**extra):
    return dict(user="u", function="f", **extra)


def test_a_batch_is_issued_with_fresh_ids_in_order(records):
    calls = records.issue_many([fields(input=str(i).encode()) for i in range(5)],
                               extra={"app": 9})
    assert [c.id for c in calls] == [1, 2, 3, 4, 5]
    assert [c.input for c in calls] == [b"0", b"1", b"2", b"3", b"4"]
    assert records.get(3)["app"] == "9"


def test_chosen_ids_are_kept_and_the_counter_skips_them(records):
    calls = records.issue_many([fields(), fields(), fields()], wanted=[2, 0, 2])
    # 2 is taken as chosen; the fresh one skips it; a repeat gets a fresh one.
    assert [c.id for c in calls] == [2, 1, 3]
    assert records.issue(fields()).id == 4
    with pytest.raises(BadRequest, match="Call id 2 is in use"):
        records.issue_many([fields()], wanted=[2], strict=True)
    assert records.issue_many([fields()], wanted=[100], strict=True)[0].id == 100
    assert [records.issue(fields()).id for _ in range(2)] == [5, 6]
    with pytest.raises(NotFound):
        records.get(50)  # above the counter, never issued
    records.client.delete(f"{records.record_prefix}5")
    with pytest.raises(Expired):
        records.get(5)


def test_tree_lists_a_request_and_its_chained_calls(records):
    root = records.issue(fields())
    child = records.issue(fields(parent=root.id, root=root.id, depth=1))
    grandchild = records.issue(fields(parent=child.id, root=root.id, depth=2))
    tree = records.tree(root.id)
    assert sorted(tree) == [root.id, child.id, grandchild.id]
    assert tree[grandchild.id]["parent"] == str(child.id)
