/*
 * faasm/input.h - string and integer input helpers (C++), as in Faasm.
 *
 * Strings returned here are allocated with new[] and live until the
 * function frees them or the call ends.
 */
#ifndef FAASM_INPUT_H
#define FAASM_INPUT_H

#include "faasm/core.h"

#ifdef __cplusplus
#include <cstdlib>
#include <cstring>

namespace faasm {

/* The input as a NUL-terminated string, or default_value if there is none. */
inline const char* getStringInput(const char* default_value)
{
    long size = faasmGetInputSize();
    if (size <= 0) {
        return default_value;
    }
    char* text = new char[size + 1];
    faasmGetInput(reinterpret_cast<uint8_t*>(text), size);
    text[size] = '\0';
    return text;
}

/* Sets the output to a NUL-terminated string (without the NUL). */
inline void setStringOutput(const char* value)
{
    faasmSetOutput(value, static_cast<long>(std::strlen(value)));
}

/* The input parsed as a decimal integer (0 if there is no input). */
inline int getIntInput()
{
    return static_cast<int>(std::strtol(getStringInput("0"), nullptr, 10));
}

/* The first `expected` space-separated integers of text (missing ones 0). */
inline int* parseStringToIntArray(const char* text, int expected)
{
    int* result = new int[expected > 0 ? expected : 1]();
    const char* cursor = text;
    for (int i = 0; i < expected && cursor != nullptr && *cursor != '\0'; i++) {
        char* end = nullptr;
        result[i] = static_cast<int>(std::strtol(cursor, &end, 10));
        if (end == cursor) {
            break;
        }
        cursor = end;
    }
    return result;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_INPUT_H */
