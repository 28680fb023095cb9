/*
 * faasm/faasm.h - the one header a Faasm function includes.
 *
 * As in Faasm, it brings in the whole function API (<faasm/core.h>, itself
 * over the raw host imports in <faasm/host_interface.h>). Build with
 *
 *     python -m faasm_client.toolchain func.c -o func.wasm
 *
 * which compiles to wasm32-wasi with this directory on the include path.
 */
#ifndef FAASM_FAASM_H
#define FAASM_FAASM_H

#include "faasm/core.h"

#endif /* FAASM_FAASM_H */
