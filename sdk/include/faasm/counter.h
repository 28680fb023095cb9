/*
 * faasm/counter.h - an int counter kept in state (C++), from older Faasm
 * releases, and AtomicInt. The optional `async` argument of those releases
 * is accepted and ignored: writes here always push.
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

/* Adds `increment` (default 1) to the counter. Not atomic across calls:
 * use AtomicInt for that. */
inline void incrementCounter(const char* key, int increment, bool async = false)
{
    int value = getCounter(key, async) + increment;
    faasmWriteState(key, reinterpret_cast<uint8_t*>(&value), sizeof(int));
}

inline void incrementCounter(const char* key, bool async = false)
{
    incrementCounter(key, 1, async);
}

/*
 * An int in state that every call of the user changes atomically: each
 * change holds the key's global lock while it reads, adds and pushes.
 */
class AtomicInt
{
  public:
    explicit AtomicInt(const char* key = "faasm_atomic_int")
      : key(key)
    {}

    /* The current value, read from the global value. */
    int get()
    {
        faasmPullState(key, sizeof(int));
        return getCounter(key);
    }

    /* Sets the value to 0. */
    void reset() { set(0); }

    void set(int value)
    {
        faasmLockStateGlobal(key);
        faasmWriteState(key, reinterpret_cast<uint8_t*>(&value), sizeof(int));
        faasmUnlockStateGlobal(key);
    }

    AtomicInt& operator+=(int increment)
    {
        faasmLockStateGlobal(key);
        faasmPullState(key, sizeof(int));
        incrementCounter(key, increment);
        faasmUnlockStateGlobal(key);
        return *this;
    }

    AtomicInt& operator-=(int decrement) { return *this += -decrement; }

    AtomicInt& operator=(int value)
    {
        set(value);
        return *this;
    }

    operator int() { return get(); }

  private:
    const char* key;
};

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_COUNTER_H */
