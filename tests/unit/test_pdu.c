/*
 * Tests for modem/pdu: SMS-SUBMIT encoding, SMS-DELIVER / SMS-SUBMIT /
 * SMS-STATUS-REPORT decoding, and the errors for short or lying PDUs.
 * Each published vector names its source.
 */
#include "modem/pdu.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pdu_sms sms;
static struct codec_message msg;
static char err[PDU_ERROR_MAX];

/* dreamfabric.com "SMS and the PDU format": SMS-DELIVER of "hellohello"
 * from 27838890001 via SMSC +27381000015, 1999-03-29 15:16:59 +2h. */
#define DREAMFABRIC_DELIVER \
    "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
/* The same page: SMS-SUBMIT of "hellohello" to +46708251358, VP 4 days. */
#define DREAMFABRIC_SUBMIT "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
/* The SMS-DELIVER example of Wikipedia's "GSM 03.40" article: "How are
 * you?" from +31641600986 via SMSC +31624000000, 2002-08-26 19:37:41. Its
 * zone octet 0x08 has the sign bit and zero quarters: UTC by TS 23.040. */
#define WIKIPEDIA_DELIVER \
    "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
/* amro.blogspot.com "Receiving SMS Status Report Message" (+CDS, SMSC octet
 * 00 added): delivered to +20121875612, TP-MR 0. */
#define AMRO_STATUS_REPORT "0006000B910221815716F2709021510121807090215101718000"

static int decode_hex(const char *hex)
{
    uint8_t *buf = malloc(PDU_MAX); /* heap, so ASan sees any over-read */
    int n = pdu_from_hex(hex, strlen(hex), buf, PDU_MAX, err, sizeof err);
    ck_assert_int_ge(n, 0);
    uint8_t *exact = malloc((size_t)n + 1);
    memcpy(exact, buf, (size_t)n);
    int r = pdu_decode(exact, (size_t)n, &sms, err, sizeof err);
    /* ud points into the input: keep the text, drop the buffers */
    sms.ud = NULL;
    sms.udh.data = NULL;
    free(exact);
    free(buf);
    return r;
}

static void iso(const struct pdu_time *t, const char *want)
{
    char buf[32];
    pdu_time_iso(t, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
}

START_TEST(deliver_dreamfabric)
{
    ck_assert_int_eq(decode_hex(DREAMFABRIC_DELIVER), 0);
    ck_assert_int_eq(sms.type, PDU_DELIVER);
    ck_assert_str_eq(sms.smsc.text, "+27381000015");
    ck_assert_str_eq(sms.addr.text, "27838890001");
    ck_assert_uint_eq(sms.addr.toa, 0xC8);
    ck_assert(!sms.more_to_send);
    ck_assert_int_eq(sms.dcs.encoding, CODEC_GSM7);
    iso(&sms.scts, "1999-03-29T15:16:59+02:00");
    ck_assert_uint_eq(sms.udl, 10);
    ck_assert_str_eq(sms.text, "hellohello");
}
END_TEST

START_TEST(deliver_wikipedia)
{
    ck_assert_int_eq(decode_hex(WIKIPEDIA_DELIVER), 0);
    ck_assert_str_eq(sms.smsc.text, "+31624000000");
    ck_assert_str_eq(sms.addr.text, "+31641600986");
    iso(&sms.scts, "2002-08-26T19:37:41+00:00");
    ck_assert_str_eq(sms.text, "How are you?");
}
END_TEST

START_TEST(submit_dreamfabric_encode_and_decode)
{
    char hex[PDU_HEX_MAX];
    ck_assert_int_eq(codec_encode("hellohello", 10, NULL, &msg), 0);
    struct pdu_submit s = {
        .to = "+46708251358", .dcs = codec_dcs(msg.encoding), .vp_minutes = 4 * 1440,
        .ud = msg.seg[0].ud, .ud_len = msg.seg[0].ud_len, .udl = msg.seg[0].udl,
    };
    ck_assert_int_eq(pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err), 23);
    ck_assert_str_eq(hex, DREAMFABRIC_SUBMIT);

    ck_assert_int_eq(decode_hex(DREAMFABRIC_SUBMIT), 0);
    ck_assert_int_eq(sms.type, PDU_SUBMIT);
    ck_assert_str_eq(sms.smsc.text, "");
    ck_assert_str_eq(sms.addr.text, "+46708251358");
    ck_assert_uint_eq(sms.vpf, 2);
    ck_assert_uint_eq(sms.vp_minutes, 4 * 1440);
    ck_assert_str_eq(sms.text, "hellohello");
}
END_TEST

