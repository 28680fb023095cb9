"""Faasm's distributed matrix multiplication over state, by divide and conquer.

A and B are square float32 matrices kept in state as blocks (the keys of
:class:`pyfaasm.config.MatrixConf`), the shape in ``matrix_state`` (two
int32: size, splits). To multiply block (ra, ca) of A by block (rb, cb) of B
at split level ``s``: at the last level, read both blocks and multiply;
above it, cut each into quarters and chain the eight quarter products, each
a call of the function file's top-level ``distributed_divide_and_conquer``
(the file defines it, calling this module's), then add them in pairs.
Every product is written to state under its intermediate key; the whole
result under ``result_matrix``.
"""

import numpy as np

from pyfaasm.config import (
    MATRIX_CONF_STATE_KEY,
    RESULT_MATRIX_KEY,
    SUBMATRICES_KEY_A,
    SUBMATRICES_KEY_B,
    MatrixConf,
)
from pyfaasm.core import await_call, chain, read_state, write_state
from pyfaasm.matrix_data import do_reconstruct_matrix, do_subdivide_matrix

#: The parameters' element type (size and splits, then a chained call's five indices).
PARAM = np.int32


def write_matrix_params_to_state(matrix_size, n_splits):
    write_state(MATRIX_CONF_STATE_KEY, np.array([matrix_size, n_splits], dtype=PARAM).tobytes())


def load_matrix_conf_from_state():
    raw = read_state(MATRIX_CONF_STATE_KEY, 2 * np.dtype(PARAM).itemsize)
    size, splits = np.frombuffer(raw, dtype=PARAM)[:2]
    return MatrixConf(int(size), int(splits))


def random_matrix(size):
    return np.random.rand(size, size).astype(np.float32)


def subdivide_matrix_into_state(conf, mat, key_prefix):
    """Write ``mat``'s blocks to state under ``key_prefix``'s keys."""
    def write(block, row, col):
        write_state(conf.get_submatrix_key(key_prefix, conf.n_splits, row, col), block)

    do_subdivide_matrix(conf, mat, write)


def _block(raw, side):
    return np.frombuffer(raw, dtype=np.float32).reshape(side, side)


def read_input_submatrix(conf, key_prefix, row_idx, col_idx):
    """Block (row_idx, col_idx) of the input matrix ``key_prefix``, at the last split."""
    key = conf.get_submatrix_key(key_prefix, conf.n_splits, row_idx, col_idx)
    return _block(read_state(key, conf.get_bytes_per_submatrix(conf.n_splits)),
                  conf.get_submatrix_size(conf.n_splits))


def reconstruct_matrix_from_submatrices(conf, key_prefix):
    def read(row, col):
        key = conf.get_submatrix_key(key_prefix, conf.n_splits, row, col)
        return read_state(key, conf.get_bytes_per_submatrix(conf.n_splits))

    return do_reconstruct_matrix(conf, read)


def _product(conf, split_level, row_a, col_a, row_b, col_b):
    if split_level == conf.n_splits:
        return np.dot(read_input_submatrix(conf, SUBMATRICES_KEY_A, row_a, col_a),
                      read_input_submatrix(conf, SUBMATRICES_KEY_B, row_b, col_b))
    return chain_multiplications(conf, split_level, row_a, col_a, row_b, col_b)


def distributed_divide_and_conquer(input_bytes):
    """One chained product: the input is five int32 (level, row_a, col_a, row_b, col_b)."""
    conf = load_matrix_conf_from_state()
    level, row_a, col_a, row_b, col_b = (int(v) for v in np.frombuffer(input_bytes, PARAM)[:5])
    result = _product(conf, level, row_a, col_a, row_b, col_b)
    key = conf.get_intermediate_result_key(level, row_a, col_a, row_b, col_b)
    write_state(key, np.ascontiguousarray(result, dtype=np.float32).tobytes())


def divide_and_conquer():
    """Multiply the whole of A by B; the result goes to state (``result_matrix``)."""
    conf = load_matrix_conf_from_state()
    print(f"Running divide and conquer for {conf.matrix_size}x{conf.matrix_size} matrix "
          f"with {conf.n_splits} splits")
    result = _product(conf, 0, 0, 0, 0, 0)
    write_state(RESULT_MATRIX_KEY, np.ascontiguousarray(result, dtype=np.float32).tobytes())


def get_addition_result(conf, split_level, addition_def):
    """The sum of the two products ``addition_def`` names: ``[(a, b), (a, b)]``, each
    block given as ``[row, col]``, read from their intermediate keys."""
    side = conf.get_submatrix_size(split_level)
    total = None
    for block_a, block_b in addition_def:
        key = conf.get_intermediate_result_key(split_level, block_a[0], block_a[1],
                                               block_b[0], block_b[1])
        part = _block(read_state(key, conf.get_bytes_per_submatrix(split_level)), side)
        total = part if total is None else total + part
    return total


def chain_multiplications(conf, split_level, row_a, col_a, row_b, col_b):
    """Block (row_a, col_a) of A times (row_b, col_b) of B, as eight chained quarter
    products one level down, awaited and added: quadrant (i, j) of the result is
    A[i][0] B[0][j] + A[i][1] B[1][j]."""
    level = split_level + 1

    def a(i, k):
        return [2 * row_a + i, 2 * col_a + k]

    def b(k, j):
        return [2 * row_b + k, 2 * col_b + j]

    quadrants = [[(a(i, k), b(k, j)) for k in (0, 1)] for i in (0, 1) for j in (0, 1)]
    calls = []
    for pairs in quadrants:
        for block_a, block_b in pairs:
            args = np.array([level, *block_a, *block_b], dtype=PARAM)
            calls.append(chain(distributed_divide_and_conquer, args.tobytes()))
    failed = [call_id for call_id in calls if await_call(call_id) != 0]
    if failed:
        raise RuntimeError(f"chained multiplications failed: calls {failed}")
    c00, c01, c10, c11 = (get_addition_result(conf, level, pairs) for pairs in quadrants)
    return np.block([[c00, c01], [c10, c11]])
