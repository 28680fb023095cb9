/*
 * shared_file: writes its input (default "hello shared file") to the shared
 * file faasm://examples_shared.txt, reads the file back and outputs what it
 * read. Shared files are the user's own, seen by every call on any worker.
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

#define PATH "faasm://examples_shared.txt"

FAASM_MAIN_FUNC()
{
    char text[1024] = "hello shared file";
    char back[1024];
    long len = faasmGetInputSize();
    size_t n;
    FILE* f;

    if (len > 0) {
        if (len > (long)sizeof(text)) {
            len = sizeof(text);
        }
        faasmGetInput(BYTES(text), len);
    } else {
        len = (long)strlen(text);
    }

    f = fopen(PATH, "w");
    if (f == NULL) {
        perror("open " PATH " for writing");
        return 1;
    }
    if (fwrite(text, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0) {
        perror("write " PATH);
        return 1;
    }

    f = fopen(PATH, "r");
    if (f == NULL) {
        perror("open " PATH " for reading");
        return 1;
    }
    n = fread(back, 1, sizeof(back), f);
    fclose(f);

    faasmSetOutput(BYTES_CONST(back), (long)n);
    return 0;
}
