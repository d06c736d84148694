/*
 * fuzz_pdu: pdu_decode() on arbitrary octets (SMSC address first). TP-MTI in
 * the first octet picks SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT, so one
 * target covers all three. libFuzzer hands us an exact-size heap copy, so
 * ASan reports any read past the end.
 */
#include "modem/pdu.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct pdu_sms *s, const uint8_t *data, size_t size)
{
    if (s->text_len >= sizeof s->text || strlen(s->text) > s->text_len)
        abort();
    if (s->ud && (s->ud < data || s->ud + s->ud_len > data + size))
        abort();
    if (s->udh.data && s->udh.data + s->udh.len > s->ud + s->ud_len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pdu_sms s;
    char err[PDU_ERROR_MAX];

    if (pdu_decode(data, size, &s, err, sizeof err) == 0)
        check(&s, data, size);
    else if (strlen(err) == 0)
        abort(); /* every error names its field */
    return 0;
}
