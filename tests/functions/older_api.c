/*
 * Faasm's older C API, built as C and as C++: state calls with the trailing
 * async flag, faasmChainThisInput, and faasmAwaitCallOutput into a buffer.
 * Entry 1 doubles each byte of its input; main writes state, reads it back,
 * chains entry 1 and answers "<state> <doubled bytes>".
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

FAASM_FUNC(doubler, 1)
{
    uint8_t buf[16];
    long n = faasmGetInputSize();
    faasmGetInput(buf, sizeof(buf));
    for (long i = 0; i < n; i++) {
        buf[i] = (uint8_t)(buf[i] * 2);
    }
    faasmSetOutput(buf, n);
    return 0;
}

FAASM_MAIN_FUNC()
{
    uint8_t value[4] = { 'a', 'b', 'c', 'd' };
    uint8_t back[4] = { 0 };
    uint8_t part[2] = { 0 };
    faasmWriteState("older", value, 4, false);
    faasmWriteStateOffset("older", 4, 1, (const uint8_t*)"XY", 2, true);
    faasmPushState("older");
    faasmReadState("older", back, 4, false);
    faasmReadStateOffset("older", 4, 2, part, 2, true);
    uint8_t* whole = faasmReadStatePtr("older", 4, false);
    uint8_t* tail = faasmReadStateOffsetPtr("older", 4, 3, 1, true);

    uint8_t input[3] = { 1, 2, 3 };
    uint8_t doubled[3] = { 0 };
    unsigned int id = faasmChainThisInput(1, input, sizeof(input));
    unsigned int failed = faasmAwaitCallOutput(id, doubled, sizeof(doubled));

    char out[64];
    int len = snprintf(out, sizeof(out), "%.4s %.2s %c%c %u %d%d%d", (char*)back,
                       (char*)part, whole[0], tail[0], failed, doubled[0],
                       doubled[1], doubled[2]);
    faasmSetOutput(out, len);
    return 0;
}
