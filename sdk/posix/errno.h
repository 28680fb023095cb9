/*
 * <errno.h> for functions built with `faasm build`: wasi-libc's, plus musl's
 * __errno_location(), which Faasm's older (musl-based) libc declared and
 * older functions call. wasi-libc keeps errno in a variable instead; the
 * definition (sdk/lib/posix.c) returns its address.
 */
#ifndef FAASM_POSIX_ERRNO_H
#define FAASM_POSIX_ERRNO_H

#include_next <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

int* __errno_location(void);

#ifdef __cplusplus
}
#endif

#endif /* FAASM_POSIX_ERRNO_H */
