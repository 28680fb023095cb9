"""Per-user bearer tokens (faasm/auth.py) against a real Redis, and the APIs' checks
in-process (api/auth.py through each API's own app, with Falcon's test client)."""

from __future__ import annotations

import itertools
import json
import os

import falcon.testing
import pytest
import redis

import faasm_client
from api import invoke, upload
from api.auth import bearer_token
from faasm import errors
from faasm.auth import ADMIN, Principal, Tokens
from faasm.batches import Batches
from faasm.calls import CallResult, Outcome
from faasm.files import SharedFiles
from faasm.functions import Functions
from faasm.records import CallRecords
from faasm.settings import Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from tests.unit.test_client import make_client

ADMIN_TOKEN = "admin-" + "x" * 40
_prefixes = itertools.count()


@pytest.fixture
def client(redis_url):
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def prefix():
    return f"authtest{os.getpid()}-{next(_prefixes)}"


@pytest.fixture
def tokens(client, prefix):
    yield Tokens(client, prefix, ADMIN_TOKEN)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def stored_bytes(client: redis.Redis, prefix: str) -> bytes:
    """Every key and value under ``prefix``, whatever the type, as one blob."""
    found = []
    for key in client.scan_iter(f"{prefix}:*"):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key))
        elif kind == b"hash":
            found.extend(item for pair in client.hgetall(key).items() for item in pair)
        elif kind == b"set":
            found.extend(client.smembers(key))
        else:
            raise AssertionError(f"unexpected {kind} at {key}")
    return b"\n".join(found)


# -- tokens ------------------------------------------------------------------

def test_issued_token_verifies_as_its_user(tokens):
    info, token = tokens.issue("alice")
    assert token.startswith(f"faasm_{info.id}_") and len(token) > 50
    assert tokens.verify(token) == "alice"
    assert tokens.authenticate(token) == Principal("alice")


def test_tokens_are_stored_hashed_never_in_clear(tokens, client, prefix):
    tokens_issued = [tokens.issue("alice")[1], tokens.issue("alice")[1], tokens.issue("bob")[1]]
    blob = stored_bytes(client, prefix)
    assert blob, "nothing stored?"
    for token in tokens_issued:
        secret = token.split("_", 2)[2]
        assert token.encode() not in blob and secret.encode() not in blob
    records = [client.hgetall(key) for key in client.scan_iter(f"{prefix}:auth:token:*")]
    assert len(records) == 3
    assert len({r[b"salt"] for r in records}) == 3, "every token has its own salt"
    assert all(r[b"scheme"] == b"hmac-sha256" and len(r[b"digest"]) == 64 for r in records)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),     # secret altered
    lambda t: t + "x",                                      # secret extended
    lambda t: "faasm_0000000000000000_" + t.split("_", 2)[2],  # unknown id
    lambda t: t.replace("faasm_", "other_", 1),             # not ours
    lambda t: t.split("_", 2)[0] + "_" + t.split("_", 2)[1],  # no secret
    lambda t: "faasm_NOTHEX_secret",
    lambda t: "",
])
def test_a_wrong_token_is_unauthorized(tokens, mangle):
    _, token = tokens.issue("alice")
    with pytest.raises(errors.Unauthorized):
        tokens.authenticate(mangle(token))


def test_admin_token_acts_for_everyone(tokens):
    assert tokens.authenticate(ADMIN_TOKEN) is ADMIN
    with pytest.raises(errors.Unauthorized):
        tokens.authenticate(ADMIN_TOKEN + "x")
    no_admin = Tokens(tokens.client, "authtest-none")
    with pytest.raises(errors.Unauthorized):
        no_admin.authenticate(ADMIN_TOKEN)


def test_list_and_revoke_by_id_by_token_and_by_user(tokens):
    a1, t1 = tokens.issue("alice")
    a2, t2 = tokens.issue("alice")
    b1, t3 = tokens.issue("bob")
    assert [t.id for t in tokens.list()] == [a1.id, a2.id, b1.id]
    assert [t.id for t in tokens.list("alice")] == [a1.id, a2.id]
    assert tokens.list("carol") == []

    assert tokens.revoke(a1.id).user == "alice"
    with pytest.raises(errors.Unauthorized):
        tokens.verify(t1)
    assert tokens.verify(t2) == "alice"
    with pytest.raises(errors.NotFound):
        tokens.revoke(a1.id)

    assert tokens.revoke(t3).id == b1.id  # the whole token names it too
    with pytest.raises(errors.Unauthorized):
        tokens.verify(t3)

    tokens.issue("alice")
    assert len(tokens.revoke_user("alice")) == 2
    assert tokens.list() == []
    with pytest.raises(errors.Unauthorized):
        tokens.verify(t2)


