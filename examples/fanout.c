/*
 * fanout: chains 12 calls of this function's entry 1, each squaring its
 * index, waits for all of them and sums their outputs.
 * Output: "sum of squares of 0..11 = 506".
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHILDREN 12

FAASM_FUNC(square, 1)
{
    char buf[32] = {0};
    long len = faasmGetInputSize();
    long n;
    faasmGetInput(BYTES(buf), len < 31 ? len : 31);
    n = strtol(buf, NULL, 10);
    snprintf(buf, sizeof(buf), "%ld", n * n);
    faasmSetOutput(BYTES_CONST(buf), (long)strlen(buf));
    return 0;
}

FAASM_MAIN_FUNC()
{
    unsigned int ids[CHILDREN];
    char buf[64];
    long sum = 0;
    int i;

    for (i = 0; i < CHILDREN; i++) {
        snprintf(buf, sizeof(buf), "%d", i);
        ids[i] = faasmChainThisInput(1, BYTES_CONST(buf), (long)strlen(buf));
    }
    for (i = 0; i < CHILDREN; i++) {
        uint8_t* out = NULL;
        long out_len = 0;
        if (faasmAwaitCallOutput(ids[i], &out, &out_len) != 0) {
            fprintf(stderr, "child %d (call %u) failed\n", i, ids[i]);
            return 1;
        }
        if (out_len >= (long)sizeof(buf)) {
            return 1;
        }
        memcpy(buf, out, (size_t)out_len);
        buf[out_len] = '\0';
        sum += strtol(buf, NULL, 10);
    }

    snprintf(buf, sizeof(buf), "sum of squares of 0..%d = %ld", CHILDREN - 1, sum);
    faasmSetOutput(BYTES_CONST(buf), (long)strlen(buf));
    return 0;
}
