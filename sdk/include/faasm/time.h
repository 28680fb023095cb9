/*
 * faasm/time.h - timing helpers, as in Faasm.
 *
 * FAASM_PROF_START(name) / FAASM_PROF_END(name) print "TIME: name <ms>"
 * when built natively or with -DWASM_PROF=1, and compile to nothing
 * otherwise.
 */
#ifndef FAASM_TIME_H
#define FAASM_TIME_H

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#if (defined(WASM_PROF) && WASM_PROF == 1) || !defined(__wasm__)
#define FAASM_PROF_START(prof_var) clock_t prof_var = clock();
#define FAASM_PROF_END(prof_var)                                             \
    float diff_##prof_var =                                                  \
        ((clock() - prof_var) * 1000.0f) / CLOCKS_PER_SEC;                   \
    printf("TIME: %s %f\n", #prof_var, diff_##prof_var);
#else
#define FAASM_PROF_START(prof_var)
#define FAASM_PROF_END(prof_var)
#endif

#ifdef __cplusplus
namespace faasm {

/* Wall-clock seconds since the Unix epoch, with microseconds. */
inline double getSecondsSinceEpoch()
{
    struct timeval now;
    gettimeofday(&now, nullptr);
    return static_cast<double>(now.tv_sec) + now.tv_usec / 1e6;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_TIME_H */
