/*
 * state_shared: the host's local state tier, shared by the calls of a worker
 * process (as in Faasm). The value "shared" is 16 bytes; the input says what
 * to do:
 *
 *   set:TEXT   write TEXT through the pointer faasmReadStatePtr gives (no push)
 *   get        output the 16 bytes the pointer shows
 *   push       push the local copy to the global value
 *   small      read 4 bytes at offset 4, naming a total size of 4 (smaller than
 *              the value: the value keeps its size)
 */
#include <faasm/faasm.h>
#include <string.h>

#define KEY "shared"
#define SIZE 16

int main(void)
{
    char input[64] = "";
    char small[4];
    long len = faasmGetInputSize();
    uint8_t* value;

    if (len >= (long)sizeof(input)) {
        len = sizeof(input) - 1;
    }
    faasmGetInput((void*)input, len);
    input[len] = '\0';

    if (strncmp(input, "set:", 4) == 0) {
        value = faasmReadStatePtr(KEY, SIZE);
        memset(value, 0, SIZE);
        memcpy(value, input + 4, strlen(input + 4) < SIZE ? strlen(input + 4) : SIZE);
        faasmSetOutput((const void*)"set", 3);
    } else if (strcmp(input, "get") == 0) {
        value = faasmReadStatePtr(KEY, SIZE);
        faasmSetOutput((const void*)value, SIZE);
    } else if (strcmp(input, "push") == 0) {
        faasmPushState(KEY);
        faasmSetOutput((const void*)"pushed", 6);
    } else if (strcmp(input, "small") == 0) {
        faasmReadStateOffset(KEY, 4, 4, (void*)small, 4);
        faasmSetOutput((const void*)small, 4);
    } else {
        faasmSetOutput((const void*)"unknown request", 15);
        return 1;
    }
    return 0;
}
