"""Chunked request bodies (``Transfer-Encoding: chunked``, e.g. ``curl -T -``) through
real gunicorn: every upload route and the invoke API read the real bytes, up to
the size limit (413 past it), never an empty body with 200."""

import http.client
from urllib.parse import urlparse

import falcon
import falcon.testing
import pytest
import requests

from api.common import create_falcon_app, read_body
from tests import wat

LIMIT = 8 * 1024 * 1024  # the test platform's FAASM_MAX_UPLOAD_BYTES


def chunked(data: bytes, size: int = 1000):
    """A body requests can only send chunked (a generator has no length)."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def put_chunked(url: str, data: bytes, **headers) -> requests.Response:
    r = requests.put(url, data=chunked(data), headers=headers, timeout=60)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.request.headers
    return r


def test_state_file_and_python_source_keep_their_bytes(platform):
    url = platform.upload_url
    state = bytes(range(256)) * 40  # binary, 10 KiB, 11 chunks
    assert put_chunked(f"{url}/s/chunky/key", state).ok
    assert requests.get(f"{url}/s/chunky/key").content == state

    text = b"line\n" * 5000
    r = put_chunked(f"{url}/file", text, FilePath="chunky/data.txt")
    assert r.ok, r.text
    assert requests.get(f"{url}/file", headers={"FilePath": "chunky/data.txt"}).content == text

    source = b"def faasm_main():\n    print('chunked')\n"
    assert put_chunked(f"{url}/p/chunky/src", source).ok
    assert requests.get(f"{url}/p/chunky/src").content == source


def test_chunked_wasm_upload_and_invoke_run(platform):
    assert put_chunked(f"{platform.upload_url}/f/chunky/echo", wat.ECHO).ok
    assert requests.get(f"{platform.upload_url}/f/chunky/echo").content == wat.ECHO
    body = b'{"user": "chunky", "function": "echo", "input_data": "through chunks"}'
    r = requests.post(platform.invoke_url, data=chunked(body, 7), timeout=60)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200 and r.text.startswith("through chunks"), r.text


def test_chunked_body_over_the_limit_is_413(platform):
    url = platform.upload_url
    r = put_chunked(f"{url}/s/chunky/huge", b"x" * (LIMIT + 1), )
    assert r.status_code == 413 and "limit" in r.text
    assert requests.get(f"{url}/s/chunky/huge").status_code == 404
    r = put_chunked(f"{url}/s/chunky/huge", b"y" * LIMIT)
    assert r.ok and len(requests.get(f"{url}/s/chunky/huge").content) == LIMIT


def test_raw_chunked_request_like_curl(platform):
    """The bytes curl -T - sends, chunk framing written by http.client."""
    parsed = urlparse(platform.upload_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    conn.request("PUT", "/s/chunky/raw", body=iter([b"hello ", b"", b"chunked ", b"world"]),
                 encode_chunked=True)
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    conn.close()
    assert requests.get(f"{platform.upload_url}/s/chunky/raw").content == b"hello chunked world"


@pytest.mark.parametrize("terminated, status", [(False, "411 Length Required"),
                                                (True, "200 OK")])
def test_chunked_without_a_dechunking_server_is_411(terminated, status):
    """A WSGI server that does not promise a terminated input gets 411, not b""."""
    class Echo:
        def on_put(self, req, resp):
            resp.data = read_body(req, 100)

    app = create_falcon_app()
    app.add_route("/x", Echo())
    env = falcon.testing.create_environ(method="PUT", path="/x", body=b"abc",
                                        headers={"Transfer-Encoding": "chunked"})
    env.pop("CONTENT_LENGTH", None)
    env["wsgi.input_terminated"] = terminated
    seen = {}
    body = b"".join(app(env, lambda s, h: seen.update(status=s)))
    assert seen["status"] == status
    assert body == (b"abc" if terminated else b"411 Length Required: a chunked body needs "
                    b"Content-Length on this server\n")
