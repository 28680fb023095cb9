/*
 * state_append: an append-only list of 8-byte records under one key.
 *
 *   input "read:N"  outputs the first N records, concatenated
 *   input "clear"   empties the list
 *   other input     appends it as a record (padded with '.', cut at 8 bytes)
 */
#include <faasm/faasm.h>
#include <stdlib.h>
#include <string.h>

#define KEY "appended"
#define RECORD 8

FAASM_MAIN_FUNC()
{
    char input[64] = {0};
    long len = faasmGetInputSize();
    if (len >= (long)sizeof(input)) {
        len = sizeof(input) - 1;
    }
    faasmGetInput(BYTES(input), len);

    if (strncmp(input, "read:", 5) == 0) {
        long n = strtol(input + 5, NULL, 10);
        uint8_t* records;
        if (n <= 0) {
            return 1;
        }
        records = (uint8_t*)malloc((size_t)(n * RECORD));
        if (records == NULL) {
            return 1;
        }
        faasmReadAppendedState(KEY, records, n * RECORD, n);
        faasmSetOutput(records, n * RECORD);
        free(records);
    } else if (strcmp(input, "clear") == 0) {
        faasmClearAppendedState(KEY);
        faasmSetOutput(BYTES_CONST("cleared"), 7);
    } else {
        uint8_t record[RECORD];
        memset(record, '.', RECORD);
        memcpy(record, input, (size_t)(len < RECORD ? len : RECORD));
        faasmAppendState(KEY, record, RECORD);
        faasmSetOutput(record, RECORD);
    }
    return 0;
}
