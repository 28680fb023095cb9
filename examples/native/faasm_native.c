/*
 * A native stand-in for the two host calls a CPU-bound function needs, so
 * the same source builds with the host's gcc/clang for a benchmark:
 *
 *   __faasm_read_input   the input is everything on standard input
 *   __faasm_write_output the output goes to standard output, with a newline
 *
 * Any other host call is left undefined: a native build using it fails to
 * link, which is the point.
 */
#include <faasm/host_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t* input;
static long input_len = -1;

static void read_stdin(void)
{
    size_t cap = 4096, len = 0, n;
    input = (uint8_t*)malloc(cap);
    while (input != NULL && (n = fread(input + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            input = (uint8_t*)realloc(input, cap);
        }
    }
    if (input == NULL) {
        fprintf(stderr, "out of memory reading input\n");
        exit(1);
    }
    input_len = (long)len;
}

long __faasm_read_input(unsigned char* buf, long buf_len)
{
    if (input_len < 0) {
        read_stdin();
    }
    if (buf_len > 0) {
        memcpy(buf, input, (size_t)(buf_len < input_len ? buf_len : input_len));
    }
    return input_len;
}

void __faasm_write_output(const char* data, long len)
{
    fwrite(data, 1, (size_t)len, stdout);
    fputc('\n', stdout);
}
