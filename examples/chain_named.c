/*
 * chain_named: chains the function "echo" of the same user (upload
 * examples/echo.c as "echo" first) with this call's input, and outputs what
 * echo returned, as "echo said: <input>".
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FAASM_MAIN_FUNC()
{
    long len = faasmGetInputSize();
    uint8_t* input = (uint8_t*)malloc((size_t)len + 1);
    unsigned int call_id;
    uint8_t* reply = NULL;
    long reply_len = 0;
    char* text;

    if (input == NULL) {
        return 1;
    }
    faasmGetInput(input, len);

    call_id = faasmChainNamed("echo", input, len);
    if (faasmAwaitCallOutput(call_id, &reply, &reply_len) != 0) {
        fprintf(stderr, "chained call %u to echo failed\n", call_id);
        return 1;
    }

    text = (char*)malloc((size_t)reply_len + 16);
    if (text == NULL) {
        return 1;
    }
    memcpy(text, "echo said: ", 11);
    memcpy(text + 11, reply, (size_t)reply_len);
    faasmSetOutput(BYTES_CONST(text), reply_len + 11);
    free(text);
    free(input);
    return 0;
}
