/*
 * Tests for gateway/smpp_pdu: framing, encode -> frame -> decode round trips
 * for every PDU type we send or read, vendor statuses, lying lengths and
 * malformed TLVs (ASan's leak checker is on: none may leak), the SMPP text
 * codings and segmentation, receipts as real SMSCs write them, and id
 * matching. Receipt samples name their source.
 */
#include "gateway/smpp_pdu.h"
#include "gateway/codec.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[SMPP_PDU_MAX + 1];
static struct smpp_pdu pdu;
static char err[SMPP_ERROR_MAX];
static char lib_err[SMPP_ERROR_MAX]; /* the *_lib variants' reasons */

/* Frames and decodes buf[0..n) from an exact-size heap copy, so ASan sees
 * any over-read. */
static int decode_n(const uint8_t *b, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    ssize_t f = smpp_frame(copy, n, SMPP_PDU_MAX);
    ck_assert_int_eq(f, (ssize_t)n);
    int r = smpp_decode(copy, n, &pdu, err, sizeof err);
    free(copy);
    return r;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* --- framing ----------------------------------------------------------------- */

START_TEST(frame_lengths)
{
    uint8_t h[32] = { 0 };
    ck_assert_int_eq(smpp_frame(h, 3, 4096), -2);
    put32(h, 16);
    ck_assert_int_eq(smpp_frame(h, 15, 4096), -2);
    ck_assert_int_eq(smpp_frame(h, 16, 4096), 16);
    ck_assert_int_eq(smpp_frame(h, 32, 4096), 16);
    put32(h, 15);
    ck_assert_int_eq(smpp_frame(h, 32, 4096), -1);
    put32(h, 0);
    ck_assert_int_eq(smpp_frame(h, 32, 4096), -1);
    put32(h, 5000);
    ck_assert_int_eq(smpp_frame(h, 32, 4096), -1);
    put32(h, 0xFFFFFFFF);
    ck_assert_int_eq(smpp_frame(h, 4, 4096), -1);
}
END_TEST

START_TEST(seq_wraps)
{
    ck_assert_uint_eq(smpp_seq_next(1), 2);
    ck_assert_uint_eq(smpp_seq_next(0x7FFFFFFE), 0x7FFFFFFF);
    ck_assert_uint_eq(smpp_seq_next(0x7FFFFFFF), 1);
    ck_assert_int_eq(smpp_encode_simple(SMPP_ENQUIRE_LINK, 0, buf, sizeof buf, err, sizeof err), -1);
    ck_assert_int_eq(smpp_encode_simple(SMPP_ENQUIRE_LINK, 0x80000000u, buf, sizeof buf,
                                        err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "sequence_number"));
}
END_TEST

/* --- round trips ---------------------------------------------------------------- */

START_TEST(bind_round_trip)
{
    static const uint32_t ids[] = { SMPP_BIND_TRANSMITTER, SMPP_BIND_RECEIVER,
                                    SMPP_BIND_TRANSCEIVER };
    struct smpp_bind b = { "homing", "secret", "SMS", 0x34, 1, 1, "^353" };
    for (unsigned i = 0; i < 3; i++) {
        int n = smpp_encode_bind(ids[i], &b, 7, buf, sizeof buf, err, sizeof err);
        ck_assert_msg(n > 0, "%s", err);
        ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
        ck_assert_uint_eq(pdu.h.command_id, ids[i]);
        ck_assert_uint_eq(pdu.h.sequence_number, 7);
        ck_assert_str_eq(pdu.bind.system_id, "homing");
        ck_assert_str_eq(pdu.bind.password, "secret");
        ck_assert_str_eq(pdu.bind.system_type, "SMS");
        ck_assert_uint_eq(pdu.bind.interface_version, 0x34);
        ck_assert_str_eq(pdu.bind.address_range, "^353");
    }
    strcpy(b.password, "12345678");
    memcpy(b.system_id, "0123456789abcdef", 16); /* no room for the NUL */
    ck_assert_int_eq(smpp_encode_bind(SMPP_BIND_TRANSCEIVER, &b, 1, buf, sizeof buf,
                                      err, sizeof err), -1);
    ck_assert_str_eq(err, "bind_transceiver: system_id longer than 15 characters");
}
END_TEST

START_TEST(bind_resp_round_trip)
{
    int n = smpp_encode_resp(SMPP_BIND_TRANSCEIVER_RESP, 0, "SMSC", 1, buf, sizeof buf,
                             err, sizeof err);
    ck_assert_int_gt(n, 16);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_str_eq(pdu.system_id, "SMSC");
    /* A failed bind: header only, the status kept (0x0E invalid password). */
    n = smpp_encode_resp(SMPP_BIND_TRANSMITTER_RESP, 0x0E, "SMSC", 2, buf, sizeof buf,
                         err, sizeof err);
    ck_assert_int_eq(n, 16);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, 0x0E);
    ck_assert(!pdu.body);
}
END_TEST

START_TEST(bind_resp_with_sc_version_tlv)
{
    /* bind_transceiver_resp "SMSC" + sc_interface_version 0x34 */
    static const uint8_t p[] = { 0, 0, 0, 26, 0x80, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1,
                                 'S', 'M', 'S', 'C', 0, 0x02, 0x10, 0, 1, 0x34 };
    ck_assert_int_eq(decode_n(p, sizeof p), SMPP_HANDLE);
    ck_assert_str_eq(pdu.system_id, "SMSC");
    ck_assert(pdu.has_sc_version);
    ck_assert_uint_eq(pdu.sc_interface_version, 0x34);
}
END_TEST

START_TEST(header_only_round_trips)
{
    int n = smpp_encode_simple(SMPP_ENQUIRE_LINK, 3, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(n, 16);
    ck_assert_int_eq(decode_n(buf, 16), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_id, SMPP_ENQUIRE_LINK);
    n = smpp_encode_simple(SMPP_UNBIND, 4, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_id, SMPP_UNBIND);
    static const uint32_t resps[] = { SMPP_ENQUIRE_LINK_RESP, SMPP_UNBIND_RESP,
                                      SMPP_GENERIC_NACK };
    for (unsigned i = 0; i < 3; i++) {
        n = smpp_encode_resp(resps[i], i == 2 ? SMPP_ESME_RINVCMDID : 0, NULL, 9, buf,
                             sizeof buf, err, sizeof err);
        ck_assert_int_eq(n, 16);
        ck_assert_int_eq(decode_n(buf, 16), SMPP_HANDLE);
        ck_assert_uint_eq(pdu.h.command_id, resps[i]);
        ck_assert_uint_eq(pdu.h.sequence_number, 9);
    }
    ck_assert_uint_eq(pdu.h.command_status, SMPP_ESME_RINVCMDID);
    /* generic_nack may answer a PDU whose sequence could not be read */
    ck_assert_int_eq(smpp_encode_resp(SMPP_GENERIC_NACK, SMPP_ESME_RINVCMDLEN, NULL, 0, buf,
                                      sizeof buf, err, sizeof err), 16);
}
END_TEST

START_TEST(enquire_link_with_body_is_malformed)
{
    uint8_t p[20] = { 0, 0, 0, 20, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1 };
    ck_assert_int_eq(decode_n(p, sizeof p), -1);
    ck_assert_str_eq(err, "enquire_link: 4 octets of body, expected none");
}
END_TEST

static void fill_sm(struct smpp_sm *sm)
{
    memset(sm, 0, sizeof *sm);
    smpp_addr_from_text("Homing", &sm->source, err, sizeof err);
    smpp_addr_from_text("+353871234567", &sm->dest, err, sizeof err);
    sm->registered_delivery = 1;
    memcpy(sm->short_message, "hello", 5);
    sm->sm_length = 5;
}

START_TEST(submit_sm_round_trip)
{
    static struct smpp_sm sm;
    fill_sm(&sm);
    smpp_validity_relative(48 * 3600, sm.validity_period);
    ck_assert_str_eq(sm.validity_period, "000002000000000R");
    sm.has_sar = true;
    sm.sar_msg_ref_num = 0x1234;
    sm.sar_total_segments = 3;
    sm.sar_segment_seqnum = 2;
    int n = smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 0x7FFFFFFF, buf, sizeof buf, err, sizeof err);
    ck_assert_msg(n > 0, "%s", err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.sequence_number, 0x7FFFFFFF);
    ck_assert_uint_eq(pdu.sm.source.ton, 5);
    ck_assert_uint_eq(pdu.sm.source.npi, 0);
    ck_assert_str_eq(pdu.sm.source.addr, "Homing");
    ck_assert_uint_eq(pdu.sm.dest.ton, 1);
    ck_assert_uint_eq(pdu.sm.dest.npi, 1);
    ck_assert_str_eq(pdu.sm.dest.addr, "353871234567");
    ck_assert_str_eq(pdu.sm.validity_period, "000002000000000R");
    ck_assert_uint_eq(pdu.sm.registered_delivery, 1);
    ck_assert_uint_eq(pdu.sm.sm_length, 5);
    ck_assert_int_eq(memcmp(pdu.sm.short_message, "hello", 5), 0);
    ck_assert(pdu.sm.has_sar);
    ck_assert_uint_eq(pdu.sm.sar_msg_ref_num, 0x1234);
    ck_assert_uint_eq(pdu.sm.sar_total_segments, 3);
    ck_assert_uint_eq(pdu.sm.sar_segment_seqnum, 2);
}
END_TEST

