/* loop: never returns, so its call runs into its timeout
 * (`faasm invoke demo loop --timeout 1`). */
#include <faasm/faasm.h>

FAASM_MAIN_FUNC()
{
    volatile unsigned long spins = 0;
    for (;;) {
        spins++;
    }
    return 0;
}
