/*
 * faasm/matrix.h - Eigen matrices in state (C++), from older Faasm releases.
 *
 * It needs the Eigen headers, which this SDK does not ship: pass their
 * directory to `faasm build` (-I/usr/include/eigen3, or wherever Eigen's
 * "Eigen/" directory is). Without them, including this header stops the
 * build with that advice. Matrices are stored column-major as doubles, as
 * in Faasm. The FaasmMemory* first argument of the oldest releases is gone.
 */
#ifndef FAASM_MATRIX_H
#define FAASM_MATRIX_H

#ifndef __cplusplus
#error "faasm/matrix.h is C++ only"
#endif

#if __has_include(<Eigen/Core>)
#include <Eigen/Core>
#include <Eigen/SparseCore>
#elif __has_include(<eigen3/Eigen/Core>)
#include <eigen3/Eigen/Core>
#include <eigen3/Eigen/SparseCore>
#else
#error "faasm/matrix.h needs the Eigen headers, which the SDK does not ship: add -I<dir holding Eigen/> to faasm build (Debian: apt-get install libeigen3-dev, then -I/usr/include/eigen3)"
#endif

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "faasm/core.h"
#include "faasm/random.h"

namespace faasm {

inline Eigen::MatrixXd randomDenseMatrix(int rows, int cols)
{
    return Eigen::MatrixXd::Random(rows, cols);
}

/* About 10% of entries non-zero, uniform in [0, 0.1). */
inline Eigen::SparseMatrix<double> randomSparseMatrix(int rows, int cols)
{
    std::default_random_engine gen;
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    std::vector<Eigen::Triplet<double>> triplets;
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < cols; ++j) {
            double v = dist(gen);
            if (v < 0.1) {
                triplets.emplace_back(i, j, v);
            }
        }
    }
    Eigen::SparseMatrix<double> mat(rows, cols);
    mat.setFromTriplets(triplets.begin(), triplets.end());
    return mat;
}

/* A new[] copy of the matrix's doubles, column-major. */
inline uint8_t* matrixToBytes(const Eigen::MatrixXd& mat)
{
    double* values = new double[mat.rows() * mat.cols()];
    Eigen::Map<Eigen::MatrixXd>(values, mat.rows(), mat.cols()) = mat;
    return reinterpret_cast<uint8_t*>(values);
}

inline Eigen::MatrixXd bytesToMatrix(uint8_t* bytes, long rows, long cols)
{
    return Eigen::Map<Eigen::MatrixXd>(reinterpret_cast<double*>(bytes), rows, cols);
}

/* Byte offset of element (row, col) in a column-major matrix of n_rows. */
inline long matrixByteIndex(long row, long col, long n_rows)
{
    return (col * n_rows + row) * static_cast<long>(sizeof(double));
}

/* Sets the value at key to the matrix (and pushes it). */
inline void writeMatrixToState(const char* key, const Eigen::MatrixXd& mat,
                               bool push = true)
{
    long n_bytes = static_cast<long>(mat.rows() * mat.cols() * sizeof(double));
    uint8_t* bytes = matrixToBytes(mat);
    faasmWriteState(key, bytes, n_bytes);
    if (push) {
        faasmPushState(key);
    }
    delete[] reinterpret_cast<double*>(bytes);
}

inline Eigen::MatrixXd readMatrixFromState(const char* key, long rows, long cols,
                                           bool pull = true)
{
    long n_bytes = rows * cols * static_cast<long>(sizeof(double));
    if (pull) {
        faasmPullState(key, n_bytes);
    }
    std::vector<uint8_t> buffer(static_cast<size_t>(n_bytes));
    faasmReadState(key, buffer.data(), n_bytes);
    return bytesToMatrix(buffer.data(), rows, cols);
}

/* Writes element (row, col) of mat into the local copy at key. */
inline void writeMatrixToStateElement(const char* key, const Eigen::MatrixXd& mat,
                                      long row, long col)
{
    long total = static_cast<long>(mat.rows() * mat.cols() * sizeof(double));
    double value = mat(row, col);
    faasmWriteStateOffset(key, total, matrixByteIndex(row, col, mat.rows()),
                          reinterpret_cast<uint8_t*>(&value), sizeof(double));
}

/* Columns col_start..col_end (inclusive) of a matrix with n_rows rows and
 * total_cols columns stored at key. */
inline Eigen::MatrixXd readMatrixColumnsFromState(const char* key, long total_cols,
                                                  long col_start, long col_end,
                                                  long n_rows)
{
    long n_cols = col_end - col_start + 1;
    long start = matrixByteIndex(0, col_start, n_rows);
    long len = n_cols * n_rows * static_cast<long>(sizeof(double));
    std::vector<uint8_t> buffer(static_cast<size_t>(len));
    faasmReadStateOffset(key, total_cols * n_rows * static_cast<long>(sizeof(double)),
                         start, buffer.data(), len);
    return bytesToMatrix(buffer.data(), n_rows, n_cols);
}

inline void shuffleMatrixColumns(Eigen::MatrixXd& mat)
{
    int n_cols = static_cast<int>(mat.cols());
    for (int i = n_cols - 1; i > 0; i--) {
        mat.col(i).swap(mat.col(randomInteger(0, n_cols - 1)));
    }
}

inline void printMatrix(const Eigen::MatrixXd& mat)
{
    for (long r = 0; r < mat.rows(); r++) {
        for (long c = 0; c < mat.cols(); c++) {
            printf("%.2f, ", mat.coeff(r, c));
        }
        printf("\n");
    }
}

/* Squared error over the entries where a is non-zero. */
inline double calculateSquaredError(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b)
{
    double total = 0;
    for (long r = 0; r < a.rows(); r++) {
        for (long c = 0; c < a.cols(); c++) {
            if (a.coeff(r, c) != 0) {
                double e = a.coeff(r, c) - b.coeff(r, c);
                total += e * e;
            }
        }
    }
    return total;
}

inline double calculateMse(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b)
{
    Eigen::MatrixXd diff = a - b;
    return diff.squaredNorm() / static_cast<double>(diff.size());
}

} // namespace faasm

#endif /* FAASM_MATRIX_H */
