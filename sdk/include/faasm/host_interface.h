/*
 * faasm/host_interface.h - the raw Faasm host interface.
 *
 * Every function here is a host import from wasm module "env", named and
 * typed as Faasm's host interface (see HOST_ABI.md). On wasm32 every
 * pointer, int, long and unsigned int is an i32, so each import's wasm type
 * is (i32, ...) -> i32 or -> nothing.
 *
 * Most code should use the friendly API in <faasm/core.h> instead.
 *
 * Because each import carries its module and name in an attribute, a module
 * built against this header needs no linker flag (no --allow-undefined, no
 * --import-symbols), and a wasm module imports only the calls it uses.
 *
 * Outside wasm (a native build of a function, e.g. for a benchmark) these
 * are plain extern declarations: link a shim that defines the ones you use.
 */
#ifndef FAASM_HOST_INTERFACE_H
#define FAASM_HOST_INTERFACE_H

#include <stdint.h>

#ifdef __wasm__
#define FAASM_IMPORT(host_name) \
    __attribute__((import_module("env"), import_name(#host_name)))
#else
#define FAASM_IMPORT(host_name)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Input, output, identity ---- */

/* Copies up to buf_len input bytes to buf; returns the full input size. */
FAASM_IMPORT(__faasm_read_input)
long __faasm_read_input(uint8_t* buf, long buf_len);

/* Sets the call's output, replacing any earlier output. */
FAASM_IMPORT(__faasm_write_output)
void __faasm_write_output(const uint8_t* data, long len);

/* The entry index of this call (0 = main). */
FAASM_IMPORT(__faasm_get_idx)
int __faasm_get_idx(void);

/* 1 if the named platform flag is on, else 0. */
FAASM_IMPORT(__faasm_conf_flag)
unsigned int __faasm_conf_flag(const char* key);

/* ---- Chaining: each returns the new call's ID ---- */

FAASM_IMPORT(__faasm_chain_name)
unsigned int __faasm_chain_name(const char* name, const uint8_t* input,
                                long input_len);

/* Older name of __faasm_chain_name. */
FAASM_IMPORT(__faasm_chain_function)
unsigned int __faasm_chain_function(const char* name, const uint8_t* input,
                                    long input_len);

/* New call of this function, entering at export _faasm_func_<idx>. */
FAASM_IMPORT(__faasm_chain_this)
unsigned int __faasm_chain_this(int idx, const uint8_t* input, long input_len);

/* New call of this function, entering at a function-table entry. */
FAASM_IMPORT(__faasm_chain_ptr)
unsigned int __faasm_chain_ptr(int (*func)(void), const uint8_t* input,
                               long input_len);

/* Blocks until the call ends: 0 on success, non-zero on failure. */
FAASM_IMPORT(__faasm_await_call)
int __faasm_await_call(unsigned int call_id);

/* As __faasm_await_call; also points *out at a guest copy of the call's
 * output (valid for the rest of this call, not to be freed) and sets
 * *out_len to its length. */
FAASM_IMPORT(__faasm_await_call_output)
int __faasm_await_call_output(unsigned int call_id, uint8_t** out,
                              long* out_len);

/* ---- State ---- */

FAASM_IMPORT(__faasm_read_state)
long __faasm_read_state(const char* key, uint8_t* buf, long buf_len);

FAASM_IMPORT(__faasm_read_state_ptr)
uint8_t* __faasm_read_state_ptr(const char* key, long total_len);

FAASM_IMPORT(__faasm_write_state)
void __faasm_write_state(const char* key, const uint8_t* data, long len);

FAASM_IMPORT(__faasm_write_state_offset)
void __faasm_write_state_offset(const char* key, long total_len, long offset,
                                const uint8_t* data, long len);

FAASM_IMPORT(__faasm_read_state_offset)
void __faasm_read_state_offset(const char* key, long total_len, long offset,
                               uint8_t* buf, long len);

FAASM_IMPORT(__faasm_read_state_offset_ptr)
uint8_t* __faasm_read_state_offset_ptr(const char* key, long total_len,
                                       long offset, long len);

FAASM_IMPORT(__faasm_flag_state_dirty)
void __faasm_flag_state_dirty(const char* key, long total_len);

FAASM_IMPORT(__faasm_flag_state_offset_dirty)
void __faasm_flag_state_offset_dirty(const char* key, long total_len,
                                     long offset, long len);

FAASM_IMPORT(__faasm_push_state)
void __faasm_push_state(const char* key);

FAASM_IMPORT(__faasm_push_state_partial)
void __faasm_push_state_partial(const char* key);

FAASM_IMPORT(__faasm_pull_state)
void __faasm_pull_state(const char* key, long total_len);

FAASM_IMPORT(__faasm_append_state)
void __faasm_append_state(const char* key, const uint8_t* data, long len);

FAASM_IMPORT(__faasm_read_appended_state)
void __faasm_read_appended_state(const char* key, uint8_t* buf, long buf_len,
                                 long n_elems);

FAASM_IMPORT(__faasm_clear_appended_state)
void __faasm_clear_appended_state(const char* key);

FAASM_IMPORT(__faasm_write_state_from_file)
unsigned int __faasm_write_state_from_file(const char* key, const char* path);

FAASM_IMPORT(__faasm_lock_state_global)
void __faasm_lock_state_global(const char* key);

FAASM_IMPORT(__faasm_unlock_state_global)
void __faasm_unlock_state_global(const char* key);

FAASM_IMPORT(__faasm_lock_state_read)
void __faasm_lock_state_read(const char* key);

FAASM_IMPORT(__faasm_unlock_state_read)
void __faasm_unlock_state_read(const char* key);

FAASM_IMPORT(__faasm_lock_state_write)
void __faasm_lock_state_write(const char* key);

FAASM_IMPORT(__faasm_unlock_state_write)
void __faasm_unlock_state_write(const char* key);

/* ---- Python runner form ---- */

FAASM_IMPORT(__faasm_get_py_user)
void __faasm_get_py_user(uint8_t* buf, long buf_len);

FAASM_IMPORT(__faasm_get_py_func)
void __faasm_get_py_func(uint8_t* buf, long buf_len);

FAASM_IMPORT(__faasm_chain_py)
unsigned int __faasm_chain_py(const char* name, const uint8_t* input,
                              long input_len);

#ifdef __cplusplus
}
#endif

#endif /* FAASM_HOST_INTERFACE_H */