/* A national number and the AT+CMGS length: "hello" to 1234567 is the
 * AT+CMGS=17 example of many modem guides (00 1100 0781214365F7 ...). */
START_TEST(submit_national_srr)
{
    char hex[PDU_HEX_MAX];
    ck_assert_int_eq(codec_encode("hello", 5, NULL, &msg), 0);
    struct pdu_submit s = {
        .to = "1234567", .vp_minutes = 4 * 1440,
        .ud = msg.seg[0].ud, .ud_len = msg.seg[0].ud_len, .udl = msg.seg[0].udl,
    };
    ck_assert_int_eq(pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err), 17);
    ck_assert_str_eq(hex, "0011000781214365F70000AA05E8329BFD06");
    s.srr = true;
    s.vp_minutes = 0;
    s.mr = 7;
    ck_assert_int_eq(pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err), 16);
    ck_assert_str_eq(hex, "0021070781214365F7000005E8329BFD06");
    s.to = "+12ab";
    ck_assert_int_eq(pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err), -1);
    ck_assert_str_eq(err, "TP-DA: '+12ab' is not a phone number of 1 to 20 digits");
}
END_TEST

START_TEST(status_report_amro)
{
    ck_assert_int_eq(decode_hex(AMRO_STATUS_REPORT), 0);
    ck_assert_int_eq(sms.type, PDU_STATUS_REPORT);
    ck_assert_uint_eq(sms.mr, 0);
    ck_assert_str_eq(sms.addr.text, "+20121875612");
    iso(&sms.scts, "2007-09-12T15:10:12+02:00");
    iso(&sms.discharge, "2007-09-12T15:10:17+02:00");
    ck_assert_uint_eq(sms.status, 0);
    ck_assert_int_eq(pdu_status_kind(sms.status), PDU_STATUS_DELIVERED);
    ck_assert_str_eq(pdu_status_text(sms.status), "received by the SME");
}
END_TEST

/* TS 23.040 9.2.3.15 values and kinds; TP-PI with TP-DCS and TP-UDL. */
START_TEST(status_report_values)
{
    ck_assert_int_eq(pdu_status_kind(0x21), PDU_STATUS_TEMPORARY);
    ck_assert_str_eq(pdu_status_text(0x21), "SME busy");
    ck_assert_int_eq(pdu_status_kind(0x46), PDU_STATUS_PERMANENT);
    ck_assert_str_eq(pdu_status_text(0x46), "validity period expired");
    ck_assert_int_eq(pdu_status_kind(0x62), PDU_STATUS_PERMANENT);
    ck_assert_str_eq(pdu_status_text(0x62), "no response from SME (SC gave up)");
    ck_assert_str_eq(pdu_status_text(0x55), "SC-specific reason");
    ck_assert_str_eq(pdu_status_kind_name(PDU_STATUS_TEMPORARY), "temporary");

    /* MR 0x2A, national recipient, ST 0x41, PI 06 (DCS, UDL), DCS 00, "hello",
     * SCTS in a negative time zone (-05:00 = 20 quarters, sign bit set). */
    ck_assert_int_eq(decode_hex("00062A04812143"
                                "6211221030000A" "6211221030100A" "41" "06" "00"
                                "05E8329BFD06"), 0);
    ck_assert_uint_eq(sms.mr, 42);
    ck_assert_str_eq(sms.addr.text, "1234");
    iso(&sms.scts, "2026-11-22T01:03:00-05:00");
    ck_assert_int_eq(pdu_status_kind(sms.status), PDU_STATUS_PERMANENT);
    ck_assert_str_eq(sms.text, "hello");
}
END_TEST

