/*
 * state_counter: increments a counter kept in global state and outputs the
 * new count. The cluster-wide lock makes concurrent calls count exactly.
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

#define KEY "counter"

FAASM_MAIN_FUNC()
{
    int32_t count = 0;
    char text[16];

    faasmLockStateGlobal(KEY);
    /* A missing or malformed value counts as zero. */
    if (faasmReadStateSize(KEY) == sizeof(count)) {
        faasmReadState(KEY, BYTES(&count), sizeof(count));
    }
    count++;
    faasmWriteState(KEY, BYTES_CONST(&count), sizeof(count));
    faasmUnlockStateGlobal(KEY);

    snprintf(text, sizeof(text), "%d", (int)count);
    faasmSetOutput(BYTES_CONST(text), (long)strlen(text));
    return 0;
}