def test_bad_user_names_get_no_token(tokens):
    with pytest.raises(errors.BadRequest):
        tokens.issue("../alice")


# -- who may do what ----------------------------------------------------------

def test_a_user_keeps_to_their_namespace():
    alice = Principal("alice")
    alice.require_user("alice")
    with pytest.raises(errors.Forbidden, match="may not act for user bob"):
        alice.require_user("bob")
    with pytest.raises(errors.Forbidden, match="Call 7 is not one of user alice's"):
        alice.require_user("bob", "Call 7")
    with pytest.raises(errors.Forbidden):
        alice.require_user(None, "Call 7")  # a record without a user is nobody's
    with pytest.raises(errors.Forbidden, match="needs the admin token"):
        alice.require_admin("Flushing the workers")
    ADMIN.require_user("bob")
    ADMIN.require_admin("Flushing the workers")


@pytest.mark.parametrize("path, allowed", [
    ("alice/data.txt", True), ("alice/deep/er/x", True), ("./alice//x", True),
    ("faasm://alice/x", True), ("alice", False), ("bob/x", False), ("x", False),
    ("alicex/y", False), ("alice.txt", False),
])
def test_shared_files_of_a_user_are_under_their_name(path, allowed):
    if allowed:
        Principal("alice").require_shared_path(path)
    else:
        with pytest.raises(errors.Forbidden, match="under alice/"):
            Principal("alice").require_shared_path(path)
    ADMIN.require_shared_path(path)


def test_a_path_leaving_the_shared_root_is_a_bad_request_first():
    with pytest.raises(errors.BadRequest):
        Principal("alice").require_shared_path("alice/../../etc/passwd")


@pytest.mark.parametrize("header, token", [
    (None, None), ("", None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"),
])
def test_bearer_header(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "abc"])
def test_other_authorization_schemes_are_unauthorized(header):
    with pytest.raises(errors.Unauthorized, match="Bearer"):
        bearer_token(header)


# -- the APIs, in-process ------------------------------------------------------

class FakeQueue:
    """Stands in for workers.app.CallQueue: every call succeeds at once with output 'ok'."""

    def submit(self, call, sync):
        return call

    def wait(self, call, sent, limit):
        return CallResult(output=b"ok")

    def status(self, call_id):
        return Outcome(result=CallResult(output=b"ok"))

    def flush(self):
        return 1

    def submit_many(self, calls):
        self.batched = calls

    def outcomes(self, call_ids):
        return [Outcome(result=CallResult(output=b"ok")) for _ in call_ids]


@pytest.fixture
def apps(tokens, client, prefix, tmp_path):
    settings = Settings().replace(key_prefix=prefix, auth=True, admin_token=ADMIN_TOKEN)
    storage = open_storage(str(tmp_path / "storage"))
    functions = Functions(storage)
    functions.put_python("alice", "hello", b"print('hi')\n")
    functions.put_python("bob", "hello", b"print('hi')\n")
    up = upload.create_app(upload.UploadDeps(
        settings=settings, functions=functions, files=SharedFiles(storage),
        state=GlobalState(client, prefix), tokens=tokens))
    inv = invoke.create_app(invoke.InvokeDeps(
        settings=settings, functions=functions,
        records=CallRecords(client, prefix, 60), queue=FakeQueue(), tokens=tokens,
        batches=Batches(client, prefix, 60)))
    return falcon.testing.TestClient(up), falcon.testing.TestClient(inv)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_a_bad_one_is_401_with_www_authenticate(apps, tokens):
    up, inv = apps
    for r in (up.simulate_get("/s/alice/k"),
              up.simulate_get("/s/alice/k", headers=bearer("faasm_00_nope")),
              up.simulate_get("/s/alice/k", headers={"Authorization": "Basic eDp5"}),
              inv.simulate_post("/", json={"user": "alice", "function": "hello"}),
              inv.simulate_get("/status/1"),
              up.simulate_get("/storage/list", params={"prefix": "shared/"})):
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="faasm"'
        assert r.text.count("\n") == 1 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_ping_openapi_options_and_unknown_paths_need_no_token(apps):
    for app in apps:
        assert app.simulate_get("/ping").text == "PONG"
        assert app.simulate_get("/openapi.json").status_code == 200
        r = app.simulate_options("/s/alice/k")
        assert r.status_code == 200 and "Authorization" in \
            r.headers["Access-Control-Allow-Headers"]
        assert app.simulate_get("/nowhere").status_code == 404


