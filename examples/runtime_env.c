/*
 * runtime_env: shows what a function sees around it. The input picks what
 * to report (the output is that report):
 *
 *   argv          argc and argv, joined with '|'
 *   env:NAME      the value of the environment variable NAME, or "(unset)"
 *   files         writes and reads back a file in the working directory and
 *                 in /tmp, reads /etc/hosts, lists "/", checks isatty
 *   leftover      whether a file an earlier call left in its scratch is seen
 *   escape        tries to leave the scratch directory (.., /etc and /lib
 *                 writes, symlinks, hard links) and reports what succeeded
 *   fill:N        writes N MiB to /tmp/big (a scratch quota test)
 *   stderr        writes a line to stderr and one to stdout
 *   flag:NAME     __faasm_conf_flag(NAME)
 */
#include <faasm/faasm.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[8192];

static void add(const char* text)
{
    strncat(out, text, sizeof(out) - strlen(out) - 1);
}

static int write_file(const char* path, const char* text)
{
    FILE* f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

static int read_file(const char* path, char* buf, size_t size)
{
    FILE* f = fopen(path, "r");
    size_t n;
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (int)n;
}

static void files(void)
{
    char buf[256], cwd[256];
    DIR* dir;
    struct dirent* entry;

    add(getcwd(cwd, sizeof(cwd)) ? cwd : "(no cwd)");
    add(write_file("here.txt", "in cwd") == 0 && read_file("here.txt", buf, sizeof(buf)) > 0
          ? "|cwd:" : "|cwd-failed:");
    add(buf);
    add(write_file("/tmp/t.txt", "in tmp") == 0 && read_file("/tmp/t.txt", buf, sizeof(buf)) > 0
          ? "|tmp:" : "|tmp-failed:");
    add(buf);
    add(read_file("/etc/hosts", buf, sizeof(buf)) > 0 && strstr(buf, "localhost")
          ? "|hosts:ok" : "|hosts:missing");
    add("|ls:");
    dir = opendir("/");
    while (dir != NULL && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') {
            add(entry->d_name);
            add(",");
        }
    }
    if (dir != NULL) {
        closedir(dir);
    }
    add(isatty(1) ? "|tty" : "|notty");
}

static void try_(const char* what, int ok)
{
    if (ok) {
        add(what);
        add(",");
    }
}

static void escape(void)
{
    char buf[64];
    add("escaped:");
    try_("dotdot", read_file("../../../../../etc/shadow", buf, sizeof(buf)) >= 0);
    try_("tmpdotdot", write_file("/tmp/../../../../../../x", "x") == 0
                        && read_file("/x", buf, sizeof(buf)) < 0);
    try_("etc-write", write_file("/etc/hosts", "evil") == 0);
    try_("etc-create", write_file("/etc/new", "evil") == 0);
    try_("lib-write", write_file("/lib/python3.8/os.pyc", "evil") == 0);
    try_("lib-create", write_file("/lib/new", "evil") == 0);
    try_("lib-dotdot", read_file("/lib/python3.8/../../../../etc/shadow", buf, sizeof(buf)) >= 0);
    try_("symlink", symlink("/etc/hosts", "link") == 0);
    try_("hardlink", write_file("a", "a") == 0 && link("a", "b") == 0);
    try_("shared-dotdot", read_file("faasm://../../../../etc/passwd", buf, sizeof(buf)) >= 0);
    add(write_file("leftover.txt", "left by an earlier call") == 0 ? "|wrote" : "|nowrite");
}

static int fill(long mib)
{
    static char block[1 << 20];
    FILE* f = fopen("/tmp/big", "w");
    long i;
    if (f == NULL) {
        return 1;
    }
    memset(block, 'x', sizeof(block));
    for (i = 0; i < mib; i++) {
        if (fwrite(block, 1, sizeof(block), f) != sizeof(block)) {
            snprintf(out, sizeof(out), "write failed after %ld MiB: %s", i, strerror(errno));
            fclose(f);
            return 0;
        }
        fflush(f);
    }
    fclose(f);
    snprintf(out, sizeof(out), "wrote %ld MiB", mib);
    return 0;
}

int main(int argc, char* argv[])
{
    char input[512] = "";
    long len = faasmGetInputSize();
    int i, status = 0;

    if (len >= (long)sizeof(input)) {
        len = sizeof(input) - 1;
    }
    faasmGetInput((void*)input, len);
    input[len] = '\0';

    if (strcmp(input, "argv") == 0) {
        snprintf(out, sizeof(out), "%d", argc);
        for (i = 0; i < argc; i++) {
            add("|");
            add(argv[i]);
        }
    } else if (strncmp(input, "env:", 4) == 0) {
        const char* value = getenv(input + 4);
        add(value ? value : "(unset)");
    } else if (strcmp(input, "files") == 0) {
        files();
    } else if (strcmp(input, "leftover") == 0) {
        char buf[64];
        add(read_file("leftover.txt", buf, sizeof(buf)) >= 0 ? "seen" : "clean");
    } else if (strcmp(input, "escape") == 0) {
        escape();
    } else if (strncmp(input, "fill:", 5) == 0) {
        status = fill(atol(input + 5));
    } else if (strcmp(input, "stderr") == 0) {
        fprintf(stderr, "to stderr\n");
        printf("to stdout\n");
        add("done");
    } else if (strncmp(input, "flag:", 5) == 0) {
        snprintf(out, sizeof(out), "%d", getConfFlag(input + 5) ? 1 : 0);
    } else {
        add("unknown request");
        status = 1;
    }
    faasmSetOutput((const void*)out, (long)strlen(out));
    return status;
}