START_TEST(submit_sm_payload_and_limits)
{
    static struct smpp_sm sm;
    fill_sm(&sm);
    sm.sm_length = 0;
    sm.has_payload = true;
    sm.payload_len = SMPP_PAYLOAD_MAX;
    for (unsigned i = 0; i < SMPP_PAYLOAD_MAX; i++)
        sm.payload[i] = (uint8_t)i;
    int n = smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 1, buf, sizeof buf, err, sizeof err);
    ck_assert_msg(n > 1024, "%s", err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert(pdu.sm.has_payload);
    ck_assert_uint_eq(pdu.sm.payload_len, SMPP_PAYLOAD_MAX);
    ck_assert_int_eq(memcmp(pdu.sm.payload, sm.payload, SMPP_PAYLOAD_MAX), 0);
    /* 253 octets of short_message pack; 254 is refused here, not truncated */
    fill_sm(&sm);
    sm.sm_length = 253;
    ck_assert_int_gt(smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 1, buf, sizeof buf, err, sizeof err), 253);
    sm.sm_length = 254;
    ck_assert_int_eq(smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 1, buf, sizeof buf, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "short_message of 254 octets"));
    /* a too small caller buffer */
    sm.sm_length = 5;
    ck_assert_int_eq(smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 1, buf, 20, err, sizeof err), -1);
}
END_TEST

START_TEST(deliver_sm_receipt_round_trip)
{
    static struct smpp_sm sm;
    static const char text[] = "id:0000029095 sub:001 dlvrd:001 submit date:211125034959 "
                               "done date:211125035001 stat:DELIVRD err:000 text:";
    fill_sm(&sm);
    sm.esm_class = SMPP_ESM_RECEIPT;
    sm.sm_length = (uint8_t)strlen(text);
    memcpy(sm.short_message, text, sm.sm_length);
    sm.has_receipted_id = true;
    strcpy(sm.receipted_message_id, "0000029095");
    sm.has_message_state = true;
    sm.message_state = SMPP_STATE_DELIVERED;
    int n = smpp_encode_sm(SMPP_DELIVER_SM, &sm, 5, buf, sizeof buf, err, sizeof err);
    ck_assert_msg(n > 0, "%s", err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_id, SMPP_DELIVER_SM);
    ck_assert_uint_eq(pdu.sm.esm_class, SMPP_ESM_RECEIPT);
    ck_assert(pdu.sm.has_receipted_id);
    ck_assert_str_eq(pdu.sm.receipted_message_id, "0000029095");
    ck_assert(pdu.sm.has_message_state);
    ck_assert_uint_eq(pdu.sm.message_state, 2);
    struct smpp_receipt r;
    ck_assert_int_eq(smpp_receipt_parse((const char *)pdu.sm.short_message, pdu.sm.sm_length, &r), 0);
    ck_assert_str_eq(r.id, "0000029095");
    ck_assert(smpp_ids_match(r.id, pdu.sm.receipted_message_id, SMPP_ID_EXACT));
}
END_TEST

/* A random string of up to max-1 characters (never a NUL inside). */
static void random_str(char *dst, size_t max, unsigned *seed)
{
    size_t n = (size_t)rand_r(seed) % max;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)('0' + rand_r(seed) % 75);
    dst[n] = '\0';
}

static void random_sm(struct smpp_sm *sm, uint32_t id, unsigned *seed)
{
    memset(sm, 0, sizeof *sm);
    size_t tmax = id == SMPP_SUBMIT_SM ? 17 : 1;
    random_str(sm->service_type, sizeof sm->service_type, seed);
    sm->source.ton = (uint8_t)(rand_r(seed) % 9);     /* 7 and 8: unknown TONs */
    sm->source.npi = (uint8_t)(rand_r(seed) % 20);    /* some unknown NPIs */
    random_str(sm->source.addr, 21, seed);
    sm->dest.ton = (uint8_t)(rand_r(seed) % 7);
    sm->dest.npi = (uint8_t)(rand_r(seed) % 2);
    random_str(sm->dest.addr, 21, seed);
    sm->esm_class = (uint8_t)rand_r(seed);
    sm->protocol_id = (uint8_t)rand_r(seed);
    sm->priority_flag = (uint8_t)rand_r(seed);
    random_str(sm->schedule_delivery_time, tmax, seed);
    random_str(sm->validity_period, tmax, seed);
    sm->registered_delivery = (uint8_t)rand_r(seed);
    sm->data_coding = (uint8_t)rand_r(seed);
    sm->has_payload = rand_r(seed) % 4 == 0;
    if (sm->has_payload) {
        sm->payload_len = (uint16_t)(rand_r(seed) % (SMPP_PAYLOAD_MAX + 1));
        for (unsigned i = 0; i < sm->payload_len; i++)
            sm->payload[i] = (uint8_t)rand_r(seed);
    } else {
        sm->sm_length = (uint8_t)(rand_r(seed) % (SMPP_SM_PACK_MAX + 1));
        for (unsigned i = 0; i < sm->sm_length; i++)
            sm->short_message[i] = (uint8_t)rand_r(seed);
    }
    sm->has_sar = rand_r(seed) % 2;
    sm->sar_msg_ref_num = (uint16_t)rand_r(seed);
    sm->sar_total_segments = (uint8_t)rand_r(seed);
    sm->sar_segment_seqnum = (uint8_t)rand_r(seed);
    sm->has_receipted_id = rand_r(seed) % 2;
    random_str(sm->receipted_message_id, SMPP_ID_MAX, seed);
    sm->has_message_state = rand_r(seed) % 2;
    sm->message_state = (uint8_t)rand_r(seed);
    if (id == SMPP_DATA_SM) { /* a wider destination_addr; text in message_payload */
        random_str(sm->dest.addr, 65, seed);
        if (rand_r(seed) % 10)
            sm->sm_length = 0;
    }
}

/* submit_sm and deliver_sm are written by homing, not libsmpp34: the same octets or the same refusal. */
START_TEST(sm_written_as_libsmpp34_packs_it)
{
    static struct smpp_sm sm;
    static uint8_t lib[SMPP_PDU_MAX + 1];
    unsigned seed = 20261122;
    int packed = 0, refused = 0;
    for (int i = 0; i < 3000; i++) {
        uint32_t id = i % 2 ? SMPP_SUBMIT_SM : SMPP_DELIVER_SM;
        uint32_t seq = 1 + (uint32_t)rand_r(&seed) % SMPP_SEQ_MAX;
        random_sm(&sm, id, &seed);
        size_t size = i % 50 == 0 ? (size_t)rand_r(&seed) % 64 : sizeof buf;
        memset(buf, 0xAA, sizeof buf);
        memset(lib, 0xAA, sizeof lib);
        int n = smpp_encode_sm(id, &sm, seq, buf, size, err, sizeof err);
        int m = smpp_encode_sm_lib(id, &sm, seq, lib, size, lib_err, sizeof lib_err);
        ck_assert_int_eq(n, m);
        if (n < 0) {
            refused++;
            continue;
        }
        packed++;
        ck_assert_msg(memcmp(buf, lib, sizeof buf) == 0, "message %d differs", i);
        ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    }
    ck_assert_int_gt(packed, 1000);
    ck_assert_int_gt(refused, 100); /* unknown TONs and NPIs, small buffers */
}
END_TEST