def test_a_user_reaches_their_namespace_and_nobody_elses(apps, tokens):
    up, inv = apps
    alice = bearer(tokens.issue("alice")[1])
    assert up.simulate_put("/s/alice/k", body=b"v", headers=alice).status_code == 200
    assert up.simulate_get("/s/alice/k", headers=alice).content == b"v"
    assert up.simulate_get("/p/alice/hello", headers=alice).status_code == 200
    for method, path in (("PUT", "/s/bob/k"), ("GET", "/s/bob/k"), ("GET", "/p/bob/hello"),
                         ("PUT", "/f/bob/x"), ("GET", "/f/bob/x"), ("PUT", "/p/bob/x")):
        r = up.simulate_request(method, path, body=b"x", headers=alice)
        assert r.status_code == 403 and "may not act for user bob" in r.text, (path, r.text)

    assert inv.simulate_post("/", json={"user": "alice", "function": "hello"},
                             headers=alice).text == "ok\n"
    for body in ({"user": "bob", "function": "hello"},
                 {"user": "bob", "function": "nosuch"},  # 403 before 404: nothing leaks
                 {"user": "python", "function": "py_func", "python": True,
                  "py_user": "bob", "py_func": "hello"},
                 {"user": "alice", "function": "x", "python": True, "py_user": "bob",
                  "py_func": "hello"}):
        r = inv.simulate_post("/", json=body, headers=alice)
        assert r.status_code == 403, (body, r.text)
    r = inv.simulate_post("/", json={"user": "python", "function": "py_func", "python": True,
                                     "py_user": "alice", "py_func": "hello"}, headers=alice)
    assert r.text == "ok\n"


def test_status_of_a_call_only_for_its_user(apps, tokens):
    _, inv = apps
    alice, bob = (bearer(tokens.issue(u)[1]) for u in ("alice", "bob"))
    call_id = int(inv.simulate_post("/", json={"user": "alice", "function": "hello",
                                               "async": True}, headers=alice).text)
    assert inv.simulate_post("/", json={"status": True, "id": call_id},
                             headers=alice).text == "SUCCESS: ok"
    assert inv.simulate_get(f"/status/{call_id}", headers=alice).json["user"] == "alice"
    for r in (inv.simulate_post("/", json={"status": True, "id": call_id}, headers=bob),
              inv.simulate_get(f"/status/{call_id}", headers=bob)):
        assert r.status_code == 403 and r.text == f"Call {call_id} is not one of user bob's\n"
    assert inv.simulate_get(f"/status/{call_id + 1000}", headers=bob).status_code == 404


def test_flush_and_internal_routes_are_the_admins(apps, tokens):
    up, inv = apps
    alice = bearer(tokens.issue("alice")[1])
    r = inv.simulate_post("/", json={"flush": True}, headers=alice)
    assert r.status_code == 403 and r.text == "Flushing the workers needs the admin token\n"
    r = up.simulate_get("/storage/list", params={"prefix": "shared/"}, headers=alice)
    assert r.status_code == 403
    admin = bearer(ADMIN_TOKEN)
    flushed = inv.simulate_post("/", json={"flush": True}, headers=admin)
    assert (flushed.status_code, flushed.text, flushed.headers["X-Faasm-Flushed"]) == \
        (200, "", "1")
    assert up.simulate_get("/storage/list", params={"prefix": "shared/"},
                           headers=admin).status_code == 200
    assert up.simulate_put("/s/bob/k", body=b"v", headers=admin).status_code == 200


