/*
 * state_offset: writes a slice of a 16-byte state value and outputs the
 * whole value. Input "OFFSET:TEXT" (default "4:abcd") writes TEXT at OFFSET;
 * a fresh value starts as 16 dots, so the default outputs "....abcd........".
 */
#include <faasm/faasm.h>
#include <stdlib.h>
#include <string.h>

#define KEY "offset_state"
#define TOTAL 16

FAASM_MAIN_FUNC()
{
    char input[64] = "4:abcd";
    long len = faasmGetInputSize();
    long offset;
    char* text;
    char* end;
    long text_len;
    uint8_t value[TOTAL];
    uint8_t* slice;

    if (len > 0) {
        if (len >= (long)sizeof(input)) {
            len = sizeof(input) - 1;
        }
        faasmGetInput(BYTES(input), len);
        input[len] = '\0';
    }
    offset = strtol(input, &end, 10);
    text = (*end == ':') ? end + 1 : end;
    text_len = (long)strlen(text);
    if (end == input || offset < 0 || offset + text_len > TOTAL) {
        const char* usage = "input must be OFFSET:TEXT within 16 bytes";
        faasmSetOutput(BYTES_CONST(usage), (long)strlen(usage));
        return 1;
    }

    /* Create the value the first time: the size of a missing value is 0. */
    if (faasmReadStateSize(KEY) != TOTAL) {
        memset(value, '.', TOTAL);
        faasmWriteState(KEY, value, TOTAL);
    }

    /* Change just the slice in the local copy, then push only that part. */
    faasmWriteStateOffset(KEY, TOTAL, offset, BYTES_CONST(text), text_len);
    faasmPushStatePartial(KEY);

    /* The slice reads back from the local copy... */
    slice = faasmReadStateOffsetPtr(KEY, TOTAL, offset, text_len);
    if (memcmp(slice, text, (size_t)text_len) != 0) {
        return 2;
    }
    /* ...and the whole value, after a pull, from the global one. */
    faasmPullState(KEY, TOTAL);
    faasmReadStateOffset(KEY, TOTAL, 0, value, TOTAL);
    faasmSetOutput(value, TOTAL);
    return 0;
}