/* A random sequence number, now and then one outside 1..0x7FFFFFFF. */
static uint32_t random_seq(unsigned *seed)
{
    switch (rand_r(seed) % 40) {
    case 0: return 0;
    case 1: return SMPP_SEQ_MAX + 1 + (uint32_t)rand_r(seed) % 1000;
    default: return 1 + (uint32_t)rand_r(seed) % SMPP_SEQ_MAX;
    }
}

/* A random buffer size, now and then too small for the PDU. */
static size_t random_size(unsigned *seed)
{
    return rand_r(seed) % 25 == 0 ? (size_t)rand_r(seed) % 40 : sizeof buf;
}

/* random_str, or now and then a field with no room for its NUL. */
static void random_field(char *dst, size_t size, unsigned *seed)
{
    if (rand_r(seed) % 30 == 0)
        memset(dst, 'x', size);
    else
        random_str(dst, size, seed);
}

static const uint8_t known_npi[] = { 0, 1, 3, 4, 6, 8, 9, 10, 14, 18 };

/* valid: codes and version libsmpp34 accepts, strings that fit. */
static void random_bind(struct smpp_bind *b, bool valid, unsigned *seed)
{
    static const uint8_t versions[] = { 0, 0x34, 0x34, 0x33, 0x50 };
    void (*str)(char *, size_t, unsigned *) = valid ? random_str : random_field;

    memset(b, 0, sizeof *b);
    str(b->system_id, sizeof b->system_id, seed);
    str(b->password, sizeof b->password, seed);
    str(b->system_type, sizeof b->system_type, seed);
    str(b->address_range, sizeof b->address_range, seed);
    b->interface_version = valid ? 0x34 : versions[rand_r(seed) % 5];
    b->addr_ton = (uint8_t)(rand_r(seed) % (valid ? 7 : 9));
    b->addr_npi = valid ? known_npi[rand_r(seed) % 10] : (uint8_t)(rand_r(seed) % 20);
}

/* Both encodings of one input: the same length, octets and refusal. */
static void check_same(int n, int m, const uint8_t *lib, int i, int *packed, int *refused)
{
    ck_assert_msg(n == m, "input %d: %d octets (%s), libsmpp34 %d (%s)", i, n, n < 0 ? err : "",
                  m, m < 0 ? lib_err : "");
    if (n < 0) {
        (*refused)++;
        return;
    }
    (*packed)++;
    ck_assert_msg(memcmp(buf, lib, sizeof buf) == 0, "input %d differs", i);
}

START_TEST(bind_written_as_libsmpp34_packs_it)
{
    static const uint32_t ids[] = { SMPP_BIND_TRANSMITTER, SMPP_BIND_RECEIVER,
                                    SMPP_BIND_TRANSCEIVER, SMPP_SUBMIT_SM };
    static uint8_t lib[SMPP_PDU_MAX + 1];
    struct smpp_bind b;
    unsigned seed = 20261123;
    int packed = 0, refused = 0;
    for (int i = 0; i < 4000; i++) {
        uint32_t id = ids[rand_r(&seed) % 20 == 0 ? 3 : i % 3];
        uint32_t seq = random_seq(&seed);
        size_t size = random_size(&seed);
        random_bind(&b, false, &seed);
        memset(buf, 0xAA, sizeof buf);
        memset(lib, 0xAA, sizeof lib);
        int n = smpp_encode_bind(id, &b, seq, buf, size, err, sizeof err);
        int m = smpp_encode_bind_lib(id, &b, seq, lib, size, lib_err, sizeof lib_err);
        check_same(n, m, lib, i, &packed, &refused);
    }
    ck_assert_int_gt(packed, 800);
    ck_assert_int_gt(refused, 800); /* codes, versions, long strings, small buffers */
    /* the refusals libsmpp34 made, now in words */
    random_bind(&b, true, &seed);
    b.interface_version = 0x33;
    ck_assert_int_gt(smpp_encode_bind(SMPP_BIND_RECEIVER, &b, 1, buf, sizeof buf,
                                      err, sizeof err), 0);
    ck_assert_int_eq(smpp_encode_bind(SMPP_BIND_TRANSMITTER, &b, 1, buf, sizeof buf,
                                      err, sizeof err), -1);
    ck_assert_str_eq(err, "bind_transmitter: interface_version 0x33, only 0x34 is spoken");
    b.interface_version = 0;
    b.addr_npi = 2;
    ck_assert_int_eq(smpp_encode_bind(SMPP_BIND_TRANSMITTER, &b, 1, buf, sizeof buf,
                                      err, sizeof err), -1);
    ck_assert_str_eq(err, "bind_transmitter: addr_npi 2 is not a numbering plan SMPP 3.4 defines");
}
END_TEST

START_TEST(resps_and_simple_written_as_libsmpp34_packs_them)
{
    static const uint32_t resps[] = {
        SMPP_SUBMIT_SM_RESP, SMPP_DATA_SM_RESP, SMPP_DELIVER_SM_RESP,
        SMPP_BIND_TRANSMITTER_RESP, SMPP_BIND_RECEIVER_RESP, SMPP_BIND_TRANSCEIVER_RESP,
        SMPP_ENQUIRE_LINK_RESP, SMPP_UNBIND_RESP, SMPP_GENERIC_NACK, SMPP_SUBMIT_SM
    };
    static const uint32_t simple[] = { SMPP_ENQUIRE_LINK, SMPP_UNBIND, SMPP_ENQUIRE_LINK_RESP };
    static uint8_t lib[SMPP_PDU_MAX + 1];
    char mid[SMPP_ID_MAX + 8];
    unsigned seed = 20261124;
    int packed = 0, refused = 0;
    for (int i = 0; i < 4000; i++) {
        uint32_t id = resps[(unsigned)rand_r(&seed) % 10];
        uint32_t status = rand_r(&seed) % 3 ? 0 : (uint32_t)rand_r(&seed) % 0x500;
        uint32_t seq = random_seq(&seed);
        size_t size = random_size(&seed);
        random_str(mid, rand_r(&seed) % 2 ? 17 : sizeof mid, &seed);
        const char *m_id = rand_r(&seed) % 10 ? mid : NULL;
        memset(buf, 0xAA, sizeof buf);
        memset(lib, 0xAA, sizeof lib);
        int n = smpp_encode_resp(id, status, m_id, seq, buf, size, err, sizeof err);
        int m = smpp_encode_resp_lib(id, status, m_id, seq, lib, size, lib_err, sizeof lib_err);
        check_same(n, m, lib, i, &packed, &refused);
        id = simple[(unsigned)rand_r(&seed) % 3];
        n = smpp_encode_simple(id, seq, buf, size, err, sizeof err);
        m = smpp_encode_simple_lib(id, seq, lib, size, lib_err, sizeof lib_err);
        check_same(n, m, lib, i, &packed, &refused);
    }
    ck_assert_int_gt(packed, 4000);
    ck_assert_int_gt(refused, 1000); /* long ids, bad sequences and ids, small buffers */
}
END_TEST

START_TEST(data_sm_written_as_libsmpp34_packs_it)
{
    static struct smpp_sm sm;
    static uint8_t lib[SMPP_PDU_MAX + 1];
    unsigned seed = 20261125;
    int packed = 0, refused = 0;
    for (int i = 0; i < 3000; i++) {
        uint32_t seq = random_seq(&seed);
        size_t size = random_size(&seed);
        random_sm(&sm, SMPP_DATA_SM, &seed);
        memset(buf, 0xAA, sizeof buf);
        memset(lib, 0xAA, sizeof lib);
        int n = smpp_encode_sm(SMPP_DATA_SM, &sm, seq, buf, size, err, sizeof err);
        int m = smpp_encode_sm_lib(SMPP_DATA_SM, &sm, seq, lib, size, lib_err, sizeof lib_err);
        check_same(n, m, lib, i, &packed, &refused);
    }
    ck_assert_int_gt(packed, 800);
    ck_assert_int_gt(refused, 800); /* unknown NPIs, short_message, small buffers */
}
END_TEST

