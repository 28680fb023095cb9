"""State and compile budgets through the real platform: the largest value and
each user's bytes, for guests (the call fails with the reason) and for the
upload API (413); an upload too costly to compile (413, nothing stored)."""

import pytest
import redis
import requests

from deploy.processes import Platform
from tests import fresh_database, wat

MiB = 1024 * 1024

WRITER = '''
import sys
from pyfaasm.core import get_input, set_output, write_state, write_state_offset, push_state
how = get_input().decode()
if how == "far":  # one byte at 512 MiB - 1: a 512 MiB value
    write_state_offset("far", 512 * 1024 * 1024, 512 * 1024 * 1024 - 1, b"x")
    push_state("far")
elif how == "many":
    for i in range(10):
        write_state(f"k{i}", bytes(1024 * 1024))
        print(f"wrote k{i}", flush=True)
set_output(b"done")
'''


@pytest.fixture(scope="module")
def plat(redis_url, tmp_path_factory):
    platform = Platform(fresh_database(redis_url), tmp_path_factory.mktemp("state-budgets"),
                        concurrency=1,
                        FAASM_STATE_MAX_VALUE=str(MiB),
                        FAASM_STATE_USER_LIMIT=str(3 * MiB + 100),
                        FAASM_COMPILE_MEMORY=str(64 * MiB)).start()
    try:
        r = requests.put(f"{platform.upload_url}/p/sb/writer", data=WRITER)
        assert r.ok, r.text
        yield platform
    finally:
        platform.stop()


def run(plat, how):
    """The /status/{id} report of an async call of ``writer`` once it ended."""
    r = requests.post(plat.invoke_url, json={"user": "sb", "function": "writer",
                                             "input_data": how, "async": True}, timeout=60)
    assert r.status_code == 200, r.text
    return plat.wait_for_call(r.text, seconds=120)


def state_bytes(plat, user):
    client = redis.Redis.from_url(plat.env["FAASM_REDIS_URL"])
    return sum(client.strlen(k) for k in client.scan_iter(f"faasm:state:{user}:*"))


def test_a_guest_cannot_make_a_value_over_the_largest(plat):
    report = run(plat, "far")
    assert report["status"] == "FAILED", report
    assert "over the 1048576 byte state value limit (FAASM_STATE_MAX_VALUE)" in report["error"]
    assert state_bytes(plat, "sb") == 0


def test_a_guest_stops_at_its_users_state_limit(plat):
    report = run(plat, "many")
    assert report["status"] == "FAILED", report
    assert "FAASM_STATE_USER_LIMIT" in report["error"]
    assert state_bytes(plat, "sb") == 3 * MiB
    # The upload API keeps to the same budget, and says so in one line.
    r = requests.put(f"{plat.upload_url}/s/sb/more", data=bytes(200))
    assert r.status_code == 413 and "FAASM_STATE_USER_LIMIT" in r.text, r.text
    assert len(r.text.strip().splitlines()) == 1
    # Another user has a budget of their own.
    r = requests.put(f"{plat.upload_url}/s/other/big", data=bytes(MiB))
    assert r.status_code == 200, r.text
    r = requests.put(f"{plat.upload_url}/s/other/bigger", data=bytes(MiB + 1))
    assert r.status_code == 413 and "FAASM_STATE_MAX_VALUE" in r.text, r.text


def test_an_upload_too_costly_to_compile_is_refused(plat):
    many = wat.module("".join(
        f"(func $f{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))"
        for i in range(200_000)))  # 4 MB: over 300 MB to compile
    r = requests.put(f"{plat.upload_url}/f/sb/costly", data=many, timeout=120)
    assert r.status_code == 413, r.text
    assert r.text == ("Module too costly: compiling it needs over 67108864 bytes of memory "
                      "(FAASM_COMPILE_MEMORY)\n")
    assert requests.get(f"{plat.upload_url}/f/sb/costly").status_code == 404
    r = requests.put(f"{plat.upload_url}/f/sb/fine", data=wat.HELLO)
    assert r.status_code == 200, r.text
