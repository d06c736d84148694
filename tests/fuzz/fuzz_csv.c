/*
 * fuzz_csv: arbitrary bytes through the contacts CSV reader. Every record
 * must come back with fields that fit in the input, on lines that never go
 * backwards, and the reader must reach the end.
 */
#include "scheduler/sched_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so reading past the end is caught. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct sched_csv *c = sched_csv_from_buffer(buf, size);
    const char *const *f;
    size_t n, records = 0;
    long line, last = 0;
    char err[200];
    int rc;
    while ((rc = sched_csv_next(c, &f, &n, &line, err, sizeof err)) != 0) {
        if (line < last || ++records > size)
            abort();
        last = line;
        size_t total = 0;
        for (size_t i = 0; rc > 0 && i < n; i++)
            total += strlen(f[i]);
        if (total > size)
            abort();
    }
    size_t done, all;
    sched_csv_progress(c, &done, &all);
    if (done != all || all != size)
        abort();
    sched_csv_free(c);
    free(buf);
    return 0;
}
