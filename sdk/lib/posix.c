/*
 * POSIX calls wasi-libc lacks and Faasm's wasi-libc fork gives, compiled into
 * every function built with `faasm build` (declared by sdk/posix/ and
 * wasi-libc's <pwd.h>). They answer as Faasm's runtime does, from inside the
 * function: none of them reaches the host.
 *
 * - One user: getuid/geteuid are 1000 and getgid/getegid 1000, Faasm's
 *   "faasm" user. getpwuid/getpwnam (and their _r forms) know the users of
 *   the read-only /etc/passwd every call sees (faasm/runtime/environment.py
 *   writes it; a test checks the two agree).
 * - isatty: standard input, output and error are terminals, as Faasm's
 *   runtime reports them (character devices that cannot seek); any other
 *   descriptor is asked of WASI.
 * - No child processes: waitpid(pid > 0) returns pid with a status of "exited
 *   with 0", as Faasm's runtime answers; wait and waitpid for any child
 *   (pid <= 0) fail with ECHILD.
 * - __errno_location: musl's name for errno's address, which Faasm's older
 *   libc had; wasi-libc keeps errno in a variable.
 * - No network: socket fails with EACCES (Linux's answer when creating a
 *   socket is not permitted); connect, bind and listen with EBADF for a
 *   descriptor that is not open and ENOTSOCK for one that is (no descriptor
 *   a function has is a socket it could connect).
 *
 * Every definition is weak: a function that defines one of these itself (as
 * ported code often does to build for WASI) keeps its own.
 */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAASM_UID 1000
#define FAASM_GID 1000
#define FAASM_WEAK __attribute__((weak))

FAASM_WEAK uid_t getuid(void) { return FAASM_UID; }
FAASM_WEAK uid_t geteuid(void) { return FAASM_UID; }
FAASM_WEAK gid_t getgid(void) { return FAASM_GID; }
FAASM_WEAK gid_t getegid(void) { return FAASM_GID; }

/* The entries of /etc/passwd (faasm/runtime/environment.py), in its order. */
static const struct passwd faasm_users[] = {
    { "root", "x", 0, 0, "root", "/", "/bin/false" },
    { "faasm", "x", FAASM_UID, FAASM_GID, "faasm", "/", "/bin/false" },
    { "nobody", "x", 65534, 65534, "nobody", "/nonexistent", "/bin/false" },
};
#define FAASM_N_USERS (sizeof(faasm_users) / sizeof(faasm_users[0]))

static const struct passwd* faasm_user_by_uid(uid_t uid)
{
    for (size_t i = 0; i < FAASM_N_USERS; i++) {
        if (faasm_users[i].pw_uid == uid) {
            return &faasm_users[i];
        }
    }
    return NULL;
}

static const struct passwd* faasm_user_by_name(const char* name)
{
    for (size_t i = 0; name != NULL && i < FAASM_N_USERS; i++) {
        if (strcmp(faasm_users[i].pw_name, name) == 0) {
            return &faasm_users[i];
        }
    }
    return NULL;
}

/* As libc's, the answer is a static copy the next call overwrites. */
static struct passwd* faasm_user_answer(const struct passwd* found)
{
    static struct passwd answer;
    if (found == NULL) {
        return NULL;
    }
    answer = *found;
    return &answer;
}

FAASM_WEAK struct passwd* getpwuid(uid_t uid)
{
    return faasm_user_answer(faasm_user_by_uid(uid));
}

FAASM_WEAK struct passwd* getpwnam(const char* name)
{
    return faasm_user_answer(faasm_user_by_name(name));
}

/* Copies `from` into `pw`, its strings into buf; ERANGE if buf is too small. */
static int faasm_user_copy(const struct passwd* from, struct passwd* pw, char* buf,
                           size_t size, struct passwd** result)
{
    *result = NULL;
    if (from == NULL) {
        return 0;
    }
    const char* fields[5] = { from->pw_name, from->pw_passwd, from->pw_gecos,
                              from->pw_dir, from->pw_shell };
    char* copies[5];
    size_t used = 0;
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(fields[i]) + 1;
        if (n > size - used) {
            return ERANGE;
        }
        copies[i] = memcpy(buf + used, fields[i], n);
        used += n;
    }
    *pw = *from;
    pw->pw_name = copies[0];
    pw->pw_passwd = copies[1];
    pw->pw_gecos = copies[2];
    pw->pw_dir = copies[3];
    pw->pw_shell = copies[4];
    *result = pw;
    return 0;
}

FAASM_WEAK int getpwuid_r(uid_t uid, struct passwd* pw, char* buf, size_t size,
                          struct passwd** result)
{
    return faasm_user_copy(faasm_user_by_uid(uid), pw, buf, size, result);
}

FAASM_WEAK int getpwnam_r(const char* name, struct passwd* pw, char* buf, size_t size,
               struct passwd** result)
{
    return faasm_user_copy(faasm_user_by_name(name), pw, buf, size, result);
}

/* wasi-libc's own isatty, which asks WASI (fd_fdstat_get). */
int __isatty(int fd);

FAASM_WEAK int isatty(int fd)
{
    if (fd >= 0 && fd <= 2) {
        return 1;
    }
    return __isatty(fd);
}

FAASM_WEAK pid_t waitpid(pid_t pid, int* status, int options)
{
    (void)options;
    if (pid <= 0) {
        errno = ECHILD;
        return -1;
    }
    if (status != NULL) {
        *status = 0;
    }
    return pid;
}

FAASM_WEAK int* __errno_location(void)
{
    return &errno;
}

FAASM_WEAK int socket(int domain, int type, int protocol)
{
    (void)domain, (void)type, (void)protocol;
    errno = EACCES;
    return -1;
}

static int faasm_not_a_socket(int fd)
{
    errno = fcntl(fd, F_GETFL) < 0 ? EBADF : ENOTSOCK;
    return -1;
}

FAASM_WEAK int connect(int fd, const struct sockaddr* addr, socklen_t len)
{
    (void)addr, (void)len;
    return faasm_not_a_socket(fd);
}

FAASM_WEAK int bind(int fd, const struct sockaddr* addr, socklen_t len)
{
    (void)addr, (void)len;
    return faasm_not_a_socket(fd);
}

FAASM_WEAK int listen(int fd, int backlog)
{
    (void)backlog;
    return faasm_not_a_socket(fd);
}

FAASM_WEAK pid_t wait(int* status)
{
    (void)status;
    errno = ECHILD;
    return -1;
}

#ifdef __cplusplus
}
#endif