/* TS 23.038 clause 4, one DCS per coding group. */
START_TEST(dcs_groups)
{
    struct pdu_dcs d;
    pdu_dcs_parse(0x00, &d);
    ck_assert(d.encoding == CODEC_GSM7 && d.msg_class == -1);
    pdu_dcs_parse(0x10, &d); /* class 0 ("flash"), GSM 7-bit */
    ck_assert(d.encoding == CODEC_GSM7 && d.msg_class == 0);
    pdu_dcs_parse(0x18, &d);
    ck_assert(d.encoding == CODEC_UCS2 && d.msg_class == 0);
    pdu_dcs_parse(0x08, &d);
    ck_assert(d.encoding == CODEC_UCS2 && d.msg_class == -1);
    pdu_dcs_parse(0x24, &d);
    ck_assert(d.compressed && d.encoding == CODEC_8BIT);
    pdu_dcs_parse(0x40, &d);
    ck_assert(d.auto_delete && d.encoding == CODEC_GSM7);
    pdu_dcs_parse(0x80, &d); /* reserved group: default alphabet */
    ck_assert(d.encoding == CODEC_GSM7 && !d.mwi);
    pdu_dcs_parse(0xC8, &d); /* MWI discard, active, voicemail */
    ck_assert(d.mwi && d.mwi_discard && d.mwi_active && d.mwi_kind == 0);
    pdu_dcs_parse(0xD2, &d); /* MWI store, inactive, e-mail */
    ck_assert(d.mwi && !d.mwi_discard && !d.mwi_active && d.mwi_kind == 2);
    pdu_dcs_parse(0xE9, &d); /* MWI store, UCS-2, active fax */
    ck_assert(d.mwi && d.encoding == CODEC_UCS2 && d.mwi_active && d.mwi_kind == 1);
    pdu_dcs_parse(0xF0, &d); /* class 0, GSM 7-bit */
    ck_assert(d.encoding == CODEC_GSM7 && d.msg_class == 0);
    pdu_dcs_parse(0xF6, &d); /* class 2 (SIM), 8-bit */
    ck_assert(d.encoding == CODEC_8BIT && d.msg_class == 2);
}
END_TEST

/* An SMS-DELIVER from an alphanumeric sender ("Acme", TON 101, 7-bit packed
 * in 7 semi-octets), UCS-2 text with a surrogate pair, class 0. */
START_TEST(deliver_alphanumeric_ucs2)
{
    ck_assert_int_eq(decode_hex("00" "04" "07D0C171BB0C" "00" "18" "62112290510040"
                                "06" "0041D83DDE00"), 0);
    ck_assert(sms.addr.alphanumeric);
    ck_assert_str_eq(sms.addr.text, "Acme");
    ck_assert_int_eq(sms.dcs.msg_class, 0);
    ck_assert_int_eq(sms.dcs.encoding, CODEC_UCS2);
    ck_assert_str_eq(sms.text, "A\xF0\x9F\x98\x80");
    iso(&sms.scts, "2026-11-22T09:15:00+01:00");
}
END_TEST

/* Concatenated 7-bit parts from our own encoder, through a DELIVER: the UDH
 * (IEI 0x00) and fill bit must come back as sent. */
START_TEST(deliver_concat_8bit_ref)
{
    static char text[400];
    memset(text, 'x', 200);
    text[200] = '\0';
    struct codec_options opt = { .concat_ref = 0xCC };
    ck_assert_int_eq(codec_encode(text, 200, &opt, &msg), 0);
    ck_assert_uint_eq(msg.nsegments, 2);
    for (unsigned i = 0; i < 2; i++) {
        char hex[PDU_HEX_MAX] = "004404812143000062112290510040";
        char *p = hex + strlen(hex);
        p += sprintf(p, "%02X", msg.seg[i].udl);
        for (unsigned k = 0; k < msg.seg[i].ud_len; k++)
            p += sprintf(p, "%02X", msg.seg[i].ud[k]);
        ck_assert_int_eq(decode_hex(hex), 0);
        ck_assert(sms.udhi && sms.udh.concat);
        ck_assert_uint_eq(sms.udh.concat_ref, 0xCC);
        ck_assert_uint_eq(sms.udh.concat_total, 2);
        ck_assert_uint_eq(sms.udh.concat_seq, i + 1);
        ck_assert_uint_eq(sms.text_len, i == 0 ? 153 : 47);
    }
}
END_TEST

/* 16-bit reference concat (IEI 0x08) with Turkish single and locking shift
 * (IEI 0x24, 0x25; TS 23.038 annex A.2.1, A.3.1): "ığ€". UDHL 12 = 13 octets
 * = 15 septets with 1 fill bit; 4 text septets; UDL 19. */
