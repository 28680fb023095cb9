/*
 * faasm/counter.h - an int counter kept in state (C++), from older Faasm
 * releases. The optional `async` argument of those releases is accepted
 * and ignored: writes here always push.
 */
#ifndef FAASM_COUNTER_H
#define FAASM_COUNTER_H

#include "faasm/core.h"

#ifdef __cplusplus
namespace faasm {

inline void initCounter(const char* key, bool async = false)
{
    (void)async;
    int zero = 0;
    faasmWriteState(key, reinterpret_cast<uint8_t*>(&zero), sizeof(int));
}

/* The counter's value (0 if the key holds nothing yet). */
inline int getCounter(const char* key, bool async = false)
{
    (void)async;
    int value = 0;
    if (faasmReadStateSize(key) >= sizeof(int)) {
        faasmReadState(key, reinterpret_cast<uint8_t*>(&value), sizeof(int));
    }
    return value;
}

inline void incrementCounter(const char* key, bool async = false)
{
    int value = getCounter(key, async) + 1;
    faasmWriteState(key, reinterpret_cast<uint8_t*>(&value), sizeof(int));
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_COUNTER_H */
