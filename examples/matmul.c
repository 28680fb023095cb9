/*
 * matmul: a CPU-bound function. Input N (default 128, at most 1024)
 * multiplies two N x N matrices of 32-bit integers (wrapping arithmetic, so
 * wasm and native results are bit-identical) and outputs
 * "matmul N checksum XXXXXXXX".
 *
 * It uses only faasmGetInput/faasmSetOutput, so it also builds natively for
 * a benchmark, with the shim that maps those to stdin/stdout:
 *
 *     gcc -O2 -Isdk/include examples/matmul.c examples/native/faasm_native.c
 *     echo 256 | ./a.out
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 128
#define MAX_N 1024

/* xorshift32: the same pseudo-random matrices on every platform. */
static uint32_t next_random(uint32_t* state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static uint32_t checksum_of_product(const uint32_t* a, const uint32_t* b,
                                    uint32_t* c, long n)
{
    uint32_t sum = 0;
    long i, j, k;

    memset(c, 0, sizeof(uint32_t) * (size_t)(n * n));
    /* i-k-j order walks b and c row by row. */
    for (i = 0; i < n; i++) {
        for (k = 0; k < n; k++) {
            uint32_t aik = a[i * n + k];
            for (j = 0; j < n; j++) {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    for (i = 0; i < n * n; i++) {
        sum = sum * 31u + c[i];
    }
    return sum;
}

FAASM_MAIN_FUNC()
{
    char buf[64] = {0};
    long len = faasmGetInputSize();
    long n = DEFAULT_N;
    long i;
    uint32_t *a, *b, *c;
    uint32_t sum;
    uint32_t seed = 2463534242u;

    if (len > 0) {
        faasmGetInput(BYTES(buf), len < 63 ? len : 63);
        n = strtol(buf, NULL, 10);
    }
    if (n < 1 || n > MAX_N) {
        fprintf(stderr, "N must be 1..%d\n", MAX_N);
        return 1;
    }

    a = (uint32_t*)malloc(sizeof(uint32_t) * (size_t)(n * n));
    b = (uint32_t*)malloc(sizeof(uint32_t) * (size_t)(n * n));
    c = (uint32_t*)malloc(sizeof(uint32_t) * (size_t)(n * n));
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "out of memory for N = %ld\n", n);
        return 1;
    }
    for (i = 0; i < n * n; i++) {
        a[i] = next_random(&seed);
        b[i] = next_random(&seed);
    }

    sum = checksum_of_product(a, b, c, n);
    snprintf(buf, sizeof(buf), "matmul %ld checksum %08x", n, (unsigned)sum);
    faasmSetOutput(BYTES_CONST(buf), (long)strlen(buf));

    free(a);
    free(b);
    free(c);
    return 0;
}
