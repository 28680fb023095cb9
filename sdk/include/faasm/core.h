/*
 * faasm/core.h - the Faasm C/C++ API for functions.
 *
 * Same names, signatures and macros as Faasm's faasm/core.h, so a function
 * written for Faasm builds here unchanged. Each call is a small inline
 * wrapper over one host import from <faasm/host_interface.h>: there is no
 * library to link, and a module imports only the calls it uses.
 *
 * Entry points:
 *
 *     FAASM_MAIN_FUNC() { ... return 0; }      // index 0, also main()
 *     FAASM_FUNC(worker, 1) { ... return 0; }  // index 1
 *
 * FAASM_FUNC(name, idx) defines `int name(void)`, usable as a function
 * pointer for faasmChain(), and the entry the platform enters for index
 * idx, exported as "_faasm_func_<idx>". FAASM_MAIN_FUNC() is index 0 and
 * also defines main(), so the module runs as a plain WASI command too.
 * A plain `int main(int argc, char* argv[])` works as well.
 *
 * Pointers the platform returns (faasmReadStatePtr, faasmReadStateOffsetPtr,
 * faasmAwaitCallOutput) point at copies in this module's memory that live
 * until the call ends. Do not free them.
 */
#ifndef FAASM_CORE_H
#define FAASM_CORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faasm/host_interface.h"

#ifdef __cplusplus
#define FAASM_EXTERN_C extern "C"
#else
#define FAASM_EXTERN_C
#endif

#ifdef __wasm__
#define FAASM_EXPORT_AS(export) __attribute__((export_name(export)))
#else
#define FAASM_EXPORT_AS(export)
#endif

/* Byte-pointer casts, as in Faasm. */
#ifdef __cplusplus
#define BYTES(arr) reinterpret_cast<uint8_t*>(arr)
#define BYTES_CONST(arr) reinterpret_cast<const uint8_t*>(arr)
#else
#define BYTES(arr) ((uint8_t*)(arr))
#define BYTES_CONST(arr) ((const uint8_t*)(arr))
#endif

