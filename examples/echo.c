/* echo: the call's output is its input. */
#include <faasm/faasm.h>
#include <stdlib.h>

FAASM_MAIN_FUNC()
{
    long len = faasmGetInputSize();
    uint8_t* input = (uint8_t*)malloc(len > 0 ? (size_t)len : 1);
    if (input == NULL) {
        return 1;
    }
    faasmGetInput(input, len);
    faasmSetOutput(input, len);
    free(input);
    return 0;
}
