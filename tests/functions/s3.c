/*
 * The __faasm_s3_* host calls. Input: "<mode> [bucket] [key]".
 *   put B K      stores "value-of-K" at B/K (overwrite off, then on)
 *   get B K      sets the output to B/K's bytes
 *   maybe B K    as get, tolerating a missing key ("missing" then)
 *   list         output "buckets:<n>:<names,...>|keys:<n>:<...>|prefixed:<n>"
 *                over bucket "b1" and prefix "dir/"
 */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

static char text[4096];

static void append_names(char** names, int* lens, int n)
{
    for (int i = 0; i < n; i++) {
        strncat(text, names[i], (size_t)lens[i]);
        strcat(text, ",");
    }
}

int main(void)
{
    char input[512] = { 0 }, mode[16] = { 0 }, bucket[256] = { 0 }, key[256] = { 0 };
    faasmGetInput((uint8_t*)input, sizeof(input) - 1);
    sscanf(input, "%15s %255s %255s", mode, bucket, key);

    if (strcmp(mode, "put") == 0) {
        char value[300];
        snprintf(value, sizeof(value), "value-of-%s", key);
        int first = __faasm_s3_add_key_bytes(bucket, key, value, (int)strlen(value), false);
        int again = __faasm_s3_add_key_bytes(bucket, key, value, (int)strlen(value), false);
        int forced = __faasm_s3_add_key_bytes(bucket, key, value, (int)strlen(value), true);
        snprintf(text, sizeof(text), "%d %d %d", first, again, forced);
    } else if (strcmp(mode, "get") == 0 || strcmp(mode, "maybe") == 0) {
        uint8_t* data = NULL;
        int len = -7;
        int res = __faasm_s3_get_key_bytes(bucket, key, &data, &len,
                                           strcmp(mode, "maybe") == 0);
        if (res != 0) {
            snprintf(text, sizeof(text), "missing %d %d %d", res, len, data == NULL);
        } else {
            memcpy(text, data, (size_t)len);
            text[len] = 0;
        }
    } else if (strcmp(mode, "list") == 0) {
        int nb = __faasm_s3_get_num_buckets();
        char* names[16];
        int lens[16];
        __faasm_s3_list_buckets(names, lens);
        sprintf(text, "buckets:%d:", nb);
        append_names(names, lens, nb);
        int nk = __faasm_s3_get_num_keys("b1");
        __faasm_s3_list_keys("b1", names, lens);
        sprintf(text + strlen(text), "|keys:%d:", nk);
        append_names(names, lens, nk);
        int np = __faasm_s3_get_num_keys_with_prefix("b1", "dir/");
        __faasm_s3_list_keys_with_prefix("b1", "dir/", names, lens);
        sprintf(text + strlen(text), "|prefixed:%d:", np);
        append_names(names, lens, np);
    } else {
        return 1;
    }
    faasmSetOutput(text, (long)strlen(text));
    return 0;
}