START_TEST(data_sm_round_trip)
{
    static struct smpp_sm sm;
    fill_sm(&sm);
    sm.sm_length = 0;
    sm.has_payload = true;
    sm.payload_len = 3;
    memcpy(sm.payload, "abc", 3);
    sm.data_coding = SMPP_DC_LATIN1;
    int n = smpp_encode_sm(SMPP_DATA_SM, &sm, 11, buf, sizeof buf, err, sizeof err);
    ck_assert_msg(n > 0, "%s", err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_id, SMPP_DATA_SM);
    ck_assert_str_eq(pdu.sm.dest.addr, "353871234567");
    ck_assert_uint_eq(pdu.sm.data_coding, 3);
    char text[64];
    ck_assert_int_eq(smpp_sm_text(&pdu.sm, text, sizeof text, NULL, err, sizeof err), 3);
    ck_assert_str_eq(text, "abc");

    n = smpp_encode_resp(SMPP_DATA_SM_RESP, 0, "abc123", 11, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_str_eq(pdu.message_id, "abc123");
    n = smpp_encode_resp(SMPP_DELIVER_SM_RESP, 0, NULL, 5, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(n, 17);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_id, SMPP_DELIVER_SM_RESP);
    /* a deliver_sm_resp with a temporary error, for the SMSC to retry */
    n = smpp_encode_resp(SMPP_DELIVER_SM_RESP, SMPP_ESME_RX_T_APPN, NULL, 6, buf, sizeof buf,
                         err, sizeof err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, SMPP_ESME_RX_T_APPN);
}
END_TEST

/* --- submit_sm_resp statuses -------------------------------------------------------- */

START_TEST(submit_sm_resp_ok)
{
    int n = smpp_encode_resp(SMPP_SUBMIT_SM_RESP, 0, "33E95179", 42, buf, sizeof buf,
                             err, sizeof err);
    ck_assert_int_eq(n, 16 + 9);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, 0);
    ck_assert_str_eq(pdu.message_id, "33E95179");
    /* the longest id SMPP allows, read by homing (not libsmpp34) */
    char id[SMPP_ID_MAX];
    memset(id, 'f', SMPP_ID_MAX - 1);
    id[SMPP_ID_MAX - 1] = '\0';
    n = smpp_encode_resp(SMPP_SUBMIT_SM_RESP, 0, id, 43, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    ck_assert_str_eq(pdu.message_id, id);
}
END_TEST

START_TEST(submit_sm_resp_vendor_status)
{
    /* 0x00000401 is in the vendor range; libsmpp34 knows no such status.
     * Some SMSCs still send a message_id, others an empty one or nothing. */
    uint8_t p[32] = { 0, 0, 0, 0, 0x80, 0, 0, 4, 0, 0, 0x04, 0x01, 0, 0, 0, 9 };
    put32(p, 16);
    ck_assert_int_eq(decode_n(p, 16), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, 0x401);
    ck_assert_str_eq(pdu.message_id, "");
    memcpy(p + 16, "abc", 4);
    put32(p, 20);
    ck_assert_int_eq(decode_n(p, 20), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, 0x401);
    ck_assert_str_eq(pdu.message_id, "abc");
    /* an unterminated body on an error resp is ignored, not fatal */
    memcpy(p + 16, "abcd", 4);
    ck_assert_int_eq(decode_n(p, 20), SMPP_HANDLE);
    ck_assert_str_eq(pdu.message_id, "");
    /* and the throttling status we encode ourselves */
    int n = smpp_encode_resp(SMPP_SUBMIT_SM_RESP, SMPP_ESME_RTHROTTLED, "x", 3, buf,
                             sizeof buf, err, sizeof err);
    ck_assert_int_eq(n, 16);
    ck_assert_int_eq(decode_n(buf, 16), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.h.command_status, SMPP_ESME_RTHROTTLED);
}
END_TEST

START_TEST(submit_sm_resp_ok_without_id_is_malformed)
{
    uint8_t p[20] = { 0, 0, 0, 20, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 'a', 'b', 'c', 'd' };
    ck_assert_int_eq(decode_n(p, 20), -1);
    ck_assert_str_eq(err, "submit_sm_resp: PDU ends inside message_id");
}
END_TEST

/* --- malformed input ----------------------------------------------------------- */

/* A deliver_sm with "hi" from 123 to 456, then `tlv` octets of TLVs. */
static size_t build_deliver(uint8_t *p, const uint8_t *tlv, size_t tlvlen, uint8_t sm_len)
{
    static const uint8_t body[] = {
        0, 1, 1, '1', '2', '3', 0, 1, 1, '4', '5', '6', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i'
    };
    uint8_t h[16] = { 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1 };
    size_t n = 16 + sizeof body + tlvlen;
    memcpy(p, h, 16);
    memcpy(p + 16, body, sizeof body);
    p[16 + sizeof body - 3] = sm_len;
    if (tlvlen)
        memcpy(p + 16 + sizeof body, tlv, tlvlen);
    put32(p, (uint32_t)n);
    return n;
}

START_TEST(deliver_sm_plain)
{
    uint8_t p[128];
    size_t n = build_deliver(p, NULL, 0, 2);
    ck_assert_int_eq(decode_n(p, n), SMPP_HANDLE);
    ck_assert_str_eq(pdu.sm.source.addr, "123");
    ck_assert_str_eq(pdu.sm.dest.addr, "456");
    ck_assert_uint_eq(pdu.sm.sm_length, 2);
    char text[16];
    ck_assert_int_eq(smpp_sm_text(&pdu.sm, text, sizeof text, NULL, err, sizeof err), 2);
    ck_assert_str_eq(text, "hi");
}
END_TEST

START_TEST(deliver_sm_short_message_overruns)
{
    uint8_t p[128];
    size_t n = build_deliver(p, NULL, 0, 200);
    ck_assert_int_eq(decode_n(p, n), -1);
    ck_assert_str_eq(err, "deliver_sm: short_message length 200 exceeds the PDU (2 octets left)");
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RINVMSGLEN);
}
END_TEST

START_TEST(deliver_sm_malformed_tlvs)
{
    uint8_t p[128];
    /* message_state claims 9 octets, 1 present: libsmpp34 would leak a node */
    static const uint8_t t1[] = { 0x04, 0x27, 0x00, 0x09, 0x02 };
    size_t n = build_deliver(p, t1, sizeof t1, 2);
    ck_assert_int_eq(decode_n(p, n), -1);
    ck_assert_str_eq(err, "deliver_sm: TLV 0x0427 length 9 exceeds the PDU (1 octets left)");
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RINVOPTPARSTREAM);
    /* message_state with 2 octets: libsmpp34 would read one and misalign */
    static const uint8_t t2[] = { 0x04, 0x27, 0x00, 0x02, 0x02, 0x00 };
    n = build_deliver(p, t2, sizeof t2, 2);
    ck_assert_int_eq(decode_n(p, n), -1);
    ck_assert_str_eq(err, "deliver_sm: TLV 0x0427 has length 2, expected 1");
    /* three stray octets */
    static const uint8_t t3[] = { 0x04, 0x27, 0x00 };
    n = build_deliver(p, t3, sizeof t3, 2);
    ck_assert_int_eq(decode_n(p, n), -1);
    ck_assert_str_eq(err, "deliver_sm: 3 stray octets where a TLV should start");
    /* an unknown (vendor) TLV is skipped; network_error_code is read */
    static const uint8_t t4[] = { 0x14, 0x00, 0x00, 0x02, 0xAB, 0xCD,
                                  0x04, 0x23, 0x00, 0x03, 0x03, 0x00, 0x01 };
    n = build_deliver(p, t4, sizeof t4, 2);
    ck_assert_int_eq(decode_n(p, n), SMPP_HANDLE);
    ck_assert(pdu.sm.has_network_error);
    ck_assert_uint_eq(pdu.sm.network_error_code[2], 1);
}
END_TEST

