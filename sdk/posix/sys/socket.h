/*
 * <sys/socket.h> for functions built with `faasm build`: wasi-libc's, plus
 * socket, connect, bind and listen, which Faasm's libc declared and WASI
 * (preview 1) lacks. A function has no network here, so each fails as Linux
 * answers a sandbox that forbids sockets (sdk/lib/posix.c): code that opens a
 * socket compiles, and its call sees the error.
 */
#ifndef FAASM_POSIX_SYS_SOCKET_H
#define FAASM_POSIX_SYS_SOCKET_H

#include_next <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !(defined __wasilibc_unmodified_upstream) && !(defined __wasilibc_use_wasip2)
int socket(int domain, int type, int protocol);
int connect(int fd, const struct sockaddr* addr, socklen_t len);
int bind(int fd, const struct sockaddr* addr, socklen_t len);
int listen(int fd, int backlog);
#endif

#ifdef __cplusplus
}
#endif

#endif /* FAASM_POSIX_SYS_SOCKET_H */
