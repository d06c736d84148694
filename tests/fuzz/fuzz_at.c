/*
 * libFuzzer target for the AT line parser and engine: whatever bytes a modem
 * (or line noise on a cheap USB cable) produces, the engine must neither
 * crash nor read out of bounds, and must keep its queue consistent.
 * The first byte chooses how the input is cut into reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "modem/at.h"

static void sink_write(const char *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    (void)arg;
}

static void sink_urc(const struct at_urc_event *ev, void *arg)
{
    (void)arg;
    if (ev->line[0] == '\0' && ev->pdu && ev->pdu[0] == '\0')
        abort(); /* unreachable: lines are never empty */
}

static void count_done(const struct at_response *res, void *arg)
{
    (*(int *)arg)++;
    for (size_t i = 0; i < res->n_lines; i++)
        if (!res->lines[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t)(data[0] % 32) + 1;
    data++;
    size--;
    int done = 0;
    struct at_io io = { .write = sink_write, .urc = sink_urc };
    struct at_engine *e = at_new(&io);
    struct at_request reqs[] = {
        { .command = "AT+CSQ", .expect = "+CSQ:", .timeout_ms = 50, .done = count_done, .arg = &done },
        { .command = "AT+CMGS=18", .expect = "+CMGS:", .pdu = "0011", .timeout_ms = 50,
          .done = count_done, .arg = &done },
        { .command = "AT+CMGL=4", .expect = "+CMGL:", .timeout_ms = 50, .done = count_done,
          .arg = &done },
    };
    for (size_t i = 0; i < 3; i++)
        at_submit(e, &reqs[i], 0);
    int64_t now = 0;
    for (size_t i = 0; i < size; i += chunk) {
        size_t n = size - i < chunk ? size - i : chunk;
        at_input(e, (const char *)data + i, n, now);
        now += 7;
        at_tick(e, now);
    }
    at_reset(e, AT_GONE);
    if (done != 3)
        abort(); /* every command ends exactly once */
    at_free(e);
    return 0;
}
