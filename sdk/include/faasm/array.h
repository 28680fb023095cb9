/*
 * faasm/array.h - an array of T held in state (C++), as in Faasm: elements
 * are read and written through a pointer to the local copy; every element
 * accessed with [] is marked dirty, and push() writes the dirty ones.
 */
#ifndef FAASM_ARRAY_H
#define FAASM_ARRAY_H

#include "faasm/core.h"
#include "faasm/state.h"

#ifdef __cplusplus
#include <cstddef>

namespace faasm {

template<typename T>
class AsyncArray
{
  public:
    AsyncArray(const char* key, size_t n_elems)
      : key(key)
      , nElems(n_elems)
      , bytesSize(n_elems * sizeof(T))
      , contents(nullptr)
    {}

    /* Sets every element to zero bytes (pushed) and maps the copy. */
    void zero()
    {
        zeroState(key, bytesSize);
        pullLazy();
    }

    T& operator[](int idx)
    {
        faasmFlagStateOffsetDirty(key, static_cast<long>(bytesSize),
                                  static_cast<long>(idx * sizeof(T)),
                                  sizeof(T));
        return contents[idx];
    }

    /* Maps the local copy without refreshing it from the global value. */
    void pullLazy()
    {
        contents = reinterpret_cast<T*>(
            faasmReadStatePtr(key, static_cast<long>(bytesSize)));
    }

    /* Refreshes the local copy from the global value and maps it. */
    void pull()
    {
        faasmPullState(key, static_cast<long>(bytesSize));
        pullLazy();
    }

    void push() { faasmPushStatePartial(key); }

    T* data() { return contents; }

    size_t size() const { return nElems; }

  private:
    const char* key;
    size_t nElems;
    size_t bytesSize;
    T* contents;
};

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_ARRAY_H */
