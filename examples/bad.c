/* bad: prints a line, then exits with code 3 (a failed call: `faasm invoke demo bad`). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to fail\n");
    fflush(stdout);
    exit(3);
}
