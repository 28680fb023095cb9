/*
 * chain_index: chains this same function at entry index 1 (FAASM_FUNC),
 * which squares the number it is given, and waits for it. Input: a number
 * (default 7). Output: "chained index 1: OK" once the chained call ends.
 * The chained call's own output is its square.
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long input_number(long fallback)
{
    char buf[32] = {0};
    long len = faasmGetInputSize();
    if (len <= 0) {
        return fallback;
    }
    faasmGetInput(BYTES(buf), len < 31 ? len : 31);
    return strtol(buf, NULL, 10);
}

FAASM_FUNC(square, 1)
{
    char out[32];
    long n = input_number(0);
    if (faasmGetCurrentIdx() != 1) {
        return 1;
    }
    snprintf(out, sizeof(out), "%ld", n * n);
    faasmSetOutput(BYTES_CONST(out), (long)strlen(out));
    return 0;
}

FAASM_MAIN_FUNC()
{
    char arg[32];
    const char* done = "chained index 1: OK";
    unsigned int call_id;

    snprintf(arg, sizeof(arg), "%ld", input_number(7));
    call_id = faasmChainThisInput(1, BYTES_CONST(arg), (long)strlen(arg));
    if (faasmAwaitCall(call_id) != 0) {
        return 1;
    }
    faasmSetOutput(BYTES_CONST(done), (long)strlen(done));
    return 0;
}
