/*
 * A zygote that sets globals, a heap string and a block past the initial
 * memory, and counts its runs in state. Each call reports what it sees,
 * then changes it all (which the next call must not see).
 * Built with -DZYGOTE_FAILS=<n>, the zygote returns n instead.
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG (8 * 1024 * 1024)

static int counter = 1;
static char* text = NULL;
static unsigned char* big = NULL;

FAASM_ZYGOTE()
{
#ifdef ZYGOTE_FAILS
    return ZYGOTE_FAILS;
#endif
    int runs = 0;
    if (faasmReadStateSize("zygote_runs") == sizeof(int)) {
        faasmReadState("zygote_runs", (uint8_t*)&runs, sizeof(int));
    }
    runs++;
    faasmWriteState("zygote_runs", (uint8_t*)&runs, sizeof(int));
    counter += 5;
    text = strdup("made by the zygote");
    big = malloc(BIG);
    memset(big, 7, BIG);
    faasmSetOutput("set by the zygote", 17); /* never a call's output */
    return faasmGetInputSize() == 0 ? 0 : 3; /* the zygote sees no input */
}

int main(void)
{
    char out[128];
    if (faasmGetInputSize() == 5) { /* "quiet": no output of its own */
        return 0;
    }
    int big_ok = big != NULL && big[0] == 7 && big[BIG - 1] == 7;
    int len = snprintf(out, sizeof(out), "counter=%d text=%s big=%d", counter,
                       text ? text : "(none)", big_ok);
    counter += 100;
    if (text != NULL) {
        text[0] = 'X';
    }
    if (big != NULL) {
        memset(big, 0, BIG);
    }
    faasmSetOutput(out, len);
    return 0;
}