START_TEST(lying_command_length)
{
    uint8_t p[128];
    size_t n = build_deliver(p, NULL, 0, 2);
    /* the header says 10 octets more than we hand over */
    put32(p, (uint32_t)n + 10);
    ck_assert_int_eq(smpp_frame(p, n, SMPP_PDU_MAX), -2);
    ck_assert_int_eq(smpp_decode(p, n, &pdu, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "command_length"));
    /* every truncation of a good PDU is need-more to the framer and an
     * error to the decoder, never a crash */
    put32(p, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *c = malloc(k ? k : 1);
        memcpy(c, p, k);
        ck_assert_int_eq(smpp_frame(c, k, SMPP_PDU_MAX), -2);
        ck_assert_int_eq(smpp_decode(c, k, &pdu, err, sizeof err), -1);
        free(c);
    }
    /* a C-octet string that runs to the end of the PDU */
    uint8_t q[24] = { 0, 0, 0, 24, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1,
                      0, 1, 1, '1', '2', '3', '4', '5' };
    ck_assert_int_eq(decode_n(q, sizeof q), -1);
    ck_assert_str_eq(err, "deliver_sm: PDU ends inside source_addr");
}
END_TEST

START_TEST(unknown_and_ignored_commands)
{
    uint8_t p[16] = { 0, 0, 0, 16, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 8 }; /* query_sm */
    ck_assert_int_eq(decode_n(p, 16), SMPP_NACK);
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RINVCMDID);
    ck_assert_uint_eq(pdu.h.sequence_number, 8);
    p[7] = 0x77;
    ck_assert_int_eq(decode_n(p, 16), SMPP_NACK);
    uint8_t a[16] = { 0, 0, 0, 16, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 8 };
    ck_assert_int_eq(decode_n(a, 16), SMPP_IGNORE);
    uint8_t o[22] = { 0, 0, 0, 22, 0, 0, 0, 0x0B, 0, 0, 0, 0, 0, 0, 0, 8,
                      'S', 'M', 'S', 'C', 0, 0 };
    ck_assert_int_eq(decode_n(o, sizeof o), SMPP_IGNORE);
    ck_assert_str_eq(pdu.system_id, "SMSC");
}
END_TEST

/* --- decoding against libsmpp34 ----------------------------------------------------- */

static struct smpp_pdu lib_pdu;

/* Decodes b[0..n) both ways, each from an exact-size heap copy, and holds
 * ours to libsmpp34's: the same verdict and nack status, the same fields
 * when decoded, the same reason unless it was the library refusing. */
static int decode_both(const uint8_t *b, size_t n, int i)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    int r = smpp_decode(copy, n, &pdu, err, sizeof err);
    int l = smpp_decode_lib(copy, n, &lib_pdu, lib_err, sizeof lib_err);
    free(copy);
    ck_assert_msg(r == l, "PDU %d: %d (%s), libsmpp34 %d (%s)", i, r, err, l, lib_err);
    ck_assert_msg(pdu.nack_status == lib_pdu.nack_status, "PDU %d: nack 0x%X, libsmpp34 0x%X",
                  i, pdu.nack_status, lib_pdu.nack_status);
    if (r >= 0)
        ck_assert_msg(memcmp(&pdu, &lib_pdu, sizeof pdu) == 0, "PDU %d: fields differ", i);
    if (r >= 0 || pdu.nack_status != SMPP_ESME_RSYSERR)
        ck_assert_str_eq(err, lib_err);
    return r;
}

/* One random PDU of any type we read, written by the libsmpp34 encoders. */
static int random_pdu(unsigned *seed)
{
    static const uint32_t binds[] = { SMPP_BIND_TRANSMITTER, SMPP_BIND_RECEIVER,
                                      SMPP_BIND_TRANSCEIVER };
    static const uint32_t resps[] = {
        SMPP_SUBMIT_SM_RESP, SMPP_DATA_SM_RESP, SMPP_DELIVER_SM_RESP,
        SMPP_BIND_TRANSMITTER_RESP, SMPP_BIND_RECEIVER_RESP, SMPP_BIND_TRANSCEIVER_RESP,
        SMPP_ENQUIRE_LINK_RESP, SMPP_UNBIND_RESP, SMPP_GENERIC_NACK
    };
    static const uint32_t sms[] = { SMPP_SUBMIT_SM, SMPP_DELIVER_SM, SMPP_DATA_SM };
    static struct smpp_sm sm;
    struct smpp_bind b;
    char mid[SMPP_ID_MAX];
    uint32_t seq = 1 + (uint32_t)rand_r(seed) % SMPP_SEQ_MAX;

    switch (rand_r(seed) % 4) {
    case 0:
        random_bind(&b, true, seed);
        return smpp_encode_bind_lib(binds[rand_r(seed) % 3], &b, seq, buf, sizeof buf,
                                    err, sizeof err);
    case 1:
        random_str(mid, rand_r(seed) % 2 ? 16 : SMPP_ID_MAX, seed);
        return smpp_encode_resp_lib(resps[rand_r(seed) % 9],
                                    rand_r(seed) % 4 ? 0 : (uint32_t)rand_r(seed) % 0x500,
                                    mid, seq, buf, sizeof buf, err, sizeof err);
    case 2:
        return smpp_encode_simple_lib(rand_r(seed) % 2 ? SMPP_ENQUIRE_LINK : SMPP_UNBIND, seq,
                                      buf, sizeof buf, err, sizeof err);
    default: {
        uint32_t id = sms[rand_r(seed) % 3];
        random_sm(&sm, id, seed);
        sm.source.ton %= 7; /* codes libsmpp34 packs */
        sm.source.npi = known_npi[sm.source.npi % 10];
        return smpp_encode_sm_lib(id, &sm, seq, buf, sizeof buf, err, sizeof err);
    }
    }
}

/* Damages the n-octet PDU in buf: one octet changed, or the PDU cut short
 * with command_length made to agree. Returns the new length. */
static size_t damage(size_t n, unsigned *seed)
{
    if (rand_r(seed) % 3 == 0 && n > SMPP_HEADER_LEN) {
        n = SMPP_HEADER_LEN + (size_t)rand_r(seed) % (n - SMPP_HEADER_LEN);
        put32(buf, (uint32_t)n);
        return n;
    }
    size_t at = 4 + (size_t)rand_r(seed) % (n - 4);
    if (at >= 8 && at < 12 && rand_r(seed) % 2)
        at += 8; /* the status octets matter less than the body's */
    buf[at < n ? at : n - 1] = (uint8_t)rand_r(seed);
    return n;
}

START_TEST(decoded_as_libsmpp34_unpacks_it)
{
    unsigned seed = 20261126;
    int decoded = 0, refused = 0, damaged_ok = 0;
    for (int i = 0; i < 6000; i++) {
        int n = random_pdu(&seed);
        if (n < 0)
            continue;
        ck_assert_int_ge(decode_both(buf, (size_t)n, i), 0);
        decoded++;
        for (int k = 0; k < 3; k++) {
            size_t d = damage((size_t)n, &seed);
            if (decode_both(buf, d, i) < 0)
                refused++;
            else
                damaged_ok++;
        }
    }
    ck_assert_int_gt(decoded, 4000);
    ck_assert_int_gt(refused, 1000);
    ck_assert_int_gt(damaged_ok, 1000);
}
END_TEST

