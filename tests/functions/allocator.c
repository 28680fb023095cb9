/* The SDK's allocator (sdk/lib/malloc.c) as Faasm's functions use it: freed
 * blocks are reused, small ones coalesced, at the addresses they had. The
 * input names a mode; the output says what happened. */

#include <faasm/faasm.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[256];

/* As faasm/faasm's `malloc` demo: 15 small blocks freed, then a larger one
 * lands where the first was. */
static void reuse(void)
{
    static const unsigned sizes[] = {8, 8, 32, 4, 240, 240, 56, 4, 12, 12, 24, 24, 24, 512, 512};
    void* blocks[15];
    for (int i = 0; i < 15; i++) {
        blocks[i] = malloc(sizes[i]);
    }
    for (int i = 0; i < 15; i++) {
        free(blocks[i]);
    }
    void* again = malloc(1024);
    snprintf(out, sizeof(out), "reused=%d", again == blocks[0]);
    free(again);
}

/* faasm/cpp's version: a 30 MiB block freed and allocated again. */
static void big(void)
{
    size_t size = 30u * 1024u * 1024u;
    char* a = malloc(size);
    memset(a, 7, size);
    free(a);
    char* b = malloc(size);
    snprintf(out, sizeof(out), "reused=%d", a == b && b != NULL);
    free(b);
}

/* Many blocks of many sizes, allocated, resized and freed in a scrambled
 * order, each filled with a pattern checked before it is freed. Now and then
 * memory is grown behind the allocator's back (as a host may place data), so
 * the heap continues in a region of its own. */
static void churn(void)
{
    enum { N = 512 };
    static unsigned char* blocks[N];
    static size_t lengths[N];
    uint32_t seed = 12345;
    int bad = 0;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        if (round % 5000 == 4999) {
            __builtin_wasm_memory_grow(0, 1);
        }
        int i = (int)((seed >> 8) % N);
        if (blocks[i] != NULL) {
            for (size_t k = 0; k < lengths[i]; k++) {
                bad += blocks[i][k] != (unsigned char)(i + k);
            }
            if (seed & 1u) {
                free(blocks[i]);
                blocks[i] = NULL;
                continue;
            }
            size_t grown = (seed >> 4) % 5000u + 1u;
            unsigned char* moved = realloc(blocks[i], grown);
            size_t kept = grown < lengths[i] ? grown : lengths[i];
            for (size_t k = 0; k < kept; k++) {
                bad += moved[k] != (unsigned char)(i + k);
            }
            blocks[i] = moved;
            lengths[i] = grown;
        } else {
            lengths[i] = (seed >> 3) % ((seed & 64u) ? 70000u : 300u);
            blocks[i] = (seed & 2u) ? calloc(1, lengths[i]) : malloc(lengths[i]);
            if ((seed & 2u)) {
                for (size_t k = 0; k < lengths[i]; k++) {
                    bad += blocks[i][k] != 0;
                }
            }
        }
        bad += blocks[i] == NULL || ((uintptr_t)blocks[i] & 15u) != 0;
        for (size_t k = 0; k < lengths[i]; k++) {
            blocks[i][k] = (unsigned char)(i + k);
        }
    }
    for (int i = 0; i < N; i++) {
        free(blocks[i]);
    }
    snprintf(out, sizeof(out), "bad=%d", bad);
}

/* Aligned allocations (mmap's are aligned to 64 KiB) and usable sizes. */
static void aligned(void)
{
    int bad = 0;
    for (size_t align = 32; align <= 65536; align *= 4) {
        void* p = aligned_alloc(align, 100);
        void* q = NULL;
        bad += p == NULL || ((uintptr_t)p % align) != 0;
        bad += posix_memalign(&q, align, 3000) != 0 || ((uintptr_t)q % align) != 0;
        bad += malloc_usable_size(q) < 3000;
        memset(p, 1, 100);
        memset(q, 2, 3000);
        free(p);
        free(q);
    }
    bad += posix_memalign(&(void*){NULL}, 24, 8) == 0; /* not a power of two */
    bad += malloc((size_t)-8) != NULL;
    snprintf(out, sizeof(out), "bad=%d", bad);
}

int main(void)
{
    char mode[32] = {0};
    faasmGetInput((uint8_t*)mode, sizeof(mode) - 1);
    if (strcmp(mode, "reuse") == 0) {
        reuse();
    } else if (strcmp(mode, "big") == 0) {
        big();
    } else if (strcmp(mode, "churn") == 0) {
        churn();
    } else if (strcmp(mode, "aligned") == 0) {
        aligned();
    } else {
        return 1;
    }
    faasmSetOutput(out, strlen(out));
    return 0;
}
