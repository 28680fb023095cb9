"""Every upload route, and its bad inputs, through real gunicorn."""

import pytest
import requests

from tests import wat


@pytest.fixture
def url(platform):
    return platform.upload_url


def test_function_round_trip(url):
    assert requests.put(f"{url}/f/alice/echo", data=wat.ECHO).text == "Function upload complete\n"
    r = requests.get(f"{url}/f/alice/echo")
    assert r.status_code == 200 and r.content == wat.ECHO
    assert r.headers["Content-Type"] == "application/wasm"


def test_upload_with_form_content_type_is_raw_bytes(url):
    # curl -d sends application/x-www-form-urlencoded; the body is still just bytes.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert requests.put(f"{url}/f/alice/form", data=wat.HELLO, headers=headers).ok
    assert requests.get(f"{url}/f/alice/form").content == wat.HELLO
    assert requests.put(f"{url}/s/alice/formstate", data=b"a=1&b=2", headers=headers).ok
    assert requests.get(f"{url}/s/alice/formstate").content == b"a=1&b=2"


@pytest.mark.parametrize("body", [b"", b"hello", b"\x00asm", wat.HELLO[:-7]])
def test_bad_wasm_is_400_and_keeps_old_function(url, body):
    requests.put(f"{url}/f/alice/keep", data=wat.ECHO)
    r = requests.put(f"{url}/f/alice/keep", data=body)
    assert r.status_code == 400 and r.text.startswith("Invalid wasm")
    assert len(r.text.strip().splitlines()) == 1
    assert requests.get(f"{url}/f/alice/keep").content == wat.ECHO


def test_python_round_trip(url):
    source = b"def faasm_main():\n    print('hi')\n"
    assert requests.put(f"{url}/p/alice/py", data=source).text == \
        "Python function upload complete\n"
    assert requests.get(f"{url}/p/alice/py").content == source


