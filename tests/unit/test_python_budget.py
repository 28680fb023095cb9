"""What checking an uploaded Python source may cost (no network)."""

import pytest

from faasm.errors import BadRequest, TooLarge
from faasm.functions import PythonBudget, check_python_source

#: 150 kB that ast.parse turns into tens of MB: parsed in a child process.
COSTLY = "\n".join(f"a{i}=[{i},{i}]" for i in range(10_000)).encode()


def test_size_limit():
    with pytest.raises(TooLarge, match="FAASM_MAX_PYTHON_BYTES"):
        check_python_source(b"x = 1\n" * 100, "f", PythonBudget(max_bytes=500))


def test_parse_memory_limit():
    with pytest.raises(BadRequest, match="FAASM_PYTHON_PARSE_MEMORY"):
        check_python_source(COSTLY, "f", PythonBudget(parse_memory=8 << 20))
    assert check_python_source(COSTLY, "f", PythonBudget()).startswith("a0=")


def test_parse_time_limit():
    with pytest.raises(BadRequest, match="FAASM_PYTHON_PARSE_TIMEOUT"):
        check_python_source(COSTLY, "f", PythonBudget(parse_timeout=0.01))


def test_errors_of_a_big_source_are_reported_as_of_a_small_one():
    bad = COSTLY + b"\ndef broken(:\n"
    with pytest.raises(BadRequest, match=r"Invalid Python: .*line 10001"):
        check_python_source(bad, "f")
    with pytest.raises(BadRequest, match=r"Invalid Python: .*line 2"):
        check_python_source(b"x = 1\ndef broken(:\n", "f")
