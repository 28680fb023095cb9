/*
 * chain_output: chains a function of this module by pointer (faasmChain),
 * which upper-cases its input, and outputs that chained call's output.
 * Input "hello" outputs "HELLO".
 */
#include <ctype.h>
#include <faasm/faasm.h>
#include <stdlib.h>

FAASM_FUNC(shout, 1)
{
    long len = faasmGetInputSize();
    uint8_t* text = (uint8_t*)malloc((size_t)len + 1);
    long i;
    if (text == NULL) {
        return 1;
    }
    faasmGetInput(text, len);
    for (i = 0; i < len; i++) {
        text[i] = (uint8_t)toupper(text[i]);
    }
    faasmSetOutput(text, len);
    free(text);
    return 0;
}

FAASM_MAIN_FUNC()
{
    long len = faasmGetInputSize();
    uint8_t* input = (uint8_t*)malloc((size_t)len + 1);
    uint8_t* output = NULL;
    long output_len = 0;
    unsigned int call_id;

    if (input == NULL) {
        return 1;
    }
    faasmGetInput(input, len);
    call_id = faasmChain(shout, input, len);
    if (faasmAwaitCallOutput(call_id, &output, &output_len) != 0) {
        return 1;
    }
    /* output is the platform's copy in our memory: use it, don't free it. */
    faasmSetOutput(output, output_len);
    free(input);
    return 0;
}
