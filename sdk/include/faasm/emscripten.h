/*
 * faasm/emscripten.h - the emscripten libc extras Faasm's libemscripten
 * provides: siprintf (sprintf without floating point).
 */
#ifndef FAASM_EMSCRIPTEN_H
#define FAASM_EMSCRIPTEN_H

#include <stdarg.h>
#include <stdio.h>

static inline int siprintf(char* dest, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    int written = vsprintf(dest, format, args);
    va_end(args);
    return written;
}

#endif /* FAASM_EMSCRIPTEN_H */