def test_shared_files_by_path(apps, tokens):
    up, _ = apps
    alice = bearer(tokens.issue("alice")[1])
    put = up.simulate_put("/file", body=b"data", headers={**alice, "FilePath": "alice/f"})
    assert put.status_code == 200, put.text
    assert up.simulate_get("/file", headers={**alice, "FilePath": "alice/f"}).content == b"data"
    for path in ("bob/f", "f"):
        for method in ("PUT", "GET"):
            r = up.simulate_request(method, "/file", body=b"x",
                                    headers={**alice, "FilePath": path})
            assert r.status_code == 403, (method, path, r.text)
    assert up.simulate_get("/file", headers=alice).status_code == 400  # no FilePath
    assert up.simulate_get("/file", headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                             "FilePath": "alice/f"}).content == b"data"


def test_revoked_token_is_refused_at_once(apps, tokens):
    up, _ = apps
    info, token = tokens.issue("alice")
    assert up.simulate_get("/p/alice/hello", headers=bearer(token)).status_code == 200
    tokens.revoke(info.id)
    assert up.simulate_get("/p/alice/hello", headers=bearer(token)).status_code == 401


def test_auth_off_asks_for_nothing(tmp_path, client, prefix):
    storage = open_storage(str(tmp_path / "storage"))
    app = falcon.testing.TestClient(upload.create_app(upload.UploadDeps(
        settings=Settings().replace(key_prefix=prefix), functions=Functions(storage),
        files=SharedFiles(storage), state=GlobalState(client, prefix))))
    assert app.simulate_put("/s/anyone/k", body=b"v").status_code == 200
    assert app.simulate_put("/file", body=b"v", headers={"FilePath": "x"}).status_code == 200


# -- the client ------------------------------------------------------------------

def test_client_sends_its_token_and_types_401_and_403():
    answers = iter([(401, "Invalid bearer token\n"), (403, "nope\n")])
    client, adapter = make_client(lambda r: next(answers))
    client.token = "faasm_ab_cd"
    with pytest.raises(faasm_client.Unauthorized) as raised:
        client.get_state("demo", "k")
    assert isinstance(raised.value, errors.Unauthorized)
    with pytest.raises(faasm_client.Forbidden):
        client.put_file("x", b"y")
    assert all(r.headers["Authorization"] == "Bearer faasm_ab_cd" for r in adapter.requests)
    assert adapter.requests[1].headers["FilePath"] == "x"


def test_client_without_a_token_sends_none():
    client, adapter = make_client(lambda r: (200, json.dumps({"id": 1, "status": "RUNNING"})))
    client.token = ""
    client.status_json(1)
    assert "Authorization" not in adapter.requests[0].headers


def _planner(kind, payload=None):
    import json

    body = {"http_type": kind}
    if payload is not None:
        body["payload"] = json.dumps(payload)
    return json.dumps(body)


def test_planner_batches_and_flushes_keep_to_the_same_rules(apps, tokens):
    import json

    _, inv = apps
    alice, bob = (bearer(tokens.issue(u)[1]) for u in ("alice", "bob"))
    batch = {"appId": 4242, "user": "alice", "function": "hello",
             "messages": [{"appId": 4242, "user": "alice", "function": "hello"}]}
    assert inv.simulate_post("/", body=_planner("EXECUTE_BATCH", batch)).status_code == 401
    r = inv.simulate_post("/", body=_planner("EXECUTE_BATCH", batch), headers=bob)
    assert r.status_code == 403 and "may not act for user alice" in r.text
    r = inv.simulate_post("/", body=_planner("EXECUTE_BATCH", batch), headers=alice)
    assert (r.status_code, r.text) == (200, '{"appId":4242}')
    status = _planner("EXECUTE_BATCH_STATUS", {"appId": 4242})
    r = inv.simulate_post("/", body=status, headers=bob)
    assert r.status_code == 403 and r.text == "App 4242 is not one of user bob's\n"
    r = inv.simulate_post("/", body=status, headers=alice)
    assert json.loads(r.text)["finished"] is True
    for kind in ("RESET", "FLUSH_EXECUTORS", "FLUSH_AVAILABLE_HOSTS"):
        r = inv.simulate_post("/", body=_planner(kind), headers=alice)
        assert r.status_code == 403 and "needs the admin token" in r.text, kind
        r = inv.simulate_post("/", body=_planner(kind), headers=bearer(ADMIN_TOKEN))
        assert r.status_code == 200, kind