/* What libsmpp34 refused after the guard is refused still, in words. */
START_TEST(codes_libsmpp34_refused)
{
    uint8_t p[600];
    size_t n = build_deliver(p, NULL, 0, 2);
    p[17] = 7; /* source_addr_ton */
    ck_assert_int_eq(decode_both(p, n, 0), -1);
    ck_assert_str_eq(err, "deliver_sm: source_addr_ton 7 is not a type of number SMPP 3.4 defines");
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RSYSERR);
    n = build_deliver(p, NULL, 0, 2);
    p[24] = 2; /* dest_addr_npi */
    ck_assert_int_eq(decode_both(p, n, 1), -1);
    ck_assert_str_eq(err, "deliver_sm: dest_addr_npi 2 is not a numbering plan SMPP 3.4 defines");
    /* sm_length 255 with 255 octets there: SMPP allows 254 */
    n = build_deliver(p, NULL, 0, 255);
    memset(p + n, 'a', 253);
    n += 253;
    put32(p, (uint32_t)n);
    ck_assert_int_eq(decode_both(p, n, 2), -1);
    ck_assert_str_eq(err, "deliver_sm: short_message of 255 octets, more than 254");
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RINVMSGLEN);
    /* a bind in interface_version 0x33 */
    struct smpp_bind b = { "homing", "secret", "", 0x34, 1, 1, "" };
    n = (size_t)smpp_encode_bind(SMPP_BIND_TRANSCEIVER, &b, 3, p, sizeof p, err, sizeof err);
    p[16 + 7 + 7 + 1] = 0x33;
    ck_assert_int_eq(decode_both(p, n, 3), -1);
    ck_assert_str_eq(err, "bind_transceiver: interface_version 0x33, only 0x34 is spoken");
    ck_assert_uint_eq(pdu.nack_status, SMPP_ESME_RSYSERR);
    /* ... which a bind_receiver may have: libsmpp34 never tested it there */
    p[7] = 1;
    ck_assert_int_eq(decode_both(p, n, 4), SMPP_HANDLE);
    ck_assert_uint_eq(pdu.bind.interface_version, 0x33);
    p[16 + 7 + 7 + 2] = 9;
    ck_assert_int_eq(decode_both(p, n, 5), -1);
    ck_assert_str_eq(err, "bind_receiver: addr_ton 9 is not a type of number SMPP 3.4 defines");
}
END_TEST

/* --- text ------------------------------------------------------------------------ */

static struct smpp_text txt;

static void enc(const char *s, uint8_t dc, enum smpp_concat c, unsigned max)
{
    struct smpp_text_options o = { c, dc, max, 0x42 };
    ck_assert_msg(smpp_text_encode(s, strlen(s), &o, &txt, err, sizeof err) == 0, "%s", err);
}

START_TEST(gsm_unpacked)
{
    enc("a€{@", SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.data_coding, 0);
    ck_assert_uint_eq(txt.nparts, 1);
    ck_assert_uint_eq(txt.units, 6);
    static const uint8_t want[] = { 0x61, 0x1B, 0x65, 0x1B, 0x28, 0x00 };
    ck_assert_uint_eq(txt.part[0].len, sizeof want);
    ck_assert_int_eq(memcmp(txt.part[0].data, want, sizeof want), 0);
    char out[64];
    ck_assert_int_eq(smpp_text_decode(0, false, want, sizeof want, out, sizeof out, NULL,
                                      err, sizeof err), (int)strlen("a€{@"));
    ck_assert_str_eq(out, "a€{@");
    /* a character GSM lacks, when GSM is demanded */
    struct smpp_text_options o = { SMPP_CONCAT_UDH, SMPP_DC_DEFAULT, 0, 0 };
    ck_assert_int_eq(smpp_text_encode("añ✓", strlen("añ✓"), &o, &txt, err, sizeof err), -1);
    ck_assert_str_eq(err, "text: the character at byte 3 has no code in data_coding 0");
}
END_TEST

START_TEST(ucs2_surrogates)
{
    enc("hi 😀", SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.data_coding, 8);
    static const uint8_t want[] = { 0, 'h', 0, 'i', 0, ' ', 0xD8, 0x3D, 0xDE, 0x00 };
    ck_assert_uint_eq(txt.part[0].len, sizeof want);
    ck_assert_int_eq(memcmp(txt.part[0].data, want, sizeof want), 0);
    char out[64];
    ck_assert_int_gt(smpp_text_decode(8, false, want, sizeof want, out, sizeof out, NULL,
                                      err, sizeof err), 0);
    ck_assert_str_eq(out, "hi 😀");
    /* a lone high surrogate and an odd octet become U+FFFD */
    static const uint8_t bad[] = { 0xD8, 0x3D, 0, 'x', 0 };
    smpp_text_decode(8, false, bad, sizeof bad, out, sizeof out, NULL, err, sizeof err);
    ck_assert_str_eq(out, "\xEF\xBF\xBDx\xEF\xBF\xBD");
}
END_TEST

START_TEST(latin1_and_ia5)
{
    enc("café", SMPP_DC_LATIN1, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.part[0].len, 4);
    ck_assert_uint_eq(txt.part[0].data[3], 0xE9);
    char out[64];
    smpp_text_decode(3, false, txt.part[0].data, 4, out, sizeof out, NULL, err, sizeof err);
    ck_assert_str_eq(out, "café");
    static const uint8_t ia5[] = { 'O', 'K', 0xE9 };
    smpp_text_decode(1, false, ia5, 3, out, sizeof out, NULL, err, sizeof err);
    ck_assert_str_eq(out, "OK\xEF\xBF\xBD");
    /* binary data coding: no text */
    ck_assert_int_eq(smpp_text_decode(4, false, ia5, 3, out, sizeof out, NULL, err, sizeof err), 0);
    /* output too small */
    ck_assert_int_eq(smpp_text_decode(3, false, ia5, 3, out, 3, NULL, err, sizeof err), -1);
}
END_TEST

/* Every part within its limit, the UDH right, and the text back whole. */
static void check_parts(const char *s, unsigned limit)
{
    char all[4096] = "", part[1024];
    for (unsigned i = 0; i < txt.nparts; i++) {
        struct smpp_concat_info c;
        unsigned hdr = txt.udhi ? 6 : 0;
        ck_assert_uint_le(txt.part[i].len, hdr + limit);
        if (txt.data_coding == 8)
            ck_assert_uint_eq(txt.part[i].len % 2, 0);
        ck_assert_int_ge(smpp_text_decode(txt.data_coding, txt.udhi, txt.part[i].data,
                                          txt.part[i].len, part, sizeof part, &c,
                                          err, sizeof err), 0);
        ck_assert(c.present == txt.udhi);
        if (txt.udhi) {
            ck_assert_uint_eq(c.ref, 0x42);
            ck_assert_uint_eq(c.total, txt.nparts);
            ck_assert_uint_eq(c.seq, i + 1);
        }
        ck_assert_ptr_null(strstr(part, "\xEF\xBF\xBD")); /* no pair was split */
        strcat(all, part);
    }
    ck_assert_str_eq(all, s);
}

START_TEST(segments_udh_gsm)
{
    char s[400];
    memset(s, 'x', 152);
    strcpy(s + 152, "€");  /* the escape pair would straddle 153: it moves */
    memset(s + 152 + 3, 'y', 100);
    s[255] = '\0';
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.nparts, 2);
    ck_assert(txt.udhi);
    ck_assert_uint_eq(txt.part[0].len, 6 + 152);
    ck_assert_uint_eq(txt.part[0].data[6 + 151], 'x');
    check_parts(s, 153);
    /* exactly 160 septets is one SMS, 161 is two */
    memset(s, 'a', 160);
    s[160] = '\0';
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.nparts, 1);
    ck_assert(!txt.udhi);
    s[160] = 'a';
    s[161] = '\0';
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.nparts, 2);
    check_parts(s, 153);
}
END_TEST

START_TEST(segments_udh_ucs2_pairs)
{
    char s[1024] = "";
    for (int i = 0; i < 40; i++) /* emoji of 2 units each */
        strcat(s, "😀");
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_UDH, 0);
    ck_assert_uint_eq(txt.units, 80);
    ck_assert_uint_eq(txt.nparts, 2);
    /* 67 units would split the 34th pair: the part stops at 66 units */
    ck_assert_uint_eq(txt.part[0].len, 6 + 132);
    check_parts(s, 134);
    /* the same split as the modem path's codec */
    static struct codec_message m;
    struct codec_options co = { false, false, 0, 0 };
    ck_assert_int_eq(codec_encode(s, strlen(s), &co, &m), 0);
    ck_assert_uint_eq(m.nsegments, txt.nparts);
    ck_assert_uint_eq(m.seg[0].ud_len, txt.part[0].len);
}
END_TEST

