"""numpy 1.x's ``__config__.get_info`` and ``ndarray.itemset``, restored in the sandbox
(faasm/guest/pyfaasm/_numpy1.py), on both paths: calls from images and fresh sandboxes."""

import json

import pytest

from faasm.calls import Call
from faasm.functions import Functions
from faasm.runtime.python import PythonRuntime
from faasm.settings import Settings
from faasm.storage import open_storage
from tests.unit.test_python_runtime import CACHE, warm  # noqa: F401 - the fixture


@pytest.fixture(params=["images", "fresh"])
def py(warm, tmp_path, request):  # noqa: F811 - the fixture
    store = open_storage(str(tmp_path))
    settings = Settings().replace(python_cache_path=CACHE, call_timeout=60.0,
                                  python_snapshots=request.param == "images")
    runtime = PythonRuntime(settings, store)
    runtime.prewarm()
    assert (runtime.snapshots is not None) == (request.param == "images")
    ids = iter(range(1, 1 << 30))

    def run(source: str, function: str = "f") -> bytes:
        Functions(store).put_python("u", function, source.encode())
        return runtime.execute(Call(id=next(ids), user="u", function=function,
                                    python=True)).output

    return run


GET_INFO = '''
import json
import numpy as np
from pyfaasm.core import set_output

def faasm_main():
    names = ["openblas_info", "openblas", "blas_opt_info", "openblas_lapack_info",
             "lapack_opt_info", "blas_mkl_info", "lapack_mkl_info", "atlas_info",
             "blas_info", "lapack_info", "accelerate_info"]
    deps = np.__config__.CONFIG["Build Dependencies"]
    set_output(json.dumps({"infos": {n: np.__config__.get_info(n) for n in names},
                           "blas": deps["blas"], "lapack": deps["lapack"]}))
'''


def test_get_info_answers_as_numpy_1_did_for_the_libraries_numpy_links(py):
    answer = json.loads(py(GET_INFO))
    infos, blas, lapack = answer["infos"], answer["blas"], answer["lapack"]
    # What np.show_config() prints: this numpy links OpenBLAS for both.
    assert (blas["found"], blas["name"], lapack["found"], lapack["name"]) == (
        True, "openblas", True, "openblas")
    linked = {"libraries": ["openblas"], "library_dirs": [blas["lib directory"]],
              "language": "c", "define_macros": [["HAVE_CBLAS", None]]}
    for name in ("openblas_info", "openblas", "blas_opt_info", "openblas_lapack_info",
                 "lapack_opt_info"):
        assert infos[name] == linked, name
    for name in ("blas_mkl_info", "lapack_mkl_info", "atlas_info", "blas_info", "lapack_info",
                 "accelerate_info"):
        assert infos[name] == {}, name


ITEMSET = '''
import numpy as np
from pyfaasm.core import set_output

class Tagged(np.ndarray):
    pass

def faasm_main():
    out = []
    a = np.arange(10.0)
    a.itemset(4, 10.0)                      # one dimension: an index
    out.append(a.tolist())
    m = np.arange(6).reshape(2, 3)
    m.itemset(4, 40)                        # flat index, C order
    m.itemset((0, 1), 10)                   # a tuple
    m.itemset(1, 2, 12)                     # one integer per dimension
    m.itemset(-6, -1)                       # flat, from the end
    out.append(m.tolist())
    one = np.array([[5]])
    one.itemset(7)                          # no index: a size-1 array
    out.append(one.tolist())
    cast = np.zeros(2, dtype=np.int8)
    cast.itemset(1, 3.9)                    # cast as assignment casts
    out.append(cast.tolist())
    sub = np.zeros(3).view(Tagged)
    sub.itemset(2, 7)
    out.append([type(sub).__name__, sub.tolist()])
    mat = np.matrix([[1, 2], [3, 4]])
    mat.itemset(3, 9)
    out.append(mat.tolist())
    for args in [(), (1,), (100, 1), (1, 2, 3, 4), (0, 5, 1), (1.5, 1)]:
        try:
            np.arange(6).reshape(2, 3).itemset(*args)
            out.append("no error")
        except Exception as exc:
            out.append(f"{type(exc).__name__}: {exc}")
    frozen = np.arange(3)
    frozen.flags.writeable = False
    try:
        frozen.itemset(0, 1)
    except ValueError as exc:
        out.append(str(exc))
    out.append("itemset" in dir(np.ndarray))
    set_output(repr(out))
'''

ITEMSET_ANSWER = repr([
    [0.0, 1.0, 2.0, 3.0, 10.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    [[-1, 10, 2], [3, 40, 12]],
    [[7]],
    [0, 3],
    ["Tagged", [0.0, 0.0, 7.0]],
    [[1, 2], [3, 9]],
    "ValueError: itemset must have at least one argument",
    "ValueError: can only convert an array of size 1 to a Python scalar",
    "IndexError: index 100 is out of bounds for size 6",
    "ValueError: incorrect number of indices for array",
    "IndexError: index 5 is out of bounds for axis 1 with size 3",
    "TypeError: 'float' object cannot be interpreted as an integer",
    "assignment destination is read-only",
    True,
]).encode()


def test_itemset_has_numpy_1_semantics_call_after_call(py):
    # The same version three times: the first call makes the image, the others start from it.
    assert [py(ITEMSET) for _ in range(3)] == [ITEMSET_ANSWER] * 3


def test_itemset_when_numpy_is_imported_inside_the_call(py):
    source = '''
from pyfaasm.core import set_output

def faasm_main():
    import numpy
    a = numpy.zeros(3)
    hasattr(a, "itemset")
    a.itemset(1, 2.0)
    set_output(repr(a.tolist()))
'''
    assert [py(source) for _ in range(2)] == [b"[0.0, 2.0, 0.0]"] * 2


def test_a_function_without_numpy_does_not_import_it(py):
    source = '''
import sys
from pyfaasm.core import set_output
set_output(repr(([m for m in sys.modules if m.startswith(('numpy', 'pyfaasm._numpy1'))],
                  [type(f).__name__ for f in sys.meta_path][:1])))
'''
    assert py(source) == b"([], ['_NumpyWatch'])"
