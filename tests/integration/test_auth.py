"""FAASM_AUTH on, end to end: real gunicorn, a real Celery worker, real Redis,
and the `faasm token` command run as a user would run it."""

from __future__ import annotations

import pytest
import redis
import requests

from deploy.processes import Platform
from tests import fresh_database, wat
from tests.integration.test_cli import run_faasm

ADMIN = "admin-token-" + "k" * 32


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def secured(redis_url, tmp_path_factory):
    """A platform of its own (own Redis DB) with FAASM_AUTH on and an admin token."""
    plat = Platform(fresh_database(redis_url), tmp_path_factory.mktemp("auth"), concurrency=1,
                    FAASM_AUTH="on", FAASM_ADMIN_TOKEN=ADMIN).start()
    try:
        yield plat
    finally:
        plat.stop()


@pytest.fixture(scope="module")
def users(secured):
    """Tokens of alice and bob, made with the CLI against the platform's Redis."""
    env = {"FAASM_REDIS_URL": secured.env["FAASM_REDIS_URL"]}
    tokens = {}
    for user in ("alice", "bob"):
        made = run_faasm("token", "create", user, env=env)
        assert made.returncode == 0, made.stderr
        tokens[user] = made.stdout.decode().strip()
        assert f"for user {user}" in made.stderr.decode()
    r = requests.put(f"{secured.upload_url}/f/alice/hello", data=wat.HELLO,
                     headers=bearer(tokens["alice"]))
    assert r.status_code == 200, r.text
    return tokens


def call(plat, body, token=None):
    return requests.post(plat.invoke_url, json=body, timeout=60,
                         headers=bearer(token) if token else {})


def test_no_token_and_bad_tokens_are_401(secured, users):
    bad = users["alice"][:-2] + ("xx" if not users["alice"].endswith("xx") else "yy")
    for headers in ({}, bearer("faasm_0123456789abcdef_nope"), bearer(bad),
                    {"Authorization": "Basic YWxpY2U6cHc="}):
        for r in (requests.get(f"{secured.upload_url}/s/alice/k", headers=headers),
                  requests.put(f"{secured.upload_url}/f/alice/x", data=b"\0asm",
                               headers=headers),
                  requests.post(secured.invoke_url, headers=headers,
                                json={"user": "alice", "function": "hello"})):
            assert r.status_code == 401, r.text
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
            assert r.text.count("\n") == 1
    # Health checks, the documents and CORS preflights stay open.
    for base in (secured.upload_url, secured.invoke_url):
        assert requests.get(f"{base}/ping").text == "PONG"
        assert requests.get(f"{base}/openapi.json").json()["components"]["securitySchemes"]
        assert requests.options(f"{base}/s/alice/k").status_code == 200


def test_own_namespace_works(secured, users):
    alice = bearer(users["alice"])
    r = call(secured, {"user": "alice", "function": "hello", "input_data": "x"}, users["alice"])
    assert r.status_code == 200 and r.content.startswith(b"out:x"), r.text
    call_id = call(secured, {"user": "alice", "function": "hello", "async": True},
                   users["alice"]).text
    report = requests.get(f"{secured.invoke_url}/status/{call_id}", headers=alice).json()
    assert report["user"] == "alice"
    status = call(secured, {"status": True, "id": call_id}, users["alice"])
    assert status.status_code == 200 and status.text.split(":")[0] in ("RUNNING", "SUCCESS")
    assert requests.put(f"{secured.upload_url}/s/alice/k", data=b"v", headers=alice).ok
    assert requests.get(f"{secured.upload_url}/s/alice/k", headers=alice).content == b"v"
    assert requests.get(f"{secured.upload_url}/f/alice/hello", headers=alice).content == \
        wat.HELLO
    assert requests.put(f"{secured.upload_url}/file", data=b"f", headers={
        **alice, "FilePath": "alice/data.txt"}).ok


def test_other_namespace_is_403(secured, users):
    bob = bearer(users["bob"])
    call_id = call(secured, {"user": "alice", "function": "hello", "async": True},
                   users["alice"]).text
    answers = {
        "upload": requests.put(f"{secured.upload_url}/f/alice/evil", data=wat.HELLO,
                               headers=bob),
        "download": requests.get(f"{secured.upload_url}/f/alice/hello", headers=bob),
        "upload-py": requests.put(f"{secured.upload_url}/p/alice/evil", data=b"x = 1",
                                  headers=bob),
        "state put": requests.put(f"{secured.upload_url}/s/alice/k", data=b"!", headers=bob),
        "state get": requests.get(f"{secured.upload_url}/s/alice/k", headers=bob),
        "file": requests.get(f"{secured.upload_url}/file",
                             headers={**bob, "FilePath": "alice/data.txt"}),
        "invoke": call(secured, {"user": "alice", "function": "hello"}, users["bob"]),
        "invoke python form": call(secured, {"user": "python", "function": "py_func",
                                             "python": True, "py_user": "alice",
                                             "py_func": "hello"}, users["bob"]),
        "status": call(secured, {"status": True, "id": call_id}, users["bob"]),
        "status json": requests.get(f"{secured.invoke_url}/status/{call_id}", headers=bob),
        "flush": call(secured, {"flush": True}, users["bob"]),
    }
    for what, r in answers.items():
        assert r.status_code == 403, (what, r.status_code, r.text)
        assert r.text.count("\n") == 1, (what, r.text)


