/*
 * mmap, munmap and mprotect for functions built with `faasm build`, in place
 * of wasi-libc's emulation, which refuses what Faasm's runtime accepts:
 * PROT_EXEC (wasm code is never in linear memory, so the flag can only be
 * ignored), and neither MAP_PRIVATE nor MAP_SHARED (taken as MAP_PRIVATE).
 *
 * A mapping is heap memory aligned to the wasm page (64 KiB, the PAGESIZE
 * wasi-libc reports), zeroed, or filled from the file with pread. A header
 * in the page before it lets munmap check it was given a mapping, and
 * lets msync write a MAP_SHARED file mapping back with pwrite (munmap does
 * too). Unmapping part of a mapping is refused (EINVAL), as in wasi-libc.
 * mprotect checks the range and changes nothing: linear memory has no
 * protection.
 */
#ifndef _WASI_EMULATED_MMAN
#define _WASI_EMULATED_MMAN
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAASM_MAP_PAGE 65536u
#define FAASM_MAP_MAGIC 0x6661616du /* "faam" */

struct faasm_map {
    unsigned int magic;
    int flags;
    int fd;
    off_t offset;
    size_t length;
};

static struct faasm_map* faasm_map_of(void* addr)
{
    uintptr_t at = (uintptr_t)addr;
    if (addr == NULL || at % FAASM_MAP_PAGE != 0) {
        return NULL;
    }
    struct faasm_map* map = (struct faasm_map*)(at - sizeof(struct faasm_map));
    return map->magic == FAASM_MAP_MAGIC ? map : NULL;
}

static int faasm_write_back(struct faasm_map* map, const char* data)
{
    if ((map->flags & MAP_SHARED) == 0 || (map->flags & MAP_ANONYMOUS) != 0) {
        return 0;
    }
    size_t done = 0;
    while (done < map->length) {
        ssize_t n = pwrite(map->fd, data + done, map->length - done,
                           map->offset + (off_t)done);
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        if (n > 0) {
            done += (size_t)n;
        }
    }
    return 0;
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd,
           off_t offset)
{
    (void)addr; /* a hint only, as without MAP_FIXED */
    (void)prot;
    if (length == 0 || (flags & MAP_FIXED) != 0 || offset < 0) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    size_t rounded = (length + FAASM_MAP_PAGE - 1) & ~(size_t)(FAASM_MAP_PAGE - 1);
    if (rounded < length || rounded + FAASM_MAP_PAGE < rounded) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    char* base = (char*)aligned_alloc(FAASM_MAP_PAGE, rounded + FAASM_MAP_PAGE);
    if (base == NULL) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    char* data = base + FAASM_MAP_PAGE;
    struct faasm_map* map = (struct faasm_map*)(data - sizeof(struct faasm_map));
    map->magic = FAASM_MAP_MAGIC;
    map->flags = flags;
    map->fd = fd;
    map->offset = offset;
    map->length = length;
    memset(data, 0, rounded);
    if ((flags & MAP_ANONYMOUS) == 0) {
        size_t done = 0;
        while (done < length) {
            ssize_t n = pread(fd, data + done, length - done, offset + (off_t)done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                int saved = errno;
                map->magic = 0;
                free(base);
                errno = saved;
                return MAP_FAILED;
            }
            if (n == 0) {
                break; /* past the end of the file: zeros, as a page would hold */
            }
            done += (size_t)n;
        }
    }
    return data;
}

int munmap(void* addr, size_t length)
{
    struct faasm_map* map = faasm_map_of(addr);
    if (map == NULL || length != map->length) {
        errno = EINVAL;
        return -1;
    }
    int result = faasm_write_back(map, (const char*)addr);
    map->magic = 0;
    free((char*)addr - FAASM_MAP_PAGE);
    return result;
}

int msync(void* addr, size_t length, int flags)
{
    (void)flags;
    struct faasm_map* map = faasm_map_of(addr);
    if (map == NULL || length > map->length) {
        errno = EINVAL;
        return -1;
    }
    return faasm_write_back(map, (const char*)addr);
}

int mprotect(void* addr, size_t length, int prot)
{
    (void)prot;
    uintptr_t begin = (uintptr_t)addr;
    uintptr_t end;
    if (begin % FAASM_MAP_PAGE != 0) {
        errno = EINVAL;
        return -1;
    }
    if (__builtin_add_overflow(begin, length, &end) ||
        end > __builtin_wasm_memory_size(0) * FAASM_MAP_PAGE) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

#ifdef __cplusplus
}
#endif
