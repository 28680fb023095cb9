"""The platform on Redis Sentinel URLs: broker, result backend, call records and state
all find the master through a real Sentinel (the redis-server binary in sentinel mode)."""

import subprocess
import time

import pytest
import requests

from deploy.processes import Platform, RedisServer, free_port, wait_for_port
from deploy.redis import server_binary
from tests import wat


@pytest.fixture(scope="module")
def sentinel_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("sentinel")
    master = RedisServer(data).start()
    port = free_port()
    conf = data / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {data}\n"
                    f"sentinel monitor faasm 127.0.0.1 {master.port} 1\n")
    sentinel = subprocess.Popen([server_binary(), str(conf), "--sentinel"],
                                stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, sentinel)
        yield f"sentinel://127.0.0.1:{port}/0"
    finally:
        sentinel.terminate()
        sentinel.wait(10)
        master.stop()


def test_the_platform_runs_on_sentinel_urls(sentinel_url, tmp_path):
    plat = Platform(sentinel_url, tmp_path, concurrency=1, FAASM_REDIS_SENTINEL_MASTER="faasm")
    plat.start()
    try:
        assert requests.put(f"{plat.upload_url}/f/s/hello", data=wat.HELLO).ok
        assert requests.put(f"{plat.upload_url}/s/s/key", data=b"state").ok
        assert requests.get(f"{plat.upload_url}/s/s/key").content == b"state"
        for _ in range(100):
            r = requests.post(plat.invoke_url, json={"user": "s", "function": "hello",
                                                     "input_data": "x"}, timeout=30)
            if r.headers.get("X-Faasm-Status") == "SUCCESS":
                break
            time.sleep(0.1)
        assert r.status_code == 200 and r.content.startswith(b"out:x"), (
            r.text + plat.log("worker")[-3000:] + plat.log("invoke")[-2000:])
        call_id = requests.post(plat.invoke_url, json={
            "user": "s", "function": "hello", "async": True}).text
        assert plat.wait_for_call(call_id, seconds=10)["status"] == "SUCCESS"
        status = requests.post(plat.invoke_url, json={"status": True, "id": call_id}).text
        assert status.startswith("SUCCESS: out:")
    finally:
        plat.stop()