/* The entry for index idx: exported as "_faasm_func_<idx>". */
#define FAASM_ENTRY_(idx)                                                   \
    FAASM_EXTERN_C FAASM_EXPORT_AS("_faasm_func_" #idx) int _faasm_func_##idx(void)

/* Defines function `name` and the entry for index idx; the body follows. */
#define FAASM_FUNC(name, idx)                                               \
    FAASM_ENTRY_(idx);                                                      \
    int name(void) { return _faasm_func_##idx(); }                          \
    FAASM_ENTRY_(idx)

/*
 * A zygote: run once before the function's first call on a worker; every
 * call then starts from the memory it left (its globals, its heap). The
 * body follows and returns 0 (non-zero fails the calls).
 */
#define FAASM_ZYGOTE()                                                      \
    FAASM_EXTERN_C FAASM_EXPORT_AS("_faasm_zygote") int _faasm_zygote(void)

/* Index 0, `faasmMain`, which main() runs too; the body follows. */
#define FAASM_MAIN_FUNC()                                                   \
    FAASM_ENTRY_(0);                                                        \
    int main(int argc, char* argv[])                                        \
    {                                                                       \
        (void)argc;                                                         \
        (void)argv;                                                         \
        return _faasm_func_0();                                             \
    }                                                                       \
    FAASM_FUNC(faasmMain, 0)

#ifdef __cplusplus
extern "C" {
#endif

/* A function of this module that a call can enter (see FAASM_FUNC). */
typedef int (*FaasmFuncPtr)();
typedef FaasmFuncPtr _FaasmFuncPtr; /* older Faasm name */

/* ---------------------------------------------------------------------
 * Input, output, identity
 * ------------------------------------------------------------------- */

/* Size of this call's input in bytes (0 if none). */
static inline long faasmGetInputSize(void)
{
    uint8_t unused[1];
    return __faasm_read_input(unused, 0);
}

/* Copies up to buf_len bytes of input into buf. */
static inline void faasmGetInput(uint8_t* buf, long buf_len)
{
    __faasm_read_input(buf, buf_len);
}

/*
 * Sets this call's output (replacing any earlier output). Faasm's newest
 * libfaasm takes const char*, older ones const uint8_t*: C++ gets both
 * overloads (below), C takes any byte pointer.
 */
#ifdef __cplusplus
static inline void faasmSetOutput(const char* buf, long len)
{
    __faasm_write_output(buf, len);
}
#else
static inline void faasmSetOutput(const void* buf, long len)
{
    __faasm_write_output((const char*)buf, len);
}
#endif

/* The index this call entered at (0 = main). */
static inline int faasmGetCurrentIdx(void)
{
    return __faasm_get_idx();
}

/* 1 if the named platform flag is on, else 0. */
static inline unsigned int getConfFlag(const char* key)
{
    return __faasm_conf_flag(key);
}

/* ---------------------------------------------------------------------
 * Chaining. Each chain call starts a new call and returns its call ID.
 * ------------------------------------------------------------------- */

/* Chains function `name` of the same user. */
static inline unsigned int faasmChainNamed(const char* name,
                                           const uint8_t* input, long len)
{
    return __faasm_chain_name(name, input, len);
}

/* Older Faasm names for faasmChainNamed. */
static inline unsigned int faasmChainFunctionInput(const char* name,
                                                   const uint8_t* input,
                                                   long len)
{
    return __faasm_chain_name(name, input, len);
}

static inline unsigned int faasmChainFunction(const char* name)
{
    return __faasm_chain_name(name, NULL, 0);
}

/* Chains this function, entering at FAASM_FUNC index idx. */
static inline unsigned int faasmChainThisInput(int idx, const uint8_t* input,
                                               long len)
{
    return __faasm_chain_this(idx, input, len);
}

static inline unsigned int faasmChainThis(int idx)
{
    return __faasm_chain_this(idx, NULL, 0);
}

/* Chains this function, entering at `func` (a function of this module). */
static inline unsigned int faasmChain(FaasmFuncPtr func, const uint8_t* input,
                                      long len)
{
    return __faasm_chain_ptr(func, input, len);
}

static inline unsigned int faasmChainPtr(FaasmFuncPtr func,
                                         const uint8_t* input, long len)
{
    return __faasm_chain_ptr(func, input, len);
}

/* Waits for a chained call: 0 if it succeeded, non-zero if it failed. */
static inline unsigned int faasmAwaitCall(unsigned int call_id)
{
    return (unsigned int)__faasm_await_call(call_id);
}

/*
 * Waits for a chained call and points *out at a copy of its output
 * (*out_len bytes) in this module's memory, valid until this call ends.
 * Returns 0 if the call succeeded, non-zero if it failed.
 *
 * Faasm's libfaasm takes (char**, int*); this SDK's first form took
 * (uint8_t**, long*). On wasm32 both are a pointer to a 4-byte pointer and a
 * pointer to a 4-byte integer: C++ gets an overload for each pairing (below),
 * C takes either.
 */
#ifndef __cplusplus
static inline unsigned int faasmAwaitCallOutput(unsigned int call_id,
                                                void* out, void* out_len)
{
    return (unsigned int)__faasm_await_call_output(call_id, (char**)out,
                                                   (int*)out_len);
}
#endif

/*
 * Faasm's earlier form: waits and copies up to buf_len bytes of the output
 * into buf. Returns as faasmAwaitCall.
 */
static inline unsigned int faasmAwaitCallOutputBuffer(unsigned int call_id,
                                                      uint8_t* buf,
                                                      long buf_len)
{
    char* out = NULL;
    int out_len = 0;
    int result = __faasm_await_call_output(call_id, &out, &out_len);
    if (out != NULL && buf_len > 0) {
        memcpy(buf, out, (size_t)(out_len < buf_len ? out_len : buf_len));
    }
    return (unsigned int)result;
}

/* Chains `func` n times with the same string input and waits for all of
 * them: 0 if every call succeeded, 1 otherwise. */
static inline unsigned int faasmChainBatch(FaasmFuncPtr func,
                                           const char* input, int n)
{
    unsigned int* ids = (unsigned int*)malloc(sizeof(unsigned int) * (size_t)n);
    long len = (long)strlen(input);
    unsigned int failed = 0;
    int i;
    if (ids == NULL) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        ids[i] = __faasm_chain_ptr(func, (const uint8_t*)input, len);
    }
    for (i = 0; i < n; i++) {
        if (__faasm_await_call(ids[i]) != 0) {
            failed = 1;
        }
    }
    free(ids);
    return failed;
}

/* ---------------------------------------------------------------------
 * State: a call-local copy of each key, pushed to / pulled from the
 * global value.
 * ------------------------------------------------------------------- */

/* Size of the value at key. */
static inline size_t faasmReadStateSize(const char* key)
{
    uint8_t unused[1];
    return (size_t)__faasm_read_state(key, unused, 0);
}

/* Copies up to buf_len bytes of the value into buf; returns its size. */
static inline long faasmReadState(const char* key, uint8_t* buf, long buf_len)
{
    return __faasm_read_state(key, buf, buf_len);
}

/* Pointer to a copy of the whole value (total_len bytes). */
static inline uint8_t* faasmReadStatePtr(const char* key, long total_len)
{
    return __faasm_read_state_ptr(key, total_len);
}

/* Copies len bytes at offset of a value of total_len bytes into buf. */
static inline void faasmReadStateOffset(const char* key, long total_len,
                                        long offset, uint8_t* buf, long len)
{
    __faasm_read_state_offset(key, total_len, offset, buf, len);
}

/* Pointer to a copy of len bytes at offset. */
static inline uint8_t* faasmReadStateOffsetPtr(const char* key, long total_len,
                                               long offset, long len)
{
    return __faasm_read_state_offset_ptr(key, total_len, offset, len);
}

/* Sets the whole value and pushes it. */
static inline void faasmWriteState(const char* key, const uint8_t* data,
                                   long len)
{
    __faasm_write_state(key, data, len);
}

/* Writes len bytes at offset of the local copy and marks them dirty. */
static inline void faasmWriteStateOffset(const char* key, long total_len,
                                         long offset, const uint8_t* data,
                                         long len)
{
    __faasm_write_state_offset(key, total_len, offset, data, len);
}

/* Sets the value from a file this function can see; returns its size. */
static inline unsigned long faasmWriteStateFromFile(const char* key,
                                                    const char* path)
{
    return (unsigned long)__faasm_write_state_from_file(key, path);
}

static inline void faasmFlagStateDirty(const char* key, long total_len)
{
    __faasm_flag_state_dirty(key, total_len);
}

static inline void faasmFlagStateOffsetDirty(const char* key, long total_len,
                                             long offset, long len)
{
    __faasm_flag_state_offset_dirty(key, total_len, offset, len);
}

/* Writes the local copy to the global value. */
static inline void faasmPushState(const char* key)
{
    __faasm_push_state(key);
}

/* Writes only the dirty parts of the local copy. */
static inline void faasmPushStatePartial(const char* key)
{
    __faasm_push_state_partial(key);
}

/* Writes the bytes of the local copy whose byte in the value at mask_key
 * (the same size) is non-zero. */
static inline void faasmPushStatePartialMask(const char* key,
                                             const char* mask_key)
{
    __faasm_push_state_partial_mask(key, mask_key);
}

/* Refreshes the local copy from the global value. */
static inline void faasmPullState(const char* key, long total_len)
{
    __faasm_pull_state(key, total_len);
}

/* Appends one element to the key's append-only list. */
static inline void faasmAppendState(const char* key, const uint8_t* data,
                                    long len)
{
    __faasm_append_state(key, data, len);
}

/* Reads the first n_elems appended elements, concatenated, into buf. */
static inline void faasmReadAppendedState(const char* key, uint8_t* buf,
                                          long buf_len, long n_elems)
{
    __faasm_read_appended_state(key, buf, buf_len, n_elems);
}

static inline void faasmClearAppendedState(const char* key)
{
    __faasm_clear_appended_state(key);
}

/* Cluster-wide lock on the key, released if the call dies. */
static inline void faasmLockStateGlobal(const char* key)
{
    __faasm_lock_state_global(key);
}

static inline void faasmUnlockStateGlobal(const char* key)
{
    __faasm_unlock_state_global(key);
}

/* Locks on the local copy. */
static inline void faasmLockStateRead(const char* key)
{
    __faasm_lock_state_read(key);
}

static inline void faasmUnlockStateRead(const char* key)
{
    __faasm_unlock_state_read(key);
}

static inline void faasmLockStateWrite(const char* key)
{
    __faasm_lock_state_write(key);
}

static inline void faasmUnlockStateWrite(const char* key)
{
    __faasm_unlock_state_write(key);
}

/* ---------------------------------------------------------------------
 * Python runner form
 * ------------------------------------------------------------------- */

#define FAASM_PY_NAME_MAX 256

/* The Python function's user and name: NUL-terminated, malloc'd. */
static inline char* faasmGetPythonUser(void)
{
    char* buf = (char*)calloc(FAASM_PY_NAME_MAX + 1, 1);
    if (buf != NULL) {
        __faasm_get_py_user((uint8_t*)buf, FAASM_PY_NAME_MAX);
    }
    return buf;
}

static inline char* faasmGetPythonFunc(void)
{
    char* buf = (char*)calloc(FAASM_PY_NAME_MAX + 1, 1);
    if (buf != NULL) {
        __faasm_get_py_func((uint8_t*)buf, FAASM_PY_NAME_MAX);
    }
    return buf;
}

/* The entry function of the Python call ("faasm_main" unless chained). */
static inline char* faasmGetPythonEntry(void)
{
    char* buf = (char*)calloc(FAASM_PY_NAME_MAX + 1, 1);
    if (buf != NULL) {
        __faasm_get_py_entry((uint8_t*)buf, FAASM_PY_NAME_MAX);
    }
    return buf;
}

/* Chains the Python function `name` of the same user. */
static inline unsigned int faasmChainPy(const char* name, const uint8_t* input,
                                        long len)
{
    return __faasm_chain_py(name, input, len);
}

/* ---------------------------------------------------------------------
 * Debugging
 * ------------------------------------------------------------------- */

/* Writes a backtrace of the calling code to this call's stderr. */
static inline void faasmBacktrace(const int depth)
{
    __faasm_backtrace(depth);
}

#ifdef __cplusplus
}

static inline void faasmSetOutput(const uint8_t* buf, long len)
{
    __faasm_write_output(reinterpret_cast<const char*>(buf), len);
}

static inline unsigned int faasmAwaitCallOutput(unsigned int call_id,
                                                char** out, int* out_len)
{
    return static_cast<unsigned int>(
        __faasm_await_call_output(call_id, out, out_len));
}

static inline unsigned int faasmAwaitCallOutput(unsigned int call_id,
                                                uint8_t** out, long* out_len)
{
    return static_cast<unsigned int>(__faasm_await_call_output(
        call_id, reinterpret_cast<char**>(out), reinterpret_cast<int*>(out_len)));
}

static inline unsigned int faasmAwaitCallOutput(unsigned int call_id,
                                                char** out, long* out_len)
{
    return static_cast<unsigned int>(__faasm_await_call_output(
        call_id, out, reinterpret_cast<int*>(out_len)));
}

static inline unsigned int faasmAwaitCallOutput(unsigned int call_id,
                                                uint8_t** out, int* out_len)
{
    return static_cast<unsigned int>(__faasm_await_call_output(
        call_id, reinterpret_cast<char**>(out), out_len));
}
#endif

#endif /* FAASM_CORE_H */
