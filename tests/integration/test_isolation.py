"""Tenant isolation, attacked for real: real gunicorn, a real Celery worker, real Redis,
with auth off and on.

Bob is the attacker, alice the victim. Bob's guests (a WAT module and a
Python function) try to make links in the shared files; then, since the
storage tier must hold even if a link exists, links of every kind are
planted in bob's shared directory directly, and bob goes through every
route that touches a path: ``PUT/GET /file``, ``__faasm_write_state_from_file``,
a racing re-point of a directory while ``PUT /file`` repeats. Each test
shows the attack fails and that nothing outside bob's namespace changed.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import pytest
import redis
import requests

from deploy.processes import Platform
from faasm.auth import Tokens
from faasm.functions import artifact_key, content_hash
from faasm.runtime.engine import engine_key
from tests import module_database, wat

ADMIN = "admin-token-" + "i" * 32
ALICE_PY = b"from pyfaasm.core import set_output\ndef faasm_main():\n    set_output(b'alice')\n"
BOB_LINKS_PY = b'''import os
from pyfaasm.core import set_output
def faasm_main():
    out = []
    for make in (lambda: os.symlink("../..", "faasm://bob/py-sym"),
                 lambda: os.symlink("/", "faasm://bob/py-abs"),
                 lambda: os.link("faasm://alice/private", "faasm://bob/py-hard")):
        try:
            make()
            out.append("made")
        except OSError as exc:
            out.append(type(exc).__name__)
    set_output(",".join(out).encode())
'''
READ_PY = b'''from pyfaasm.core import get_input, set_output
def faasm_main():
    with open("faasm://" + get_input().decode(), "rb") as f:
        set_output(f.read())
'''
WRITE_PY = b'''import os
from pyfaasm.core import get_input
def faasm_main():
    name, size = get_input().decode().split()
    if size == "-":
        if os.path.exists("faasm://" + name):
            os.remove("faasm://" + name)
        return
    with open("faasm://" + name, "wb") as f:
        f.write(b"w" * int(size))
'''
#: What bob's links point at, as a guest would write them (relative to shared/bob/).
LINKS = {
    "up": "..",
    "root": "../..",
    "artifacts": "../../artifacts",
    "functions": "../../functions/alice",
    "alice": "../alice",
    "abs": "/",
}


#: The platforms attacked: local storage with auth off and on, and fileserver mode
#: (workers read through the upload API and run calls on a mirror), auth on.
PLATFORMS = {"auth-off": 10, "auth-on": 11, "fileserver-auth-on": 12}


@pytest.fixture(scope="module", params=list(PLATFORMS))
def plat(request, redis_url, tmp_path_factory):
    url = module_database(redis_url, PLATFORMS[request.param])
    env = dict(FAASM_SHARED_FILE_QUOTA=str(1 << 20), FAASM_MAX_PYTHON_BYTES=str(200_000),
               FAASM_PYTHON_PARSE_MEMORY=str(8 << 20))
    auth = request.param.endswith("auth-on")
    if auth:
        env.update(FAASM_AUTH="on", FAASM_ADMIN_TOKEN=ADMIN)
    platform = Platform(url, tmp_path_factory.mktemp(request.param), concurrency=1,
                        fileserver=request.param.startswith("fileserver"), **env)
    platform.start()
    platform.auth = auth
    tokens = Tokens(redis.Redis.from_url(url), "faasm")
    platform.headers = {user: ({"Authorization": f"Bearer {tokens.issue(user)[1]}"}
                               if platform.auth else {}) for user in ("alice", "bob")}
    try:
        as_alice = platform.headers["alice"]
        put(platform, "/p/alice/secret", ALICE_PY, as_alice)
        put(platform, "/f/alice/hello", wat.HELLO, as_alice)
        put(platform, "/file", b"alice's file", {**as_alice, "FilePath": "alice/private"})
        for name, wasm in (("link", wat.MAKE_LINK), ("from_file", wat.STATE_FROM_FILE)):
            put(platform, f"/f/bob/{name}", wasm, platform.headers["bob"])
        for name, source in (("links", BOB_LINKS_PY), ("read", READ_PY), ("write", WRITE_PY)):
            put(platform, f"/p/bob/{name}", source, platform.headers["bob"])
        put(platform, "/file", b"bob's file", {**platform.headers["bob"], "FilePath": "bob/own"})
        assert call(platform, "alice", {"user": "alice", "function": "secret"}).content \
            .startswith(b"alice")
        yield platform
    finally:
        platform.stop()


def put(plat, route, data, headers):
    r = requests.put(plat.upload_url + route, data=data, headers=headers, timeout=60)
    assert r.status_code == 200, (route, r.status_code, r.text)


def call(plat, user, body):
    return requests.post(plat.invoke_url, json=body, headers=plat.headers[user], timeout=120)


def storage(plat) -> Path:
    return plat.data_dir / "storage"


def outside_bob(plat) -> dict[str, bytes | str]:
    """Every file and link of the storage (and of the data dir beside it) that is not
    bob's own: what no attack of bob's may change."""
    found = {}
    bob = storage(plat) / "shared" / "bob"
    for dirpath, dirs, files in os.walk(plat.data_dir):
        # Logs, a fileserver worker's own cache (its mirror follows every sync), and the
        # worker processes' scratch directories (made per call, tested as an attacker in
        # test_runtime_environment.py).
        if Path(dirpath) == bob or {"logs", "cache", "scratch"} & set(Path(dirpath).parts):
            dirs[:] = []
            continue
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                found[path] = "-> " + os.readlink(path)
            else:
                with open(path, "rb") as f:
                    found[path] = f.read()
    return found


def plant_links(plat) -> None:
    bob = storage(plat) / "shared" / "bob"
    for name, target in LINKS.items():
        if not os.path.lexists(bob / name):
            os.symlink(target, bob / name)


def test_guests_cannot_make_links(plat):
    before = outside_bob(plat)
    for target, link, hard in (("../..", "bob/sym", False), ("/", "bob/abs", False),
                               ("../artifacts", "bob/art", False),
                               ("alice/private", "bob/hard", True)):
        r = call(plat, "bob", {"user": "bob", "function": "link",
                               "input_data_b64": _b64(wat.link_input(target, link, hard))})
        assert r.status_code == 200, r.text
        assert struct.unpack("<i", r.content[:4]) == (63,)  # WASI's EPERM
        assert not os.path.lexists(storage(plat) / "shared" / link)
    r = call(plat, "bob", {"user": "bob", "function": "links"})
    assert r.status_code == 200 and r.content == b"PermissionError,PermissionError,"\
        b"PermissionError\n", r.text
    assert not any(os.path.lexists(storage(plat) / "shared/bob" / name)
                   for name in ("py-sym", "py-abs", "py-hard"))
    assert outside_bob(plat) == before


def test_upload_api_follows_no_planted_link(plat):
    plant_links(plat)
    before = outside_bob(plat)
    bob = plat.headers["bob"]
    artifact = artifact_key(content_hash(wat.HELLO), engine_key(False)).split("/", 1)[1]
    attacks = [f"bob/{name}/{rest}" for name in LINKS
               for rest in (artifact, "secret/function.py", "private", "alice/private",
                            "functions/alice/secret/function.py", "etc/passwd", "new/x")]
    attacks += [f"faasm://bob/{name}/private" for name in LINKS]
    for name in LINKS:  # a link is no file (writing there would replace bob's own link)
        r = requests.get(f"{plat.upload_url}/file", headers={**bob, "FilePath": f"bob/{name}"},
                         timeout=30)
        assert r.status_code == 404, (name, r.text)
    for path in attacks:
        r = requests.put(f"{plat.upload_url}/file", data=b"\0evil",
                         headers={**bob, "FilePath": path}, timeout=30)
        assert r.status_code == 400 and r.text.count("\n") == 1, (path, r.status_code, r.text)
        r = requests.get(f"{plat.upload_url}/file", headers={**bob, "FilePath": path},
                         timeout=30)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert outside_bob(plat) == before
    r = call(plat, "alice", {"user": "alice", "function": "secret"})
    assert r.status_code == 200 and r.content.startswith(b"alice"), r.text


def test_host_calls_follow_no_planted_link(plat):
    plant_links(plat)
    before = outside_bob(plat)
    for path in ("bob/functions/secret/function.py", "bob/alice/private", "bob/up/alice/private",
                 "bob/abs/etc/hostname", "bob/root/functions/alice/secret/function.py"):
        r = call(plat, "bob", {"user": "bob", "function": "from_file", "input_data": path})
        assert r.headers["X-Faasm-Status"] == "FAILED" and "not found" in r.text, (path, r.text)
        r = requests.get(f"{plat.upload_url}/s/bob/k", headers=plat.headers["bob"], timeout=30)
        assert r.status_code == 404 or b"alice" not in r.content
    r = call(plat, "bob", {"user": "bob", "function": "from_file", "input_data": "bob/own"})
    assert r.status_code == 200 and struct.unpack("<i", r.content[:4]) == (10,), r.text
    assert outside_bob(plat) == before


def test_racing_repoint_writes_nothing_outside(plat, tmp_path):
    """A directory of bob's flipped to a link (to outside the root, to alice, to the
    artifacts) and back while bob repeats PUT /file: 40 tries, a few seconds."""
    shared = storage(plat) / "shared"
    outside = tmp_path / "outside"
    outside.mkdir()
    before = outside_bob(plat)
    target = shared / "bob" / "race"
    stop = threading.Event()

    def flip():
        # Half the time a directory, half a link: a write that checks the path, then
        # uses it, lands outside whenever the flip falls in between.
        n = 0
        while not stop.is_set():
            for link in (str(outside), "../alice", "../../artifacts"):
                n += 1
                try:
                    os.rename(target, shared / "bob" / f"kept{n}")  # what the API made there
                except OSError:
                    pass
                try:
                    os.symlink(link, target)
                    time.sleep(0.002)
                    os.unlink(target)
                    os.mkdir(target)
                    time.sleep(0.002)
                except OSError:
                    pass

    flipper = threading.Thread(target=flip)
    flipper.start()
    answers = []
    try:
        deadline = time.monotonic() + 8
        for i in range(40):
            if time.monotonic() > deadline:
                break
            r = requests.put(f"{plat.upload_url}/file", data=b"race",
                             headers={**plat.headers["bob"], "FilePath": f"bob/race/d{i}/f"},
                             timeout=30)
            answers.append(r.status_code)
    finally:
        stop.set()
        flipper.join()
    assert list(outside.iterdir()) == []
    assert outside_bob(plat) == before
    assert len(answers) >= 10 and set(answers) <= {200, 400}, answers
    print(f"\nrace: {answers.count(200)} written inside bob/, {answers.count(400)} refused, "
          f"of {len(answers)} tries")


def test_tampered_artifact_is_recompiled_not_run(plat):
    """The machine code of alice/hello replaced by another module's (its tag kept):
    the call runs the real function, and the worker says it recompiled."""
    key = artifact_key(content_hash(wat.HELLO), engine_key(False))
    other = artifact_key(content_hash(wat.MAKE_LINK), engine_key(False))
    path = storage(plat) / key
    os.replace(_copy(storage(plat) / other), path)
    requests.post(plat.invoke_url, json={"flush": True},
                  headers={"Authorization": f"Bearer {ADMIN}"} if plat.auth else {}, timeout=30)
    r = call(plat, "alice", {"user": "alice", "function": "hello", "input_data": "z"})
    assert r.status_code == 200 and r.content.startswith(b"out:z"), r.text
    log = plat.log("worker")
    assert f"Artifact {key} failed authentication" in log and f"Compiled {key}" in log


def test_bad_input_is_a_400_with_a_reason(plat):
    alice = plat.headers["alice"]
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"status": true, "id": "\xc2\xb2"}',
                 '{"status": true, "id": "١٢"}'.encode(), b'{"status": true, "id": "99x"}'):
        r = requests.post(plat.invoke_url, data=body, headers=alice, timeout=30)
        assert r.status_code == 400 and r.text.count("\n") == 1, (body[:30], r.text)
    for path in ("alice/" + "a" * 256, "alice/" + "é" * 128, "alice/x/../../y", "faasm://../alice/y"):
        r = requests.put(f"{plat.upload_url}/file", data=b"x", timeout=30,
                         headers={**alice, "FilePath": path.encode()})
        assert r.status_code == 400 and r.text.count("\n") == 1, (path, r.text)


def test_utf8_file_path_is_stored_as_utf8(plat):
    bob = plat.headers["bob"]
    r = requests.put(f"{plat.upload_url}/file", data=b"accents",
                     headers={**bob, "FilePath": "bob/été".encode()}, timeout=30)
    assert r.status_code == 200, r.text
    assert (storage(plat) / "shared/bob/été").read_bytes() == b"accents"
    r = requests.get(f"{plat.upload_url}/file", headers={**bob, "FilePath": "bob/été".encode()},
                     timeout=30)
    assert r.content == b"accents"
    r = call(plat, "bob", {"user": "bob", "function": "read", "input_data": "bob/été"})
    assert r.status_code == 200 and r.content.startswith(b"accents"), r.text


def test_budgets(plat):
    bob = plat.headers["bob"]
    # Python sources: size, then parse memory (a 150 kB source that parses into > 8 MiB).
    r = requests.put(f"{plat.upload_url}/p/bob/big", data=b"x = 1\n" * 40_000, headers=bob,
                     timeout=60)
    assert r.status_code == 413 and "FAASM_MAX_PYTHON_BYTES" in r.text, r.text
    costly = "\n".join(f"a{i}=[{i},{i}]" for i in range(10_000)).encode()
    r = requests.put(f"{plat.upload_url}/p/bob/costly", data=costly, headers=bob, timeout=60)
    assert r.status_code == 400 and "FAASM_PYTHON_PARSE_MEMORY" in r.text, r.text
    # Shared files: 1 MiB per user.
    put(plat, "/file", b"x" * 700_000, {**bob, "FilePath": "bob/q1"})
    r = requests.put(f"{plat.upload_url}/file", data=b"x" * 400_000,
                     headers={**bob, "FilePath": "bob/q2"}, timeout=30)
    assert r.status_code == 413 and "FAASM_SHARED_FILE_QUOTA" in r.text, r.text
    put(plat, "/file", b"x" * 400_000, {**plat.headers["alice"], "FilePath": "alice/q"})
    # A guest that writes past it: the call fails, saying so.
    r = call(plat, "bob", {"user": "bob", "function": "write", "input_data": "bob/big 400000"})
    assert r.headers["X-Faasm-Status"] == "FAILED" and "FAASM_SHARED_FILE_QUOTA" in r.text, \
        r.text
    # Local storage keeps a failed call's files (remote storage writes nothing back):
    # bob frees room from a function, then writes again.
    for body in ("bob/big -", "bob/small 1000"):
        r = call(plat, "bob", {"user": "bob", "function": "write", "input_data": body})
        assert r.status_code == 200, r.text
    assert not (storage(plat) / "shared/bob/big").exists()


def _copy(path: Path) -> Path:
    tmp = path.with_name(path.name + ".planted")
    tmp.write_bytes(path.read_bytes())
    return tmp


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()

