"""Faasm's matrix settings: state keys and how a square matrix is split.

A matrix of ``matrix_size`` x ``matrix_size`` float32 values is split
``n_splits`` times, each split cutting every block into four, so at split
level ``s`` there are ``2**s`` x ``2**s`` blocks of ``matrix_size // 2**s``
rows each. The key names are Faasm's, so state written by Faasm's tooling
(or another platform's functions) is found here.
"""

#: Bytes per element: float32, so wasm code can read the same bytes.
NP_ELEMENT_SIZE = 4

SUBMATRICES_KEY_A = "mat_a"
SUBMATRICES_KEY_B = "mat_b"
INTERMEDIATE_RESULT_PREFIX = "intermediate"
RESULT_MATRIX_KEY = "result_matrix"
MATRIX_CONF_STATE_KEY = "matrix_state"


class MatrixConf:
    """The shape of one distributed multiplication."""

    def __init__(self, matrix_size, n_splits):
        self.matrix_size = matrix_size
        self.n_splits = n_splits
        self.bytes_per_matrix = matrix_size * matrix_size * NP_ELEMENT_SIZE

    def get_submatrices_per_row(self, split_level):
        """Blocks along one side at ``split_level``."""
        return 1 << int(split_level)

    def get_submatrix_size(self, split_level):
        """Rows (and columns) of one block at ``split_level``."""
        return self.matrix_size // self.get_submatrices_per_row(split_level)

    def get_bytes_per_submatrix(self, split_level):
        side = self.get_submatrix_size(split_level)
        return side * side * NP_ELEMENT_SIZE

    def get_intermediate_result_key(self, split_level, row_a, col_a, row_b, col_b):
        """Where the product of block (row_a, col_a) of A and (row_b, col_b) of B is kept."""
        parts = (INTERMEDIATE_RESULT_PREFIX, split_level, row_a, col_a, row_b, col_b)
        return "_".join(str(part) for part in parts)

    def get_submatrix_key(self, key_prefix, split_level, row_idx, col_idx):
        """Where block (row_idx, col_idx) of the matrix ``key_prefix`` is kept."""
        return "_".join(str(part) for part in (key_prefix, split_level, row_idx, col_idx))
