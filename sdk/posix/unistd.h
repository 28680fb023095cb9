/*
 * <unistd.h> for functions built with `faasm build`: wasi-libc's, plus the
 * user and group IDs Faasm's wasi-libc declares (WASI has no users). The
 * definitions are in sdk/lib/posix.c; this directory is on the include path
 * of wasm builds only, never of native ones.
 */
#ifndef FAASM_POSIX_UNISTD_H
#define FAASM_POSIX_UNISTD_H

#include_next <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

uid_t getuid(void);
uid_t geteuid(void);
gid_t getgid(void);
gid_t getegid(void);

#ifdef __cplusplus
}
#endif

#endif /* FAASM_POSIX_UNISTD_H */
