// What code written for Faasm's older (musl-based) libc calls and wasi-libc
// spells differently: __errno_location(), integer clock IDs (sdk/posix/).
#include <errno.h>
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int main()
{
    char out[200];
    int* where = __errno_location();
    struct stat s {};
    int missing = stat("no/such/file", &s);
    int same = where == &errno && *where == ENOENT;

    timespec ts {};
    int bad = clock_gettime(12345, &ts);
    int badErrno = errno;
    timespec mono {}, real {}, real2 {}, res {};
    int monoOk = clock_gettime(1, &mono) == 0 && (mono.tv_sec > 0 || mono.tv_nsec > 0);
    int realOk = clock_gettime(0, &real) == 0 && real.tv_sec > 1500000000;
    int pointerOk = clock_gettime(CLOCK_REALTIME, &real2) == 0 && real2.tv_sec >= real.tv_sec;
    int resOk = clock_getres(1, &res) == 0;

    snprintf(out, sizeof(out), "stat=%d errno_location=%d bad_clock=%d einval=%d mono=%d real=%d "
             "pointer=%d res=%d", missing, same, bad, badErrno == EINVAL, monoOk, realOk,
             pointerOk, resOk);
    faasmSetOutput(out, strlen(out));
    return 0;
}
