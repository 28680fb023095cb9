/*
 * faasm/compare.h - comparing arrays (C++), as in Faasm. On a difference
 * it prints both arrays to stdout and returns false.
 */
#ifndef FAASM_COMPARE_H
#define FAASM_COMPARE_H

#include "faasm/print.h"

#ifdef __cplusplus
namespace faasm {

template<typename T>
bool compareArrays(T* a, T* b, int len)
{
    for (int i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            printf("Arrays not equal: A=");
            printArray<T>(a, static_cast<size_t>(len));
            printf(" B=");
            printArray<T>(b, static_cast<size_t>(len));
            printf("\n");
            return false;
        }
    }
    return true;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_COMPARE_H */
