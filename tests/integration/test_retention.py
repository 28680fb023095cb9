"""Results and call records expire after FAASM_RESULT_RETENTION; expired IDs say so."""

import time

import requests

from deploy.processes import Platform
from tests import fresh_database, wat


def test_expired_calls_answer_410_not_running(redis_url, tmp_path):
    plat = Platform(fresh_database(redis_url), tmp_path, concurrency=1,
                    FAASM_RESULT_RETENTION="2").start()
    try:
        assert requests.put(f"{plat.upload_url}/f/ret/hello", data=wat.HELLO).ok
        call_id = None
        for _ in range(100):
            r = requests.post(plat.invoke_url, json={"user": "ret", "function": "hello",
                                                     "async": True})
            call_id = int(r.text)
            time.sleep(0.3)
            status = requests.post(plat.invoke_url, json={"status": True, "id": call_id})
            if status.text.startswith("SUCCESS"):
                break
        assert status.text.startswith("SUCCESS: out:")
        time.sleep(3)
        expired = requests.post(plat.invoke_url, json={"status": True, "id": call_id})
        assert expired.status_code == 410
        assert expired.text == f"Call {call_id} expired (results are kept 2 s)\n"
        never = requests.post(plat.invoke_url, json={"status": True, "id": call_id + 1000})
        assert never.status_code == 404
    finally:
        plat.stop()
