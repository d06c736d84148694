/*
 * fuzz_template: campaign templates from config. The syntax check and the
 * renderer must agree (a template the check refuses never renders), and
 * what renders stays within what its fields can add.
 */
#include "scheduler/sched_render.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *tmpl = malloc(size + 1);
    memcpy(tmpl, data, size);
    tmpl[size] = '\0';
    char err[300];
    json_t *fields = json_pack("{s:s, s:i, s:f}", "name", "Zoë", "n", 3, "r", 2.5);
    bool ok = sched_template_ok(tmpl, err, sizeof err);
    char *out = sched_render(tmpl, fields, err, sizeof err);
    if (!ok && out)
        abort();
    if (out && strlen(out) > strlen(tmpl) * 8 + 64)
        abort(); /* each field at most a short value */
    free(out);
    json_decref(fields);
    free(tmpl);
    return 0;
}
