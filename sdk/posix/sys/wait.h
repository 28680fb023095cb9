/*
 * <sys/wait.h> for functions built with `faasm build`. wasi-libc's does not
 * compile for wasm32-wasi (it needs siginfo_t, which WASI lacks), so this one
 * replaces it: wait and waitpid (sdk/lib/posix.c) and the status macros with
 * their usual encoding. A function has no child processes; waitpid answers
 * as Faasm's runtime does (docs/MOVING_FROM_FAASM.md).
 */
#ifndef _SYS_WAIT_H
#define _SYS_WAIT_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

pid_t wait(int* status);
pid_t waitpid(pid_t pid, int* status, int options);

#ifdef __cplusplus
}
#endif

/* <stdlib.h> defines some of these too: each only once. */
#ifndef WNOHANG
#define WNOHANG 1
#endif
#ifndef WUNTRACED
#define WUNTRACED 2
#endif
#ifndef WSTOPPED
#define WSTOPPED 2
#endif
#ifndef WEXITED
#define WEXITED 4
#endif
#ifndef WCONTINUED
#define WCONTINUED 8
#endif
#ifndef WNOWAIT
#define WNOWAIT 0x1000000
#endif
#ifndef WEXITSTATUS
#define WEXITSTATUS(s) (((s) & 0xff00) >> 8)
#endif
#ifndef WTERMSIG
#define WTERMSIG(s) ((s) & 0x7f)
#endif
#ifndef WSTOPSIG
#define WSTOPSIG(s) WEXITSTATUS(s)
#endif
#ifndef WIFEXITED
#define WIFEXITED(s) (!WTERMSIG(s))
#endif
#ifndef WIFSTOPPED
#define WIFSTOPPED(s) ((short)((((s) & 0xffff) * 0x10001U) >> 8) > 0x7f00)
#endif
#ifndef WIFSIGNALED
#define WIFSIGNALED(s) (((s) & 0xffff) - 1U < 0xffu)
#endif
#ifndef WIFCONTINUED
#define WIFCONTINUED(s) ((s) == 0xffff)
#endif

#endif /* _SYS_WAIT_H */