def test_inventory_and_removal_keep_to_your_own(secured, users):
    alice, bob = bearer(users["alice"]), bearer(users["bob"])
    up = secured.upload_url
    assert requests.put(f"{up}/s/alice/gone", data=b"x", headers=alice).ok
    assert requests.put(f"{up}/file", data=b"b", headers={**bob, "FilePath": "bob/b.txt"}).ok
    # Another user's listings and removals are refused (and remove nothing).
    for r in (requests.get(f"{up}/functions/alice", headers=bob),
              requests.get(f"{up}/functions/alice/hello", headers=bob),
              requests.get(f"{up}/state/alice", headers=bob),
              requests.get(f"{up}/files", params={"prefix": "alice"}, headers=bob),
              requests.delete(f"{up}/f/alice/hello", headers=bob),
              requests.delete(f"{up}/p/alice/hello", headers=bob),
              requests.delete(f"{up}/s/alice/gone", headers=bob),
              requests.delete(f"{up}/file", headers={**bob, "FilePath": "alice/data.txt"})):
        assert r.status_code == 403, (r.request.method, r.url, r.text)
        assert r.text.count("\n") == 1
    assert requests.get(f"{up}/functions/alice", headers=bob).status_code == 403
    assert requests.get(f"{up}/f/alice/hello", headers=alice).content == wat.HELLO
    # Your own: listed, and removable.
    listed = requests.get(f"{up}/functions/alice", headers=alice).json()["functions"]
    assert [f["function"] for f in listed] == ["hello"]
    files = requests.get(f"{up}/files", headers=alice).json()
    assert files["prefix"] == "alice"
    assert [f["path"] for f in files["files"]] == ["alice/data.txt"]
    keys = {k["key"] for k in requests.get(f"{up}/state/alice", headers=alice).json()["keys"]}
    assert "gone" in keys
    assert requests.delete(f"{up}/s/alice/gone", headers=alice).ok
    assert requests.get(f"{up}/s/alice/gone", headers=alice).status_code == 404
    # No token at all: 401, even for listings.
    assert requests.get(f"{up}/functions/alice").status_code == 401
    assert requests.get(f"{up}/files").status_code == 401


def test_admin_flushes_and_acts_for_everyone(secured, users):
    r = call(secured, {"flush": True}, ADMIN)
    assert r.status_code == 200 and r.headers["X-Faasm-Flushed"] == "1", r.text
    r = requests.get(f"{secured.upload_url}/s/alice/k", headers=bearer(ADMIN))
    assert r.status_code == 200


def test_cli_sends_the_token_and_manages_tokens(secured, users):
    urls = (secured.upload_url, secured.invoke_url)
    env = {"FAASM_REDIS_URL": secured.env["FAASM_REDIS_URL"]}

    refused = run_faasm("state", "get", "alice", "k", urls=urls, env={"FAASM_TOKEN": ""})
    assert refused.returncode == 2 and b"HTTP 401" in refused.stderr
    assert b"--token" in refused.stderr  # the hint
    got = run_faasm("--token", users["alice"], "state", "get", "alice", "k", urls=urls)
    assert got.returncode == 0 and got.stdout == b"v", got.stderr
    got = run_faasm("invoke", "alice", "hello", urls=urls, env={"FAASM_TOKEN": users["alice"]})
    assert got.returncode == 0 and got.stdout.startswith(b"out:"), got.stderr

    listed = run_faasm("token", "list", env=env).stdout.decode().splitlines()
    assert sorted(line.split()[1] for line in listed) == ["alice", "bob"]
    token_id = next(line.split()[0] for line in listed if line.split()[1] == "bob")
    assert users["bob"].split("_")[1] == token_id
    assert run_faasm("token", "list", "alice", env=env).stdout.decode().count("alice") == 1

    revoked = run_faasm("token", "revoke", token_id, env=env)
    assert revoked.returncode == 0 and b"bob" in revoked.stdout, revoked.stderr
    r = requests.get(f"{secured.upload_url}/s/bob/k", headers=bearer(users["bob"]))
    assert r.status_code == 401
    again = run_faasm("token", "revoke", token_id, env=env)
    assert again.returncode == 2 and b"No token" in again.stderr


def test_tokens_are_not_stored_in_clear(secured, users):
    client = redis.Redis.from_url(secured.env["FAASM_REDIS_URL"])
    secrets = [users["alice"].encode(), users["alice"].split("_", 2)[2].encode()]
    seen = 0
    for key in client.scan_iter("*"):
        kind = client.type(key)
        values = [key]
        if kind == b"string":
            values.append(client.get(key))
        elif kind == b"hash":
            values += [item for pair in client.hgetall(key).items() for item in pair]
        elif kind in (b"set", b"zset"):
            values += list(client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1))
        elif kind == b"list":
            values += client.lrange(key, 0, -1)
        seen += 1
        for value in values:
            assert not any(secret in value for secret in secrets), key
    assert seen and client.exists(f"faasm:auth:token:{users['alice'].split('_')[1]}")
