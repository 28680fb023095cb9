/*
 * The POSIX calls the SDK adds to wasi-libc (sdk/lib/posix.c), used as
 * Faasm functions use them. The input picks what to check:
 *
 *   "ids"              "uid=1000 euid=1000 gid=1000 egid=1000"
 *   "users:a,b,..."    each user by getpwnam, as /etc/passwd lines; checks
 *                      getpwuid and the _r forms give the same entry
 *   "unknown"          "none" when neither call knows uid 4242 or "ghost"
 *   "tty"              isatty of 0, 1, 2 and of an open file: "1 1 1 0"
 *   "wait"             waitpid/wait as Faasm answers them: "ok"
 *   "socket"           no network: socket, connect, bind, listen fail: "ok"
 */
#include <errno.h>
#include <faasm/faasm.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096];

static int fail(const char* why)
{
    faasmSetOutput(why, strlen(why));
    printf("%s (errno %d)\n", why, errno);
    return 1;
}

static int same(const struct passwd* a, const struct passwd* b)
{
    return a != NULL && b != NULL && strcmp(a->pw_name, b->pw_name) == 0 &&
           strcmp(a->pw_passwd, b->pw_passwd) == 0 && a->pw_uid == b->pw_uid &&
           a->pw_gid == b->pw_gid && strcmp(a->pw_gecos, b->pw_gecos) == 0 &&
           strcmp(a->pw_dir, b->pw_dir) == 0 && strcmp(a->pw_shell, b->pw_shell) == 0;
}

static int users(char* names)
{
    size_t used = 0;
    for (char* name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
        struct passwd* pw = getpwnam(name);
        if (pw == NULL) {
            return fail("getpwnam found nobody");
        }
        if (!same(pw, getpwuid(pw->pw_uid))) {
            return fail("getpwuid and getpwnam disagree");
        }
        struct passwd copy, *found = NULL;
        char buf[256], tiny[4];
        if (getpwuid_r(pw->pw_uid, &copy, buf, sizeof(buf), &found) != 0 || found != &copy ||
            !same(&copy, pw) || copy.pw_name == pw->pw_name) {
            return fail("getpwuid_r");
        }
        if (getpwnam_r(name, &copy, tiny, sizeof(tiny), &found) != ERANGE || found != NULL) {
            return fail("getpwnam_r with a small buffer is not ERANGE");
        }
        used += snprintf(out + used, sizeof(out) - used, "%s:%s:%u:%u:%s:%s:%s\n", pw->pw_name,
                         pw->pw_passwd, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
                         pw->pw_gecos, pw->pw_dir, pw->pw_shell);
    }
    faasmSetOutput(out, used);
    return 0;
}

static int wait_checks(void)
{
    int status = 12345;
    if (waitpid(123, &status, WNOHANG) != 123 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        return fail("waitpid(123) did not answer 123, exited 0");
    }
    errno = 0;
    if (waitpid(-1, &status, 0) != -1 || errno != ECHILD) {
        return fail("waitpid(-1) is not ECHILD");
    }
    errno = 0;
    if (wait(&status) != -1 || errno != ECHILD) {
        return fail("wait is not ECHILD");
    }
    faasmSetOutput("ok", 2);
    return 0;
}

static int socket_checks(void)
{
    errno = 0;
    if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EACCES) {
        return fail("socket did not fail with EACCES");
    }
    struct sockaddr addr = { 0 };
    errno = 0;
    if (connect(99, &addr, sizeof(addr)) != -1 || errno != EBADF) {
        return fail("connect of a closed descriptor is not EBADF");
    }
    int fd = open("/tmp/not-a-socket", O_CREAT | O_RDWR, 0600);
    errno = 0;
    if (fd < 0 || connect(fd, &addr, sizeof(addr)) != -1 || errno != ENOTSOCK) {
        return fail("connect of a file is not ENOTSOCK");
    }
    errno = 0;
    if (bind(fd, &addr, sizeof(addr)) != -1 || errno != ENOTSOCK || listen(fd, 1) != -1) {
        return fail("bind/listen of a file did not fail");
    }
    close(fd);
    faasmSetOutput("ok", 2);
    return 0;
}

int main(void)
{
    char input[1024] = { 0 };
    faasmGetInput((uint8_t*)input, sizeof(input) - 1);

    if (strcmp(input, "ids") == 0) {
        int n = snprintf(out, sizeof(out), "uid=%u euid=%u gid=%u egid=%u", (unsigned)getuid(),
                         (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
        faasmSetOutput(out, n);
        return 0;
    }
    if (strncmp(input, "users:", 6) == 0) {
        return users(input + 6);
    }
    if (strcmp(input, "unknown") == 0) {
        struct passwd copy, *found = &copy;
        char buf[256];
        if (getpwuid(4242) != NULL || getpwnam("ghost") != NULL ||
            getpwuid_r(4242, &copy, buf, sizeof(buf), &found) != 0 || found != NULL) {
            return fail("an unknown user was found");
        }
        faasmSetOutput("none", 4);
        return 0;
    }
    if (strcmp(input, "tty") == 0) {
        int fd = open("/etc/hosts", O_RDONLY);
        if (fd < 0) {
            return fail("cannot open /etc/hosts");
        }
        int n = snprintf(out, sizeof(out), "%d %d %d %d", isatty(0), isatty(1), isatty(2),
                         isatty(fd));
        faasmSetOutput(out, n);
        return 0;
    }
    if (strcmp(input, "socket") == 0) {
        return socket_checks();
    }
    if (strcmp(input, "wait") == 0) {
        return wait_checks();
    }
    return fail("unknown mode");
}
