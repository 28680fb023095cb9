/*
 * faasm/random.h - random numbers (C++), as in Faasm.
 */
#ifndef FAASM_RANDOM_H
#define FAASM_RANDOM_H

#ifdef __cplusplus
#include <algorithm>
#include <cstddef>
#include <random>
#include <string>

namespace faasm {

/* The generator behind these helpers, seeded once per instance. */
inline std::mt19937& randomEngine()
{
    static std::mt19937 engine{ std::random_device{}() };
    return engine;
}

/* A uniform integer in [start, end]. */
inline int randomInteger(int start, int end)
{
    return std::uniform_int_distribution<int>(start, end)(randomEngine());
}

/* A uniform float in [0, 1). */
inline float randomFloat()
{
    return std::uniform_real_distribution<float>(0.0f, 1.0f)(randomEngine());
}

inline void shuffleArray(int* values, size_t len)
{
    std::shuffle(values, values + len, randomEngine());
}

/* 0 .. len-1 in random order, allocated with new[]. */
inline int* randomIntRange(int len)
{
    int* range = new int[len > 0 ? len : 1];
    for (int i = 0; i < len; i++) {
        range[i] = i;
    }
    shuffleArray(range, static_cast<size_t>(len > 0 ? len : 0));
    return range;
}

/* len random characters from [1-9A-Za-z]. */
inline std::string randomString(int len)
{
    static const char alphabet[] =
        "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::uniform_int_distribution<int> pick(0, sizeof(alphabet) - 2);
    std::string result;
    for (int i = 0; i < len; i++) {
        result += alphabet[pick(randomEngine())];
    }
    return result;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_RANDOM_H */
