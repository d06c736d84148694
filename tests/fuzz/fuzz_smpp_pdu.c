/*
 * fuzz_smpp_pdu: smpp_frame() + smpp_decode() on arbitrary octets, then the
 * text and receipt helpers on whatever a deliver_sm carried, and the
 * receipt parser on the raw input too. Every PDU is also decoded by the
 * libsmpp34-based smpp_decode_lib, which must agree with ours. libFuzzer
 * hands us an exact-size heap copy, so ASan reports any read past the end;
 * its leak checker would catch a TLV node lost inside libsmpp34 (the guard
 * keeps TLVs away from it).
 * Receipt ids then go through the SMPP driver's id index (gateway/smpp.h),
 * as a receipt from an SMSC would.
 */
#include "gateway/smpp.h"
#include "gateway/smpp_pdu.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sm(const struct smpp_sm *sm)
{
    static char text[4 * SMPP_PAYLOAD_MAX + 1];
    struct smpp_receipt r;
    char err[SMPP_ERROR_MAX];

    if (sm->payload_len > SMPP_PAYLOAD_MAX || !memchr(sm->source.addr, 0, sizeof sm->source.addr))
        abort();
    if (smpp_sm_text(sm, text, sizeof text, NULL, err, sizeof err) >= 0 &&
        strlen(text) >= sizeof text)
        abort();
    smpp_receipt_parse((const char *)sm->short_message, sm->sm_length, &r);
}

/* A receipt id against submit ids indexed in every mode, and its guessed forms. */
static void check_id(const char *id)
{
    static struct smpp_ids *ids[SMPP_ID_AUTO + 1];
    char out[SMPP_ID_MAX * 3];
    for (int m = 0; m <= SMPP_ID_AUTO; m++) {
        if (!ids[m]) {
            ids[m] = smpp_ids_new((enum smpp_id_mode)m, 64);
            smpp_ids_add(ids[m], "3b9aca00");
            smpp_ids_add(ids[m], "1000000000");
        }
        smpp_ids_find(ids[m], id);
        if (strlen(smpp_ids_guess((enum smpp_id_mode)m, id, out, sizeof out)) >= sizeof out)
            abort();
        smpp_ids_add(ids[m], id);
    }
}

/* Our decoder against the libsmpp34-based one it replaced: the same
 * verdict, nack status and fields. */
static void same_as_libsmpp34(const uint8_t *data, size_t n, int v, const struct smpp_pdu *pdu)
{
    static struct smpp_pdu lib;
    char err[SMPP_ERROR_MAX];

    int l = smpp_decode_lib(data, n, &lib, err, sizeof err);
    if (l != v || lib.nack_status != pdu->nack_status ||
        (v >= 0 && memcmp(&lib, pdu, sizeof lib) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct smpp_pdu pdu;
    struct smpp_receipt r;
    char err[SMPP_ERROR_MAX];

    smpp_receipt_parse((const char *)data, size, &r);
    if (strlen(r.id) >= sizeof r.id || strlen(r.text) >= sizeof r.text)
        abort();
    check_id(r.id);
    ssize_t n = smpp_frame(data, size, SMPP_PDU_MAX);
    if (n < 0)
        return 0;
    int v = smpp_decode(data, (size_t)n, &pdu, err, sizeof err);
    if (v < 0 && err[0] == '\0')
        abort(); /* every error names its field */
    same_as_libsmpp34(data, (size_t)n, v, &pdu);
    if (v == SMPP_HANDLE && (pdu.h.command_id == SMPP_DELIVER_SM ||
                             pdu.h.command_id == SMPP_DATA_SM ||
                             pdu.h.command_id == SMPP_SUBMIT_SM))
        check_sm(&pdu.sm);
    return 0;
}
