import pytest

from faasm.errors import BadRequest
from faasm.names import check_name, shared_path


@pytest.mark.parametrize("name", ["a", "hello_world", "v1.2-beta", "x" * 128, "..a"])
def test_good_names(name):
    assert check_name(name, "user") == name


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a b", "x" * 129, "é", "a\x00", None, 3])
def test_bad_names(name):
    with pytest.raises(BadRequest):
        check_name(name, "user")


@pytest.mark.parametrize("raw, expected", [
    ("a.txt", "a.txt"),
    ("dir/sub/a.txt", "dir/sub/a.txt"),
    ("faasm://dir/a.txt", "dir/a.txt"),
    ("./dir//a.txt", "dir/a.txt"),
])
def test_shared_paths(raw, expected):
    assert shared_path(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "../etc/passwd", "a/../../b", "/etc/passwd",
                                 "faasm://../x", "a\x00b", "a\\..\\b", ".", "x" * 2000])
def test_escaping_paths_are_refused(raw):
    with pytest.raises(BadRequest):
        shared_path(raw)
