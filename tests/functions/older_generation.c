/*
 * A function as Faasm's older toolchains built them: the host calls with the
 * older types, entry functions that are not exported, and main dispatching
 * on __faasm_get_idx. Entry 1 upper-cases its input; main chains entry 1
 * with its own input and reads the result through the older
 * __faasm_await_call_output(call_id, buf, buf_len).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

IMPORT(__faasm_get_idx) int get_idx(void);
IMPORT(__faasm_read_input) long read_input(unsigned char* buf, long len);
IMPORT(__faasm_write_output) void write_output(const unsigned char* buf, long len);
IMPORT(__faasm_chain_this) unsigned int chain_this(int idx, const unsigned char* in,
                                                   long len);
IMPORT(__faasm_await_call_output) int await_call_output(unsigned int id,
                                                        unsigned char* buf, long len);

static unsigned char input[64];

int _faasm_func_1(void)
{
    long n = read_input(input, sizeof(input));
    for (long i = 0; i < n && i < (long)sizeof(input); i++) {
        input[i] = (unsigned char)toupper(input[i]);
    }
    write_output(input, n);
    return 0;
}

int _faasm_func_0(void)
{
    unsigned char reply[8] = { 0 }; /* shorter than some replies: truncated */
    char text[64];
    long n = read_input(input, sizeof(input));
    unsigned int id = chain_this(1, input, n);
    int result = await_call_output(id, reply, sizeof(reply));
    int len = snprintf(text, sizeof(text), "main got %.8s (%d)", (char*)reply, result);
    write_output((unsigned char*)text, len);
    return 0;
}

int main(void)
{
    switch (get_idx()) {
        case 0:
            return _faasm_func_0();
        case 1:
            return _faasm_func_1();
        default:
            return 99;
    }
}
