/*
 * mmap as Faasm's runtime accepts it: PROT_EXEC, no MAP_PRIVATE/MAP_SHARED,
 * page-aligned results, exact-length munmap, a MAP_SHARED file mapping
 * written back by msync and munmap, mprotect as a no-op.
 */
#include <faasm/faasm.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                        \
    if (!(cond)) {                                                         \
        printf("failed: %s\n", #cond);                                     \
        return 1;                                                          \
    }

int main(void)
{
    char* a = mmap(NULL, 100, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* b = mmap(NULL, 3 * 65536 + 5, PROT_WRITE, MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED);
    CHECK((uintptr_t)a % 65536 == 0 && (uintptr_t)b % 65536 == 0);
    CHECK(a[99] == 0 && b[3 * 65536 + 4] == 0);
    memset(b, 7, 3 * 65536 + 5);
    CHECK(mprotect(b, 65536, PROT_READ) == 0);
    CHECK(munmap(a, 99) == -1 && errno == EINVAL);
    CHECK(munmap(a + 1, 100) == -1);
    CHECK(munmap(a, 100) == 0 && munmap(b, 3 * 65536 + 5) == 0);
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);

    int fd = open("faasm://mapped.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "abcdefgh", 8) == 8);
    char* file = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(file != MAP_FAILED && memcmp(file, "abcdefgh", 8) == 0);
    file[0] = 'X';
    CHECK(msync(file, 8, MS_SYNC) == 0);
    char back[9] = { 0 };
    CHECK(pread(fd, back, 8, 0) == 8 && strcmp(back, "Xbcdefgh") == 0);
    file[7] = 'Y';
    CHECK(munmap(file, 8) == 0);
    CHECK(pread(fd, back, 8, 0) == 8 && strcmp(back, "XbcdefgY") == 0);
    close(fd);
    faasmSetOutput(back, 8);
    return 0;
}