START_TEST(deliver_concat_16bit_turkish)
{
    uint8_t sep[4] = { 0x07, 0x0C, 0x1B, 0x65 }, packed[8];
    char hex[PDU_HEX_MAX];
    size_t n = codec_gsm7_pack(sep, 4, 1, packed);
    char *p = hex + sprintf(hex, "00" "44" "04812143" "00" "00" "62112290510040" "13"
                                 "0C" "0804BEEF0302" "240101" "250101");
    for (size_t k = 0; k < n; k++)
        p += sprintf(p, "%02X", packed[k]);
    ck_assert_int_eq(decode_hex(hex), 0);
    ck_assert(sms.udh.concat);
    ck_assert_uint_eq(sms.udh.concat_ref, 0xBEEF);
    ck_assert_uint_eq(sms.udh.concat_total, 3);
    ck_assert_uint_eq(sms.udh.concat_seq, 2);
    ck_assert_int_eq(sms.udh.lang_lock, CODEC_LANG_TURKISH);
    ck_assert_int_eq(sms.udh.lang_shift, CODEC_LANG_TURKISH);
    ck_assert_str_eq(sms.text, "\xC4\xB1\xC4\x9F\xE2\x82\xAC");
}
END_TEST

static void expect_error(const char *hex, const char *want)
{
    ck_assert_int_eq(decode_hex(hex), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(truncated_and_lying_pdus)
{
    expect_error("", "SMSC address: the PDU ends before it (at octet 0)");
    expect_error("0C91", "SMSC address: length 12 octets is more than 11");
    expect_error("07917283010010F5", "first octet: the PDU ends before it (at octet 8)");
    expect_error("07917283010010F5040BC8723888", "TP-OA: needs 6 octets but only 3 follow");
    expect_error("00041DC8", "TP-OA: length 29 digits is more than 20");
    expect_error("07917283010010F5040BC87238880900F10000993092516195",
                 "TP-SCTS: needs 7 octets but only 6 follow");
    expect_error("07917283010010F5040BC87238880900F10000993092516195800A",
                 "TP-UDL says 10 septets but only 0 octets follow");
    expect_error("07917283010010F5040BC87238880900F1000099309251619580A0E8329BFD4697D9EC37",
                 "TP-UDL says 160 septets but only 9 octets follow");
    expect_error("07917283010010F5040BC87238880900F1000099309251619580A1",
                 "TP-UDL 161 septets is more than 160");
    expect_error(DREAMFABRIC_DELIVER "00", "1 unexpected octets after TP-UD");
    expect_error("07917283010010F5040BC87238880900F10000993A92516195800AE8329BFD4697D9EC37",
                 "TP-SCTS: octet 2 (0x3A) is not a valid time");
    expect_error("0003", "first octet: TP-MTI 3 is reserved");
    /* UDHI set but the UDH claims more than TP-UD holds */
    expect_error("004004812143000862112290510040" "03" "0900AA",
                 "UDH: UDHL says 9 octets but TP-UD has only 2");
    expect_error("004004812143000862112290510040" "06" "040003010200",
                 "UDH: element 0x00 of 3 octets runs past UDHL 4");
    expect_error("004004812143000862112290510040" "06" "040002010200",
                 "UDH: concat element 0x00 has length 2, not 3");
    expect_error("00062A048121436211221030000A6211221030100A41" "04",
                 "TP-UDL: the PDU ends before it (at octet 23)");
    expect_error("0011000B916407281553F80000AA", "TP-UDL: the PDU ends before it (at octet 14)");
    expect_error("0011000B916407281553F80000AA0AE8329BFD46", "TP-UDL says 10 septets but only 5 octets follow");
    ck_assert_int_eq(pdu_from_hex("0G", 2, (uint8_t[4]){ 0 }, 4, err, sizeof err), -1);
    ck_assert_str_eq(err, "hex PDU: not a hex digit at position 1");
}
END_TEST

/* Every strict prefix of every vector is an error, and none reads past its
 * exact-size heap buffer (ASan would stop the test). */
START_TEST(every_prefix_is_an_error)
{
    const char *vectors[] = { DREAMFABRIC_DELIVER, DREAMFABRIC_SUBMIT, WIKIPEDIA_DELIVER,
                              AMRO_STATUS_REPORT };
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        size_t len = strlen(vectors[v]);
        for (size_t cut = 0; cut < len; cut += 2) {
            uint8_t buf[PDU_MAX];
            int n = pdu_from_hex(vectors[v], cut, buf, sizeof buf, err, sizeof err);
            uint8_t *exact = malloc((size_t)n + 1);
            memcpy(exact, buf, (size_t)n);
            int r = pdu_decode(exact, (size_t)n, &sms, err, sizeof err);
            free(exact);
            /* A status report may legitimately end after TP-ST. */
            if (v == 3 && cut == len - 2)
                continue;
            ck_assert_msg(r == -1, "vector %zu cut at %zu decoded", v, cut / 2);
        }
    }
}
END_TEST

START_TEST(validity_period)
{
    ck_assert_uint_eq(pdu_vp_relative(5), 0);
    ck_assert_uint_eq(pdu_vp_relative(720), 143);
    ck_assert_uint_eq(pdu_vp_relative(721), 144);
    ck_assert_uint_eq(pdu_vp_relative(1440), 167);
    ck_assert_uint_eq(pdu_vp_relative(2 * 1440), 168);
    ck_assert_uint_eq(pdu_vp_relative(4 * 1440), 0xAA);
    ck_assert_uint_eq(pdu_vp_relative(30 * 1440), 196);
    ck_assert_uint_eq(pdu_vp_relative(31 * 1440), 197);
    ck_assert_uint_eq(pdu_vp_relative(1000000), 255);
    for (unsigned v = 0; v < 256; v++)
        ck_assert_uint_eq(pdu_vp_relative(pdu_vp_minutes((uint8_t)v)), v);
}
END_TEST

/* Every segment of long text, UCS-2 and 7-bit, through encode and decode. */
START_TEST(submit_round_trip)
{
    const char *texts[] = {
        "Hi {name}, we miss you! Here is 20% off [today] only: \xE2\x82\xAC" "5. Reply STOP to opt out",
        "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xF0\x9F\x91\x8B",
    };
    for (int t = 0; t < 2; t++) {
        static char long_text[2000];
        long_text[0] = '\0';
        for (int k = 0; k < 6; k++)
            strcat(long_text, texts[t]);
        ck_assert_int_eq(codec_encode(long_text, strlen(long_text), NULL, &msg), 0);
        for (unsigned i = 0; i < msg.nsegments; i++) {
            char hex[PDU_HEX_MAX], want[CODEC_TEXT_MAX];
            struct pdu_submit s = {
                .to = "+353871234567", .dcs = codec_dcs(msg.encoding), .srr = true,
                .udhi = msg.udhi, .vp_minutes = 2880, .ud = msg.seg[i].ud,
                .ud_len = msg.seg[i].ud_len, .udl = msg.seg[i].udl,
            };
            int len = pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err);
            ck_assert_int_gt(len, 0);
            ck_assert_uint_eq(strlen(hex), 2 + 2 * (size_t)len);
            ck_assert_int_eq(decode_hex(hex), 0);
            codec_decode_segment(&msg, i, want, sizeof want);
            ck_assert_str_eq(sms.text, want);
            ck_assert(sms.srr);
            ck_assert_uint_eq(sms.udh.concat_seq, msg.udhi ? i + 1 : 0);
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pdu");
    TCase *tc = tcase_create("pdu");
    tcase_add_test(tc, deliver_dreamfabric);
    tcase_add_test(tc, deliver_wikipedia);
    tcase_add_test(tc, submit_dreamfabric_encode_and_decode);
    tcase_add_test(tc, submit_national_srr);
    tcase_add_test(tc, status_report_amro);
    tcase_add_test(tc, status_report_values);
    tcase_add_test(tc, dcs_groups);
    tcase_add_test(tc, deliver_alphanumeric_ucs2);
    tcase_add_test(tc, deliver_concat_8bit_ref);
    tcase_add_test(tc, deliver_concat_16bit_turkish);
    tcase_add_test(tc, truncated_and_lying_pdus);
    tcase_add_test(tc, every_prefix_is_an_error);
    tcase_add_test(tc, validity_period);
    tcase_add_test(tc, submit_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return testutil_run(suite()); }
