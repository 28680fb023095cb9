/*
 * The paths Faasm functions find in Faasm's runtime root: /etc/hosts,
 * /lib/python3.8 (the Python runtime's standard library) and a file of the
 * call's own written to state. The input picks what to do:
 *
 *   "hosts"        /etc/hosts mapped whole: "<size>:<contents>"
 *   "etc"          the names in /etc as readdir gives them: "<name>,<name>,..."
 *   "lib"          stats and lists /lib/python3.8/<dir> for encodings and
 *                  multiprocessing, tries to write there:
 *                  "dir:<ok|not> encodings:<entries> multiprocessing:<entries> write:<refused|done>"
 *   "state:PATH"   writes "blah blah foo foo" to /tmp/state_file, then sets
 *                  state key "from_file" from PATH: "<bytes written>:<value>"
 *   "host:PATH"    sets state key "from_file" from PATH alone: "<bytes written>"
 */
#include <dirent.h>
#include <errno.h>
#include <faasm/faasm.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[4096];

static int answer(int n)
{
    faasmSetOutput(out, n);
    return 0;
}

static int entries(const char* path)
{
    DIR* dir = opendir(path);
    int n = 0;
    struct dirent* entry;
    if (dir == NULL) {
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        n += entry->d_name[0] != '.';
    }
    closedir(dir);
    return n;
}

static int hosts(void)
{
    struct stat st;
    int fd = open("/etc/hosts", O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        return answer(snprintf(out, sizeof(out), "no /etc/hosts"));
    }
    char* data = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    return answer(snprintf(out, sizeof(out), "%lld:%.*s", (long long)st.st_size,
                           (int)st.st_size, data));
}

static int etc(void)
{
    DIR* dir = opendir("/etc");
    struct dirent* entry;
    int n = 0;
    if (dir == NULL) {
        return answer(snprintf(out, sizeof(out), "no /etc"));
    }
    while ((entry = readdir(dir)) != NULL && n < (int)sizeof(out) - 256) {
        n += snprintf(out + n, sizeof(out) - n, "%s,", entry->d_name);
    }
    closedir(dir);
    return answer(n);
}

static int lib(void)
{
    struct stat st, st_fd;
    const char* dir = "/lib/python3.8/multiprocessing";
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int ok = fd >= 0 && stat(dir, &st) == 0 && fstat(fd, &st_fd) == 0 &&
             S_ISDIR(st.st_mode) && st.st_ino == st_fd.st_ino && st.st_dev != 0 &&
             st.st_mtim.tv_sec != 0;
    int wfd = open("/lib/python3.8/new.py", O_WRONLY | O_CREAT, 0644);
    return answer(snprintf(out, sizeof(out), "dir:%s encodings:%d multiprocessing:%d write:%s",
                           ok ? "ok" : "not", entries("/lib/python3.8/encodings/"),
                           entries("/lib/python3.8/multiprocessing"),
                           wfd < 0 ? "refused" : "done"));
}

static int state(const char* path)
{
    const char* content = "blah blah foo foo";
    FILE* f = fopen("/tmp/state_file", "w");
    if (f == NULL) {
        return answer(snprintf(out, sizeof(out), "cannot write /tmp/state_file"));
    }
    fputs(content, f);
    fclose(f);
    unsigned long n = faasmWriteStateFromFile("from_file", path);
    char value[64] = { 0 };
    faasmReadState("from_file", (uint8_t*)value, n < sizeof(value) ? n : sizeof(value) - 1);
    return answer(snprintf(out, sizeof(out), "%lu:%s", n, value));
}

int main(void)
{
    char input[1024] = { 0 };
    faasmGetInput((uint8_t*)input, sizeof(input) - 1);
    if (strcmp(input, "hosts") == 0) {
        return hosts();
    }
    if (strcmp(input, "etc") == 0) {
        return etc();
    }
    if (strcmp(input, "lib") == 0) {
        return lib();
    }
    if (strncmp(input, "state:", 6) == 0) {
        return state(input + 6);
    }
    if (strncmp(input, "host:", 5) == 0) {
        return answer(snprintf(out, sizeof(out), "%lu",
                               faasmWriteStateFromFile("from_file", input + 5)));
    }
    return answer(snprintf(out, sizeof(out), "unknown mode"));
}
