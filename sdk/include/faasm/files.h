/*
 * faasm/files.h - reading whole files (C++), as in Faasm. Paths are those a
 * function sees: its working directory, /tmp, /etc basics, and shared files
 * as "faasm://path".
 */
#ifndef FAASM_FILES_H
#define FAASM_FILES_H

#ifdef __cplusplus
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

namespace faasm {

/* Size of the file at path in bytes, or -1 if it cannot be read. */
inline long getFileLength(const char* path)
{
    struct stat info = {};
    if (::stat(path, &info) != 0) {
        return -1;
    }
    return static_cast<long>(info.st_size);
}

/* The file's contents, NUL-terminated, in memory from malloc (free it);
 * nullptr if it cannot be read or is empty. */
inline char* readFileToString(const char* path)
{
    long length = getFileLength(path);
    if (length <= 0) {
        return nullptr;
    }
    FILE* file = std::fopen(path, "rb");
    if (file == nullptr) {
        return nullptr;
    }
    char* buffer = static_cast<char*>(std::malloc(static_cast<size_t>(length) + 1));
    size_t got = 0;
    if (buffer != nullptr) {
        got = std::fread(buffer, 1, static_cast<size_t>(length), file);
        buffer[got] = '\0';
    }
    std::fclose(file);
    if (got == 0) {
        std::free(buffer);
        return nullptr;
    }
    return buffer;
}

} // namespace faasm
#endif /* __cplusplus */

#endif /* FAASM_FILES_H */
