/*
 * faasm/host_interface.h - the raw Faasm host interface.
 *
 * Every function here is a host import from wasm module "env", named and
 * typed as the host interface of Faasm's libfaasm (newest generation), plus
 * the older names the platform still serves (__faasm_chain_function,
 * __faasm_chain_this, __faasm_get_idx, the global state locks). On wasm32 every
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

#include <stdbool.h>
#include <stdint.h>

/* Default arguments exist only in C++ (as in Faasm's header). */
#ifdef __cplusplus
#define FAASM_DEFAULT(value) = value
#else
#define FAASM_DEFAULT(value)
#endif

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
long __faasm_read_input(unsigned char* buf, long buf_len);

/* Sets the call's output, replacing any earlier output. */
FAASM_IMPORT(__faasm_write_output)
void __faasm_write_output(const char* data, long len);

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
unsigned int __faasm_chain_ptr(int (*func)(), const uint8_t* input,
                               long input_len);

/* Blocks until the call ends: 0 on success, non-zero on failure. */
FAASM_IMPORT(__faasm_await_call)
int __faasm_await_call(unsigned int call_id);

/* As __faasm_await_call; also points *out at a guest copy of the call's
 * output (valid for the rest of this call, not to be freed) and sets
 * *out_len to its length. (Faasm's older (call_id, buf, buf_len) form has
 * the same wasm type; see docs/MOVING_FROM_FAASM.md for how the platform
 * tells a module of that generation apart.) */
FAASM_IMPORT(__faasm_await_call_output)
int __faasm_await_call_output(unsigned int call_id, char** out, int* out_len);

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

/* Writes the bytes of the local copy whose mask bytes (the value at
 * mask_key, same size) are non-zero. */
FAASM_IMPORT(__faasm_push_state_partial_mask)
void __faasm_push_state_partial_mask(const char* key, const char* mask_key);

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

/* The Python entry function's name ("faasm_main" unless chained). */
FAASM_IMPORT(__faasm_get_py_entry)
void __faasm_get_py_entry(uint8_t* buf, long buf_len);

FAASM_IMPORT(__faasm_chain_py)
unsigned int __faasm_chain_py(const char* name, const uint8_t* input,
                              long input_len);

/* ---- Debugging and tests ---- */

/* Writes a backtrace of the calling wasm code to the call's stderr. */
FAASM_IMPORT(__faasm_backtrace)
void __faasm_backtrace(const int depth);

/* Exercises the host's error paths: 0 does nothing, 1 raises an error in
 * the host that fails the call (see <faasm/host_interface_test.h>). */
FAASM_IMPORT(__faasm_host_interface_test)
void __faasm_host_interface_test(int test_num);

/* ---- Migration: a point where Faasm may move the call to another host.
 * Here calls never migrate, so this returns at once. ---- */

typedef void (*FaasmMigrateEntryPoint)(int);

FAASM_IMPORT(__faasm_migrate_point)
void __faasm_migrate_point(FaasmMigrateEntryPoint f, int arg);

/* ---- Shared memory between OpenMP threads (<faasm/shared_mem.h>). A call
 * here is one thread, so a reduction is the identity and a local critical
 * section needs no lock; __faasm_sm_var/raw/array fail the call, as they
 * mean nothing without Faasm's OpenMP. ---- */

FAASM_IMPORT(__faasm_sm_array)
void __faasm_sm_array(void* var, int var_type, int array_len);

FAASM_IMPORT(__faasm_sm_raw)
void __faasm_sm_raw(void* var, int var_size);

FAASM_IMPORT(__faasm_sm_reduce)
void __faasm_sm_reduce(void* var, int var_type, int reduce_op,
                       int current_batch);

FAASM_IMPORT(__faasm_sm_var)
void __faasm_sm_var(void* var, int var_type);

FAASM_IMPORT(__faasm_sm_critical_local)
void __faasm_sm_critical_local(void);

FAASM_IMPORT(__faasm_sm_critical_local_end)
void __faasm_sm_critical_local_end(void);

/* ---- S3: buckets and keys of the platform's storage, in the calling
 * user's own namespace (docs/MOVING_FROM_FAASM.md). ---- */

FAASM_IMPORT(__faasm_s3_get_num_buckets)
int __faasm_s3_get_num_buckets(void);

/* buckets_buffer is a char** the host fills with pointers to copies of the
 * names (not NUL-terminated); lens gets each name's length. Size both with
 * __faasm_s3_get_num_buckets. */
FAASM_IMPORT(__faasm_s3_list_buckets)
void __faasm_s3_list_buckets(void* buckets_buffer, int* buckets_buffer_lens);

FAASM_IMPORT(__faasm_s3_get_num_keys)
int __faasm_s3_get_num_keys(const char* bucket_name);

FAASM_IMPORT(__faasm_s3_get_num_keys_with_prefix)
int __faasm_s3_get_num_keys_with_prefix(const char* bucket_name,
                                        const char* prefix);

FAASM_IMPORT(__faasm_s3_list_keys)
void __faasm_s3_list_keys(const char* bucket_name, void* keys_buffer,
                          int* keys_buffer_lens);

FAASM_IMPORT(__faasm_s3_list_keys_with_prefix)
void __faasm_s3_list_keys_with_prefix(const char* bucket_name,
                                      const char* prefix, void* keys_buffer,
                                      int* keys_buffer_lens);

/* Stores key_buffer_len bytes at bucket/key; returns 0, or -1 if the key
 * exists and overwrite is false. */
FAASM_IMPORT(__faasm_s3_add_key_bytes)
int __faasm_s3_add_key_bytes(const char* bucket_name, const char* key_name,
                             void* key_buffer, int key_buffer_len,
                             bool overwrite FAASM_DEFAULT(false));

/* key_buffer is a uint8_t** the host points at a copy of the bytes;
 * *key_buffer_len gets their length. Returns 0, or -1 for a missing key
 * when tolerate_missing (otherwise a missing key fails the call). */
FAASM_IMPORT(__faasm_s3_get_key_bytes)
int __faasm_s3_get_key_bytes(const char* bucket_name, const char* key_name,
                             void* key_buffer, int* key_buffer_len,
                             bool tolerate_missing FAASM_DEFAULT(false));

#ifdef __cplusplus
}
#endif

#endif /* FAASM_HOST_INTERFACE_H */
