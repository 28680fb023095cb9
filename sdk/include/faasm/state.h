/*
 * faasm/state.h - state helpers (C++), as in Faasm.
 */
#ifndef FAASM_STATE_H
#define FAASM_STATE_H

#include <stddef.h>

#include "faasm/core.h"

#define BIT_MASK_8 0xFFu
#define BIT_MASK_32 0xFFFFFFFFu

#ifdef __cplusplus
namespace faasm {

/* Marks element idx of an array of doubles in a mask of unsigned ints (two
 * per double), for faasmPushStatePartialMask. */
inline void maskDouble(unsigned int* mask, unsigned long idx)
{
    mask[2 * idx] |= BIT_MASK_32;
    mask[2 * idx + 1] |= BIT_MASK_32;
}

/* Sets the value at key to state_len zero bytes and pushes it. */
inline void zeroState(const char* key, size_t state_len)
{
    uint8_t* zeros = new uint8_t[state_len > 0 ? state_len : 1]();
    faasmWriteState(key, zeros, static_cast<long>(state_len));
    faasmPushState(key);
    delete[] zeros;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_STATE_H */
