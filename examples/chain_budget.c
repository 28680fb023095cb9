/*
 * chain_budget: chains that test the platform's chain budgets and cancel.
 * Input "spin:MS" busy-loops MS milliseconds; "await:MS" chains "spin:MS"
 * and awaits it; "fork:MS" chains two "spin:MS" without awaiting, then spins;
 * "forever" chains two "forever" without awaiting (a runaway fan-out the
 * calls-per-request budget stops).
 */
#include <faasm/faasm.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spin(long ms)
{
    long end = now_ms() + ms;
    volatile long n = 0;
    while (now_ms() < end) {
        n++;
    }
}

static void chain(const char* input)
{
    faasmChainThisInput(0, BYTES_CONST(input), (long)strlen(input));
}

FAASM_MAIN_FUNC()
{
    char buf[64] = {0};
    long len = faasmGetInputSize();
    const char* out = "ok";
    faasmGetInput(BYTES(buf), len < 63 ? len : 63);

    if (strncmp(buf, "spin:", 5) == 0) {
        spin(strtol(buf + 5, NULL, 10));
        out = "spun";
    } else if (strncmp(buf, "await:", 6) == 0) {
        char arg[64] = "spin:";
        strncat(arg, buf + 6, sizeof(arg) - 6);
        unsigned int id = faasmChainThisInput(0, BYTES_CONST(arg), (long)strlen(arg));
        if (faasmAwaitCall(id) != 0) {
            return 1;
        }
        out = "awaited";
    } else if (strncmp(buf, "fork:", 5) == 0) {
        char arg[64] = "spin:";
        strncat(arg, buf + 5, sizeof(arg) - 6);
        chain(arg);
        chain(arg);
        spin(strtol(buf + 5, NULL, 10));
    } else if (strcmp(buf, "forever") == 0) {
        chain("forever");
        chain("forever");
    } else {
        return 2;
    }
    faasmSetOutput(BYTES_CONST(out), (long)strlen(out));
    return 0;
}
