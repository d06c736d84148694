/*
 * fuzz_probe: the line helpers of modem/probe on arbitrary modem output.
 * Each input is one line (NUL-terminated copy, as the line reader hands it
 * over). Nothing may crash or read past the string; a +CSQ value gives a dBm
 * in the 27.007 range or nothing; a +CREG answer gives one of the names.
 */
#include "modem/probe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    enum probe_line kind = probe_line_kind(line);
    if (kind == PROBE_LINE_OK && strcmp(line, "OK") != 0)
        abort();
    int dbm;
    if (probe_csq_dbm(line, &dbm) && (dbm < -113 || dbm > -51))
        abort();
    const char *reg = probe_creg_name(line);
    if (reg && !*reg)
        abort();
    free(line);
    return 0;
}
