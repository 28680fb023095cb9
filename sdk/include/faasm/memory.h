/*
 * faasm/memory.h - present for code that includes it. Faasm uses it to keep
 * a memory.grow instruction in every module (a WAMR load-time optimisation
 * needs it); wasmtime needs nothing, so it declares nothing.
 */
#ifndef FAASM_MEMORY_H
#define FAASM_MEMORY_H
#endif /* FAASM_MEMORY_H */
