/*
 * The C allocator of every function built with `faasm build`: Doug Lea's
 * dlmalloc 2.8.6 (public domain, sdk/lib/dlmalloc/malloc.c, as Debian's
 * emscripten package ships it), configured as wasi-libc configures it, which is
 * the allocator Faasm's toolchain links. Zig's libc for WASI allocates by size
 * class instead, each class in pages of its own, so a freed block is never
 * reused for a request of another size; Faasm's functions count on dlmalloc's
 * coalescing and reuse (faasm/cpp's and faasm/faasm's `malloc` demo frees its
 * blocks and expects the next, larger block at the first one's address;
 * docs/MOVING_FROM_FAASM.md, "The allocator").
 *
 * The heap grows with memory.grow (morecore below); memory grown by someone
 * else in between makes dlmalloc start a new segment, as it does over sbrk.
 * One thread: a function is one. Zig's definitions are weak and these are
 * not, so a function that defines malloc itself gets a duplicate symbol, and
 * builds with -DFAASM_LIBC_MALLOC, which leaves this file empty.
 */

#ifndef FAASM_LIBC_MALLOC

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define WASM_PAGE 65536

/* sbrk over memory.grow: the current end of memory for 0, else the old end
 * after growing by whole pages (dlmalloc asks in multiples of its 64 KiB
 * granularity); it never shrinks. */
static void* faasm_morecore(intptr_t increment)
{
    uintptr_t end = __builtin_wasm_memory_size(0) * WASM_PAGE;
    if (increment == 0) {
        return (void*)end;
    }
    if (increment < 0 || (uintptr_t)increment % WASM_PAGE != 0) {
        errno = ENOMEM;
        return (void*)-1;
    }
    if (__builtin_wasm_memory_grow(0, (uintptr_t)increment / WASM_PAGE) == (size_t)-1) {
        errno = ENOMEM;
        return (void*)-1;
    }
    return (void*)end;
}

/* wasi-libc's configuration of dlmalloc (its dlmalloc/src/dlmalloc.c). */
#define HAVE_MMAP 0
#define HAVE_MREMAP 0
#define MORECORE faasm_morecore
#define MORECORE_CANNOT_TRIM 1
#define DEFAULT_GRANULARITY WASM_PAGE
#define USE_LOCKS 0
#define USE_DL_PREFIX 1
#define DLMALLOC_EXPORT static inline
#define MALLOC_ALIGNMENT 16
#define NO_MALLOC_STATS 1
#define LACKS_TIME_H 1
#define LACKS_SYS_PARAM_H 1
#define LACKS_SCHED_H 1
#define ABORT __builtin_trap()
#define MALLOC_FAILURE_ACTION errno = ENOMEM;

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wnull-pointer-arithmetic"
#pragma clang diagnostic ignored "-Wexpansion-to-defined"
#include "dlmalloc/malloc.c"
#pragma clang diagnostic pop

void* malloc(size_t size) { return dlmalloc(size); }
void free(void* ptr) { dlfree(ptr); }
void* calloc(size_t count, size_t size) { return dlcalloc(count, size); }
void* realloc(void* ptr, size_t size) { return dlrealloc(ptr, size); }
void* memalign(size_t alignment, size_t size) { return dlmemalign(alignment, size); }
void* valloc(size_t size) { return dlvalloc(size); }
size_t malloc_usable_size(void* ptr) { return dlmalloc_usable_size(ptr); }

int posix_memalign(void** out, size_t alignment, size_t size)
{
    return dlposix_memalign(out, alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size)
{
    /* C11: the alignment must be a power of two (dlmemalign rounds others up). */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return dlmemalign(alignment, size);
}

void* reallocarray(void* ptr, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return dlrealloc(ptr, total);
}

#endif /* FAASM_LIBC_MALLOC */
