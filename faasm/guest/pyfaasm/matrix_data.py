"""Cutting a square matrix into blocks and putting it back together (Faasm's names).

Blocks are float32, row-major, in the order :class:`~pyfaasm.config.MatrixConf`
names them at its ``n_splits`` level. Writing and reading a block is left to a
function given here (state, files...).
"""

import os

import numpy as np


def _blocks(conf):
    """(row, column, first row, first column, side) of every block, row by row."""
    per_row = conf.get_submatrices_per_row(conf.n_splits)
    side = conf.get_submatrix_size(conf.n_splits)
    for row in range(per_row):
        for col in range(per_row):
            yield row, col, row * side, col * side, side


def do_subdivide_matrix(conf, mat, write_func):
    """Call ``write_func(block_bytes, row, col)`` for each block of ``mat``."""
    for row, col, top, left, side in _blocks(conf):
        block = np.ascontiguousarray(mat[top:top + side, left:left + side], dtype=np.float32)
        write_func(block.tobytes(), row, col)


def do_reconstruct_matrix(conf, read_func):
    """The whole matrix, from ``read_func(row, col)`` giving each block's bytes."""
    per_row = conf.get_submatrices_per_row(conf.n_splits)
    side = conf.get_submatrix_size(conf.n_splits)
    rows = []
    for row in range(per_row):
        blocks = [np.frombuffer(read_func(row, col), dtype=np.float32).reshape(side, side)
                  for col in range(per_row)]
        rows.append(np.hstack(blocks))
    return np.vstack(rows)


def subdivide_matrix_into_files(conf, mat, file_dir, file_prefix):
    def write(block, row, col):
        path = os.path.join(file_dir, conf.get_submatrix_key(file_prefix, conf.n_splits, row, col))
        with open(path, "wb") as f:
            f.write(block)

    do_subdivide_matrix(conf, mat, write)


def reconstruct_matrix_from_files(conf, file_dir, file_prefix):
    def read(row, col):
        path = os.path.join(file_dir, conf.get_submatrix_key(file_prefix, conf.n_splits, row, col))
        with open(path, "rb") as f:
            return f.read()

    return do_reconstruct_matrix(conf, read)