@pytest.mark.parametrize("source, reason", [
    (b"def f(:\n", "Invalid Python: invalid syntax"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_python_is_400(url, source, reason):
    r = requests.put(f"{url}/p/alice/badpy", data=source)
    assert r.status_code == 400 and reason in r.text
    assert requests.get(f"{url}/p/alice/badpy").status_code == 404


def test_state_round_trip_binary_and_empty(url):
    value = bytes(range(256)) * 3
    assert requests.put(f"{url}/s/alice/blob", data=value).text == "State upload complete\n"
    r = requests.get(f"{url}/s/alice/blob")
    assert r.content == value and r.headers["Content-Type"] == "application/octet-stream"
    assert requests.put(f"{url}/s/alice/empty", data=b"").ok
    r = requests.get(f"{url}/s/alice/empty")
    assert r.status_code == 200 and r.content == b""


def test_shared_file_round_trip(url):
    r = requests.put(f"{url}/file", data=b"file bytes", headers={"FilePath": "dir/a.txt"})
    assert r.text == "Shared file uploaded\n"
    assert requests.get(f"{url}/file", headers={"FilePath": "dir/a.txt"}).content == b"file bytes"
    assert requests.get(f"{url}/file", headers={"FilePath": "faasm://dir/a.txt"}).ok


@pytest.mark.parametrize("path", ["../outside", "a/../../b", "/etc/passwd", "a\\..\\b",
                                  "faasm://../x"])
def test_escaping_file_paths_are_400(url, path):
    assert requests.put(f"{url}/file", data=b"x", headers={"FilePath": path}).status_code == 400
    assert requests.get(f"{url}/file", headers={"FilePath": path}).status_code == 400


def test_missing_file_path_is_400(url):
    r = requests.put(f"{url}/file", data=b"x")
    assert r.status_code == 400 and r.text == "Missing FilePath header\n"


@pytest.mark.parametrize("path, message", [
    ("/f/nobody/nothing", "Function nobody/nothing not found\n"),
    ("/p/nobody/nothing", "Python function nobody/nothing not found\n"),
    ("/s/nobody/nothing", "State nobody/nothing not found\n"),
])
def test_missing_things_are_404(url, path, message):
    r = requests.get(url + path)
    assert r.status_code == 404 and r.text == message


def test_missing_shared_file_is_404(url):
    r = requests.get(f"{url}/file", headers={"FilePath": "no/such.txt"})
    assert r.status_code == 404 and r.text == "Shared file no/such.txt not found\n"


@pytest.mark.parametrize("path, message", [
    ("/f/bad%20name/x", "Invalid user 'bad name'"),
    ("/s/u/" + "k" * 200, "Invalid key"),
    ("/p/u/a%2Cb", "Invalid function 'a,b'"),
])
def test_bad_names_are_400(url, path, message):
    r = requests.put(url + path, data=b"x")
    assert r.status_code == 400 and r.text.startswith(message)


def test_unknown_path_is_404(url):
    assert requests.get(f"{url}/nothing/here").status_code == 404


def test_options_gives_cors(url):
    for path in ("/f/a/b", "/file", "/anything"):
        r = requests.options(url + path)
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_body_over_limit_is_413(url):
    # The test platform's FAASM_MAX_UPLOAD_BYTES is 8 MiB.
    r = requests.put(f"{url}/s/alice/huge", data=b"x" * (8 * 1024 * 1024 + 1))
    assert r.status_code == 413 and "limit" in r.text
    assert requests.get(f"{url}/s/alice/huge").status_code == 404
    assert requests.put(f"{url}/s/alice/huge", data=b"x" * (8 * 1024 * 1024)).ok


# -- inventory and removal -----------------------------------------------------

def test_an_empty_python_source_is_400(url):
    r = requests.put(f"{url}/p/inv/empty", data=b"")
    assert r.status_code == 400 and r.text.startswith("Invalid Python: the body is empty")
    assert r.text.count("\n") == 1


def test_list_describe_and_remove_functions(url):
    import hashlib

    assert requests.put(f"{url}/f/inv/both", data=wat.ECHO).ok
    assert requests.put(f"{url}/p/inv/both", data=b"print(1)\n").ok
    assert requests.put(f"{url}/f/inv/echo", data=wat.HELLO).ok
    listed = requests.get(f"{url}/functions/inv").json()
    assert listed["user"] == "inv"
    assert [(f["function"], f["kind"]) for f in listed["functions"]] == \
        [("both", "wasm"), ("both", "python"), ("echo", "wasm")]
    wasm = listed["functions"][0]
    assert wasm["size"] == len(wat.ECHO)
    assert wasm["sha256"] == hashlib.sha256(wat.ECHO).hexdigest()
    assert wasm["uploaded"].startswith("20")
    described = requests.get(f"{url}/functions/inv/both").json()
    assert [k["kind"] for k in described["kinds"]] == ["wasm", "python"]

    r = requests.delete(f"{url}/f/inv/both")
    assert (r.status_code, r.text) == (200, "Function deleted\n")
    assert requests.get(f"{url}/f/inv/both").status_code == 404
    assert requests.get(f"{url}/p/inv/both").ok  # the other kind stays
    assert requests.delete(f"{url}/p/inv/both").text == "Python function deleted\n"
    r = requests.get(f"{url}/functions/inv/both")
    assert r.status_code == 404 and r.text == "Function inv/both not found\n"
    assert requests.delete(f"{url}/f/inv/both").status_code == 404
    assert [f["function"] for f in requests.get(f"{url}/functions/inv").json()["functions"]] \
        == ["echo"]
    assert requests.get(f"{url}/functions/nobody-here").json()["functions"] == []
    assert requests.get(f"{url}/functions/bad..name/x").status_code in (400, 404)


def test_a_removed_function_cannot_be_invoked(url, platform):
    assert requests.put(f"{url}/f/inv/gone", data=wat.HELLO).ok
    body = {"user": "inv", "function": "gone"}
    assert requests.post(platform.invoke_url, json=body, timeout=60).ok
    assert requests.delete(f"{url}/f/inv/gone").ok
    r = requests.post(platform.invoke_url, json=body, timeout=60)
    assert r.status_code == 404 and "inv/gone not found" in r.text


def test_list_and_remove_state_keys(url):
    assert requests.put(f"{url}/s/invs/a", data=b"12345").ok
    assert requests.put(f"{url}/s/invs/b", data=b"").ok
    assert requests.put(f"{url}/s/invs2/a", data=b"other user").ok
    keys = requests.get(f"{url}/state/invs").json()["keys"]
    assert keys == [{"key": "a", "size": 5}, {"key": "b", "size": 0}]
    assert requests.delete(f"{url}/s/invs/a").text == "State deleted\n"
    assert requests.get(f"{url}/s/invs/a").status_code == 404
    assert requests.delete(f"{url}/s/invs/a").status_code == 404
    assert requests.get(f"{url}/state/invs").json()["keys"] == [{"key": "b", "size": 0}]
    assert requests.get(f"{url}/s/invs2/a").content == b"other user"


def test_list_and_remove_shared_files(url):
    for path, data in (("invf/a.txt", b"a"), ("invf/sub/b.bin", b"bb"), ("invg/c", b"c")):
        assert requests.put(f"{url}/file", data=data, headers={"FilePath": path}).ok
    listed = requests.get(f"{url}/files", params={"prefix": "invf"}).json()
    assert [(f["path"], f["size"]) for f in listed["files"]] == \
        [("invf/a.txt", 1), ("invf/sub/b.bin", 2)]
    assert listed["truncated"] is False
    everything = {f["path"] for f in requests.get(f"{url}/files").json()["files"]}
    assert {"invf/a.txt", "invg/c"} <= everything
    r = requests.delete(f"{url}/file", headers={"FilePath": "invf/sub/b.bin"})
    assert r.text == "Shared file deleted\n"
    assert requests.get(f"{url}/file", headers={"FilePath": "invf/sub/b.bin"}).status_code == 404
    assert requests.delete(f"{url}/file", headers={"FilePath": "invf/sub/b.bin"}
                           ).status_code == 404
    assert requests.delete(f"{url}/file", headers={"FilePath": "../x"}).status_code == 400
    assert requests.get(f"{url}/files", params={"prefix": "../x"}).status_code == 400
