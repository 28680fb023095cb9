/* hello: prints a greeting and sets it as the call's output. */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

FAASM_MAIN_FUNC()
{
    const char* message = "Hello faasm!";
    printf("%s\n", message);
    faasmSetOutput(BYTES_CONST(message), (long)strlen(message));
    return 0;
}
