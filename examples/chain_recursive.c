/*
 * chain_recursive: input N (default 3, at most 20). A call with N > 0
 * chains this same function with N - 1 and waits for it; each call outputs
 * its N followed by its child's output, so input 3 outputs "3 2 1 0".
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 20

FAASM_MAIN_FUNC()
{
    char buf[256] = {0};
    long len = faasmGetInputSize();
    long depth = 3;
    int used;

    if (len > 0) {
        faasmGetInput(BYTES(buf), len < 31 ? len : 31);
        depth = strtol(buf, NULL, 10);
    }
    if (depth < 0 || depth > MAX_DEPTH) {
        fprintf(stderr, "depth must be 0..%d\n", MAX_DEPTH);
        return 1;
    }

    used = snprintf(buf, sizeof(buf), "%ld", depth);
    if (depth > 0) {
        char arg[16];
        uint8_t* child = NULL;
        long child_len = 0;
        unsigned int call_id;

        snprintf(arg, sizeof(arg), "%ld", depth - 1);
        /* Index 0 is this function's main entry. */
        call_id = faasmChainThisInput(0, BYTES_CONST(arg), (long)strlen(arg));
        if (faasmAwaitCallOutput(call_id, &child, &child_len) != 0) {
            return 1;
        }
        if (child_len > (long)sizeof(buf) - used - 2) {
            return 1;
        }
        buf[used++] = ' ';
        memcpy(buf + used, child, (size_t)child_len);
        used += (int)child_len;
    }
    faasmSetOutput(BYTES_CONST(buf), used);
    return 0;
}
