/*
 * faasm/print.h - printing arrays (C++), as in Faasm: "[1, 2, 3]" to stdout.
 */
#ifndef FAASM_PRINT_H
#define FAASM_PRINT_H

#include <stdio.h>

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>

namespace faasm {

inline void printElement(int value) { printf("%i", value); }
inline void printElement(unsigned int value) { printf("%u", value); }
inline void printElement(long value) { printf("%li", value); }
inline void printElement(long long value) { printf("%lli", value); }
inline void printElement(uint8_t value) { printf("%i", value); }
inline void printElement(char value) { printf("%i", value); }
inline void printElement(float value) { printf("%f", value); }
inline void printElement(double value) { printf("%f", value); }

template<typename T>
void printArray(T* data, size_t size)
{
    printf("[");
    for (size_t i = 0; i < size; i++) {
        printElement(data[i]);
        if (i + 1 < size) {
            printf(", ");
        }
    }
    printf("]");
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_PRINT_H */