START_TEST(segments_sar)
{
    char s[400];
    memset(s, 'z', 300);
    s[300] = '\0';
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_SAR, 0);
    ck_assert(!txt.udhi);
    ck_assert(txt.sar);
    ck_assert_uint_eq(txt.nparts, 2);
    ck_assert_uint_eq(txt.part[0].len, 153);
    check_parts(s, 153);
    static struct smpp_sm sm;
    fill_sm(&sm);
    smpp_text_apply(&txt, 1, &sm);
    ck_assert(sm.has_sar);
    ck_assert_uint_eq(sm.sar_msg_ref_num, 0x42);
    ck_assert_uint_eq(sm.sar_total_segments, 2);
    ck_assert_uint_eq(sm.sar_segment_seqnum, 2);
    ck_assert_uint_eq(sm.esm_class & SMPP_ESM_UDHI, 0);
    int n = smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 2, buf, sizeof buf, err, sizeof err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    struct smpp_concat_info c;
    char out[256];
    ck_assert_int_eq(smpp_sm_text(&pdu.sm, out, sizeof out, &c, err, sizeof err), 147);
    ck_assert(c.present);
    ck_assert_uint_eq(c.seq, 2);
}
END_TEST

START_TEST(segments_payload_and_limits)
{
    static char s[2048];
    memset(s, 'p', 1024);
    s[1024] = '\0';
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_PAYLOAD, 0);
    ck_assert(txt.payload);
    ck_assert_uint_eq(txt.nparts, 1);
    ck_assert_uint_eq(txt.payload_len, 1024);
    static struct smpp_sm sm;
    fill_sm(&sm);
    smpp_text_apply(&txt, 0, &sm);
    ck_assert_uint_eq(sm.sm_length, 0);
    int n = smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 2, buf, sizeof buf, err, sizeof err);
    ck_assert_msg(n > 0, "%s", err);
    ck_assert_int_eq(decode_n(buf, (size_t)n), SMPP_HANDLE);
    static char out[2048];
    ck_assert_int_eq(smpp_sm_text(&pdu.sm, out, sizeof out, NULL, err, sizeof err), 1024);
    /* one octet more does not fit a payload */
    s[1024] = 'p';
    s[1025] = '\0';
    struct smpp_text_options o = { SMPP_CONCAT_PAYLOAD, SMPP_DC_AUTO, 0, 0 };
    ck_assert_int_eq(smpp_text_encode(s, 1025, &o, &txt, err, sizeof err), -1);
    ck_assert_str_eq(err, "text: 1025 octets, more than a message_payload's 1024");
    /* 512 UTF-16 units fit, as UCS-2 */
    s[0] = '\0';
    for (int i = 0; i < 256; i++)
        strcat(s, "😀");
    enc(s, SMPP_DC_AUTO, SMPP_CONCAT_PAYLOAD, 0);
    ck_assert_uint_eq(txt.payload_len, 1024);
    /* too many parts for max_parts */
    memset(s, 'q', 400);
    s[400] = '\0';
    o = (struct smpp_text_options){ SMPP_CONCAT_UDH, SMPP_DC_AUTO, 2, 0 };
    ck_assert_int_eq(smpp_text_encode(s, 400, &o, &txt, err, sizeof err), -1);
    ck_assert_str_eq(err, "text: needs 3 parts, more than the limit of 2");
    ck_assert_int_eq(smpp_text_encode("\xC3", 1, &o, &txt, err, sizeof err), -1);
}
END_TEST

START_TEST(udh_parse)
{
    char out[64];
    struct smpp_concat_info c;
    /* 16-bit reference element (IEI 0x08), UCS-2 "A" */
    static const uint8_t m16[] = { 0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x00, 'A' };
    ck_assert_int_eq(smpp_text_decode(8, true, m16, sizeof m16, out, sizeof out, &c,
                                      err, sizeof err), 1);
    ck_assert(c.present);
    ck_assert_uint_eq(c.ref, 0x1234);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(c.seq, 2);
    ck_assert_str_eq(out, "A");
    static const uint8_t over[] = { 0x09, 0x00, 0x03, 0x01 };
    ck_assert_int_eq(smpp_text_decode(0, true, over, sizeof over, out, sizeof out, &c,
                                      err, sizeof err), -1);
    static const uint8_t elem[] = { 0x03, 0x00, 0x05, 0x01, 'x' };
    ck_assert_int_eq(smpp_text_decode(0, true, elem, sizeof elem, out, sizeof out, &c,
                                      err, sizeof err), -1);
    ck_assert_str_eq(err, "UDH: element at octet 1 overruns the header");
}
END_TEST

/* --- receipts ----------------------------------------------------------------------- */

static struct smpp_receipt rc;

static int parse(const char *s)
{
    return smpp_receipt_parse(s, strlen(s), &rc);
}

START_TEST(receipt_appendix_b)
{
    /* nexmo help "How to read a Nexmo SMPP delivery receipt" */
    ck_assert_int_eq(parse("id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 "
                           "done date:1601010101 stat:DELIVRD err:000 text:none"), 0);
    ck_assert_str_eq(rc.id, "0000000012345678");
    ck_assert_int_eq(rc.sub, 1);
    ck_assert_int_eq(rc.dlvrd, 1);
    ck_assert_str_eq(rc.submit_date, "1601010100");
    ck_assert_str_eq(rc.done_date, "1601010101");
    ck_assert_int_eq(rc.state, SMPP_STATE_DELIVERED);
    ck_assert_str_eq(rc.err, "000");
    ck_assert_str_eq(rc.text, "none");
}
END_TEST

START_TEST(receipt_variants)
{
    /* farhadi/node-smpp#77: "Text:", unpadded sub and err */
    ck_assert_int_eq(parse("id:45013692 sub:0 dlvrd:28 submit date:1908121157 done "
                           "date:1908121158 stat:UNDELIV err:21 Text:*100#"), 0);
    ck_assert_int_eq(rc.sub, 0);
    ck_assert_int_eq(rc.dlvrd, 28);
    ck_assert_int_eq(rc.state, SMPP_STATE_UNDELIVERABLE);
    ck_assert_str_eq(rc.err, "21");
    ck_assert_str_eq(rc.text, "*100#");
    /* farhadi/node-smpp#199: dates with seconds, empty text */
    ck_assert_int_eq(parse("id:0000029095 sub:001 dlvrd:001 submit date:211125034959 "
                           "done date:211125035001 stat:DELIVRD err:000 text:"), 0);
    ck_assert_str_eq(rc.submit_date, "211125034959");
    ck_assert_str_eq(rc.text, "");
    /* onlinecity/php-smpp#70: 18-digit id, four-digit err */
    ck_assert_int_eq(parse("id:117062714244798261 sub:001 dlvrd:001 submit date:1706271624 "
                           "done date:1706271624 stat:DELIVRD err:0000 text:Hllo world"), 0);
    ck_assert_str_eq(rc.id, "117062714244798261");
    ck_assert_str_eq(rc.err, "0000");
    ck_assert_str_eq(rc.text, "Hllo world");
    /* uudashr/jsmpp#67: no sub, dlvrd or text */
    ck_assert_int_eq(parse("id:0654354026 submit date:2302101454 done date:2302101454 "
                           "stat:DELIVRD err:000"), 0);
    ck_assert_int_eq(rc.sub, -1);
    ck_assert_str_eq(rc.done_date, "2302101454");
    /* farhadi/node-smpp#140: an empty done date before stat */
    ck_assert_int_eq(parse("id:abc sub:001 dlvrd:0 submit date:2007281200 done date: "
                           "stat:ACCEPTD err:000"), 0);
    ck_assert_str_eq(rc.done_date, "");
    ck_assert_int_eq(rc.state, SMPP_STATE_ACCEPTED);
    /* onlinecity/php-smpp#29 asks about "err: 0"; upper-case keys; extra fields */
    ck_assert_int_eq(parse("ID:7F3A SUB:001 DLVRD:000 SUBMIT DATE:1201121551 DONE DATE:"
                           "1201121551 STAT:rejectd ERR: 0 foo:bar TEXT:a b: c"), 0);
    ck_assert_str_eq(rc.id, "7F3A");
    ck_assert_str_eq(rc.err, "0");
    ck_assert_int_eq(rc.state, SMPP_STATE_REJECTED);
    ck_assert_str_eq(rc.text, "a b: c");
    /* e-com-net.com article: err as a 3-digit SMPP status */
    ck_assert_int_eq(parse("id:0911897980 sub:001 dlvrd:000 submit date:1201121551 done "
                           "date:1201121551 stat:UNDELIV err:075 text:-PROFILE"), 0);
    ck_assert_str_eq(rc.text, "-PROFILE");
    /* not a receipt */
    ck_assert_int_eq(parse("Hello, see you at 10:30"), -1);
    ck_assert_int_eq(smpp_receipt_parse("id:1\0 stat:DELIVRD", 18, &rc), -1);
}
END_TEST

