/*
 * <time.h> for functions built with `faasm build`: wasi-libc's, plus, for
 * C++, clock_gettime and clock_getres taking Linux's integer clock IDs.
 * wasi-libc's clockid_t is a pointer (CLOCK_REALTIME is the address of a
 * constant), so code written for Faasm's older libc, where it was an int
 * (`clock_gettime(1, &ts)`, a clock ID in an int variable), does not compile
 * against it. Linux's IDs of the two clocks wasi-libc has map to them:
 * CLOCK_REALTIME (0) and CLOCK_MONOTONIC (1); any other fails with EINVAL, as
 * Linux answers an unknown clock.
 */
#ifndef FAASM_POSIX_TIME_H
#define FAASM_POSIX_TIME_H

#include_next <time.h>

#ifdef __cplusplus
#include <errno.h>

extern "C++" {
/* The clock of a Linux clock ID; NULL for one wasi-libc does not have. */
inline clockid_t __faasm_clock_of_id(int id)
{
    switch (id) {
        case 0: return CLOCK_REALTIME;
        case 1: return CLOCK_MONOTONIC;
        default: return nullptr;
    }
}

inline int clock_gettime(int id, struct timespec* ts)
{
    clockid_t clock = __faasm_clock_of_id(id);
    if (clock == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return clock_gettime(clock, ts);
}

inline int clock_getres(int id, struct timespec* res)
{
    clockid_t clock = __faasm_clock_of_id(id);
    if (clock == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return clock_getres(clock, res);
}
}
#endif

#endif /* FAASM_POSIX_TIME_H */