START_TEST(states)
{
    enum smpp_msg_state s;
    ck_assert_int_eq(smpp_state_from_stat("delivrd", &s), 0);
    ck_assert_int_eq(s, 2);
    ck_assert_int_eq(smpp_state_from_stat("UNDELIVERABLE", &s), 0);
    ck_assert_int_eq(s, 5);
    ck_assert_int_eq(smpp_state_from_stat("BOGUS", &s), -1);
    for (int i = 1; i <= 8; i++) {
        ck_assert_int_eq(smpp_state_from_stat(smpp_state_name((enum smpp_msg_state)i), &s), 0);
        ck_assert_int_eq(s, i);
    }
    ck_assert(smpp_state_final(SMPP_STATE_DELIVERED));
    ck_assert(smpp_state_final(SMPP_STATE_EXPIRED));
    ck_assert(smpp_state_final(SMPP_STATE_REJECTED));
    ck_assert(!smpp_state_final(SMPP_STATE_ENROUTE));
    ck_assert(!smpp_state_final(SMPP_STATE_ACCEPTED));
    ck_assert_int_eq(smpp_state_outcome(SMPP_STATE_DELIVERED), SMPP_OUTCOME_DELIVERED);
    ck_assert_int_eq(smpp_state_outcome(SMPP_STATE_UNDELIVERABLE), SMPP_OUTCOME_UNDELIVERED);
    ck_assert_int_eq(smpp_state_outcome(SMPP_STATE_EXPIRED), SMPP_OUTCOME_UNDELIVERED);
    ck_assert_int_eq(smpp_state_outcome(SMPP_STATE_ENROUTE), SMPP_OUTCOME_PENDING);
}
END_TEST

START_TEST(ids)
{
    /* opentelecoms-org/jsmpp#56: resp id 33E95179 (hex), receipt 870928761,
     * which Kannel pads to 0870928761 */
    ck_assert(smpp_ids_match("33E95179", "0870928761", SMPP_ID_AUTO));
    ck_assert(smpp_ids_match("33e95179", "870928761", SMPP_ID_HEX_DEC));
    ck_assert(smpp_ids_match("870928761", "33E95179", SMPP_ID_DEC_HEX));
    ck_assert(!smpp_ids_match("33E95179", "0870928761", SMPP_ID_EXACT));
    ck_assert(!smpp_ids_match("33E95179", "0870928761", SMPP_ID_DECIMAL));
    /* leading zeros */
    ck_assert(smpp_ids_match("29095", "0000029095", SMPP_ID_DECIMAL));
    ck_assert(smpp_ids_match("29095", "0000029095", SMPP_ID_AUTO));
    ck_assert(smpp_ids_match("00ab", "AB", SMPP_ID_HEX));
    ck_assert(!smpp_ids_match("00ab", "AB", SMPP_ID_DECIMAL));
    /* beyond 64 bits: smppcenter.com's 20-digit id, in hex */
    ck_assert(smpp_ids_match("3800E11B0592D471C", "64567564356765435676", SMPP_ID_AUTO));
    ck_assert(!smpp_ids_match("3800E11B0592D471D", "64567564356765435676", SMPP_ID_AUTO));
    /* digits-only ids are never read across bases under AUTO */
    ck_assert(!smpp_ids_match("16", "10", SMPP_ID_AUTO));
    ck_assert(smpp_ids_match("10", "16", SMPP_ID_HEX_DEC));
    /* other characters: exact only */
    ck_assert(smpp_ids_match("a-1", "a-1", SMPP_ID_AUTO));
    ck_assert(!smpp_ids_match("a-01", "a-1", SMPP_ID_AUTO));
    ck_assert(!smpp_ids_match("", "0", SMPP_ID_AUTO));
    ck_assert(smpp_ids_match("0", "000", SMPP_ID_AUTO));
}
END_TEST

START_TEST(addresses)
{
    struct smpp_addr a;
    ck_assert_int_eq(smpp_addr_from_text("+353871234567", &a, err, sizeof err), 0);
    ck_assert_uint_eq(a.ton, 1);
    ck_assert_str_eq(a.addr, "353871234567");
    ck_assert_int_eq(smpp_addr_from_text("50505", &a, err, sizeof err), 0);
    ck_assert_uint_eq(a.ton, 0);
    ck_assert_uint_eq(a.npi, 1);
    ck_assert_int_eq(smpp_addr_from_text("MyShop", &a, err, sizeof err), 0);
    ck_assert_uint_eq(a.ton, 5);
    ck_assert_uint_eq(a.npi, 0);
    ck_assert_int_eq(smpp_addr_from_text("TwelveLetter", &a, err, sizeof err), -1);
    ck_assert_int_eq(smpp_addr_from_text("", &a, err, sizeof err), -1);
    char v[17];
    smpp_validity_relative(90061, v);
    ck_assert_str_eq(v, "000001010101000R");
    smpp_validity_relative(2ull * 365 * 86400 + 3ull * 30 * 86400 + 12 * 3600 + 34 * 60 + 56, v);
    ck_assert_str_eq(v, "020300123456000R");
    smpp_validity_relative(200ull * 365 * 86400, v); /* capped at 99 years */
    ck_assert_str_eq(v, "990000000000000R");
    enum smpp_concat c;
    ck_assert_int_eq(smpp_concat_parse("sar", &c), 0);
    ck_assert_int_eq(c, SMPP_CONCAT_SAR);
    ck_assert_int_eq(smpp_concat_parse("UDH", &c), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("smpp_pdu");
    TCase *t = tcase_create("pdu");
    tcase_add_test(t, frame_lengths);
    tcase_add_test(t, seq_wraps);
    tcase_add_test(t, bind_round_trip);
    tcase_add_test(t, bind_resp_round_trip);
    tcase_add_test(t, bind_resp_with_sc_version_tlv);
    tcase_add_test(t, header_only_round_trips);
    tcase_add_test(t, enquire_link_with_body_is_malformed);
    tcase_add_test(t, submit_sm_round_trip);
    tcase_add_test(t, submit_sm_payload_and_limits);
    tcase_add_test(t, deliver_sm_receipt_round_trip);
    tcase_add_test(t, sm_written_as_libsmpp34_packs_it);
    tcase_add_test(t, bind_written_as_libsmpp34_packs_it);
    tcase_add_test(t, resps_and_simple_written_as_libsmpp34_packs_them);
    tcase_add_test(t, data_sm_written_as_libsmpp34_packs_it);
    tcase_add_test(t, data_sm_round_trip);
    tcase_add_test(t, submit_sm_resp_ok);
    tcase_add_test(t, submit_sm_resp_vendor_status);
    tcase_add_test(t, submit_sm_resp_ok_without_id_is_malformed);
    tcase_add_test(t, deliver_sm_plain);
    tcase_add_test(t, deliver_sm_short_message_overruns);
    tcase_add_test(t, deliver_sm_malformed_tlvs);
    tcase_add_test(t, lying_command_length);
    tcase_add_test(t, unknown_and_ignored_commands);
    tcase_add_test(t, decoded_as_libsmpp34_unpacks_it);
    tcase_add_test(t, codes_libsmpp34_refused);
    suite_add_tcase(s, t);
    t = tcase_create("text");
    tcase_add_test(t, gsm_unpacked);
    tcase_add_test(t, ucs2_surrogates);
    tcase_add_test(t, latin1_and_ia5);
    tcase_add_test(t, segments_udh_gsm);
    tcase_add_test(t, segments_udh_ucs2_pairs);
    tcase_add_test(t, segments_sar);
    tcase_add_test(t, segments_payload_and_limits);
    tcase_add_test(t, udh_parse);
    suite_add_tcase(s, t);
    t = tcase_create("receipts");
    tcase_add_test(t, receipt_appendix_b);
    tcase_add_test(t, receipt_variants);
    tcase_add_test(t, states);
    tcase_add_test(t, ids);
    tcase_add_test(t, addresses);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
