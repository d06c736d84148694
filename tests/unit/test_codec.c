/*
 * Tests for gateway/codec: alphabets, packing, segmentation, decoding.
 * Each published vector names its source.
 */
#include "gateway/codec.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct codec_message msg; /* 40 KB: keep it off the stack */

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", b[i]);
    out[2 * n] = '\0';
}

static size_t ascii_septets(const char *s, uint8_t *sep)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        sep[i] = (uint8_t)codec_gsm7_lookup((unsigned char)s[i]);
    return n;
}

/* Decodes every segment of msg and concatenates the text. */
static size_t join_segments(char *out, size_t outsz)
{
    size_t o = 0;
    for (unsigned i = 0; i < msg.nsegments; i++) {
        char part[CODEC_TEXT_MAX];
        int n = codec_decode_segment(&msg, i, part, sizeof part);
        ck_assert_int_ge(n, 0);
        ck_assert_uint_le(o + (size_t)n, outsz);
        memcpy(out + o, part, (size_t)n);
        o += (size_t)n;
    }
    return o;
}

/* "hellohello" packs to E8329BFD4697D9EC37: the classic example of
 * dreamfabric's "SMS and the PDU format" page and GSM 03.38 tutorials. */
START_TEST(pack_hellohello)
{
    uint8_t sep[16], out[16], back[16];
    char h[40];
    size_t n = ascii_septets("hellohello", sep);
    size_t o = codec_gsm7_pack(sep, n, 0, out);
    hex(out, o, h);
    ck_assert_str_eq(h, "E8329BFD4697D9EC37");
    codec_gsm7_unpack(out, n, 0, back);
    ck_assert_mem_eq(back, sep, n);
}
END_TEST

/* TS 23.038 6.1.2.1.1: 8 characters fill exactly 7 octets. Vector
 * "12345678" -> 31D98C56B3DD70, checked with an independent Python packer. */
START_TEST(pack_eight_septets)
{
    uint8_t sep[16], out[16];
    char h[40];
    size_t n = ascii_septets("12345678", sep);
    hex(out, codec_gsm7_pack(sep, n, 0, out), h);
    ck_assert_str_eq(h, "31D98C56B3DD70");
}
END_TEST

/* USSD "*100#" -> AA180C3602, the balance query every modem guide shows. */
START_TEST(pack_ussd_cr_padding)
{
    uint8_t sep[16], out[16], back[16];
    char h[40];
    size_t n = ascii_septets("*100#", sep);
    hex(out, codec_gsm7_pack_cr(sep, n, out), h);
    ck_assert_str_eq(h, "AA180C3602");

    /* TS 23.038 6.1.2.3.1: 7 characters leave 7 spare bits, so a CR is added
     * and the receiver drops it; a wanted CR on an octet boundary is doubled. */
    n = ascii_septets("1234567", sep);
    size_t o = codec_gsm7_pack_cr(sep, n, out);
    ck_assert_uint_eq(o, 7);
    ck_assert_uint_eq(out[6] >> 1, 0x0D);
    ck_assert_uint_eq(codec_gsm7_unpack_cr(out, o, back), 7);
    ck_assert_mem_eq(back, "1234567", 7);

    memcpy(sep, "1234567\r", 8);
    o = codec_gsm7_pack_cr(sep, 8, out);
    ck_assert_uint_eq(o, 8);
    n = codec_gsm7_unpack_cr(out, o, back);
    ck_assert_uint_eq(n, 9);
    ck_assert_mem_eq(back, "1234567\r\r", 9);
}
END_TEST

/* Fill bits: after a 6-octet UDH the first septet starts at bit 1 of the
 * 7th octet (TS 23.040 9.2.3.24, "fill bits"). */
START_TEST(pack_fill_bits)
{
    uint8_t sep[2] = { 0x68, 0x69 }, out[4] = { 0 }, back[2];
    ck_assert_uint_eq(codec_gsm7_pack(sep, 2, 1, out), 2);
    ck_assert_uint_eq(out[0], (0x68 << 1) & 0xFF);
    codec_gsm7_unpack(out, 2, 1, back);
    ck_assert_mem_eq(back, sep, 2);
}
END_TEST

/* Every default-alphabet septet decodes to a character that encodes back to
 * it (TS 23.038 6.2.1), and every extension-table character likewise (6.2.1.1). */
START_TEST(gsm7_every_character_round_trips)
{
    int defined_ext = 0;
    for (unsigned s = 0; s < 128; s++) {
        if (s == 0x1B)
            continue;
        uint32_t cp = codec_gsm7_char(CODEC_LANG_DEFAULT, false, (uint8_t)s);
        ck_assert_int_eq(codec_gsm7_lookup(cp), (int)s);
        uint32_t ext = codec_gsm7_char(CODEC_LANG_DEFAULT, true, (uint8_t)s);
        if (ext) {
            ck_assert_int_eq(codec_gsm7_lookup(ext), (int)(0x1B00 | s));
            defined_ext++;
        }
    }
    ck_assert_int_eq(defined_ext, 10); /* FF ^ { } \ [ ~ ] | € */
    ck_assert_int_eq(codec_gsm7_lookup(0x20AC), 0x1B65);
    ck_assert_int_eq(codec_gsm7_lookup('@'), 0x00);
    ck_assert_int_eq(codec_gsm7_lookup('$'), 0x02);
    ck_assert_int_eq(codec_gsm7_lookup('`'), -1);

    /* The whole alphabet as one message, through encode and decode. */
    char text[600];
    size_t o = 0;
    for (unsigned s = 0; s < 128; s++) {
        uint32_t cp = codec_gsm7_char(CODEC_LANG_DEFAULT, false, (uint8_t)s);
        if (s != 0x1B)
            o += codec_utf8_put(cp, text + o);
        cp = codec_gsm7_char(CODEC_LANG_DEFAULT, true, (uint8_t)s);
        if (cp)
            o += codec_utf8_put(cp, text + o);
    }
    ck_assert_int_eq(codec_encode(text, o, NULL, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_GSM7);
    ck_assert_uint_eq(msg.units, 127 + 20);
    char back[1200];
    size_t n = join_segments(back, sizeof back);
    ck_assert_uint_eq(n, o);
    ck_assert_mem_eq(back, text, n);
}
END_TEST

/* TS 23.038 annex A: spot checks of the national language tables. */
START_TEST(national_tables)
{
    /* A.2.1 Turkish locking shift; A.3.1 Turkish single shift */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_TURKISH, false, 0x07), 0x0131); /* ı */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_TURKISH, false, 0x0B), 0x011E); /* Ğ */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_TURKISH, false, 0x40), 0x0130); /* İ */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_TURKISH, true, 0x53), 0x015E);  /* Ş */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_TURKISH, true, 0x65), 0x20AC);  /* € */
    /* A.3.2 Spanish single shift; no Spanish locking table: default is used */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_SPANISH, true, 0x41), 0x00C1);  /* Á */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_SPANISH, true, 0x75), 0x00FA);  /* ú */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_SPANISH, false, 0x04), 0x00E8); /* è */
    /* A.2.3 Portuguese locking shift; A.3.3 Portuguese single shift */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_PORTUGUESE, false, 0x04), 0x00EA); /* ê */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_PORTUGUESE, false, 0x7B), 0x00E3); /* ã */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_PORTUGUESE, true, 0x5B), 0x00C3);  /* Ã */
    /* A.2.6 Hindi locking shift: 0x03 is अ, 0x05 इ */
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_HINDI, false, 0x03), 0x0905);
    ck_assert_uint_eq(codec_gsm7_char(CODEC_LANG_HINDI, false, 0x05), 0x0907);

    /* Turkish locking + single shift applied while decoding: "ığ€" */
    uint8_t sep[4] = { 0x07, 0x0C, 0x1B, 0x65 }, ud[8];
    size_t n = codec_gsm7_pack(sep, 4, 0, ud);
    struct codec_ud in = { CODEC_GSM7, ud, n, 4, 0, CODEC_LANG_TURKISH, CODEC_LANG_TURKISH };
    char out[32], err[CODEC_ERROR_MAX];
    ck_assert_int_eq(codec_decode(&in, out, sizeof out, err, sizeof err), 7);
    ck_assert_str_eq(out, "\xC4\xB1\xC4\x9F\xE2\x82\xAC");
}
END_TEST

/* An escape followed by a septet the extension table leaves undefined shows
 * the default table's character (TS 23.038 6.2.1.1 note 3); ESC ESC shows a space. */
START_TEST(decode_undefined_escape)
{
    uint8_t sep[5] = { 0x1B, 'A', 0x1B, 0x1B, 'b' }, ud[8];
    size_t n = codec_gsm7_pack(sep, 5, 0, ud);
    struct codec_ud in = { .encoding = CODEC_GSM7, .data = ud, .len = n, .udl = 5 };
    char out[32];
    ck_assert_int_eq(codec_decode(&in, out, sizeof out, NULL, 0), 3);
    ck_assert_str_eq(out, "A b");
}
END_TEST

START_TEST(utf8_validation)
{
    size_t bad = 99;
    ck_assert(codec_utf8_valid("h\xC3\xA9llo", 6, &bad));
    ck_assert(!codec_utf8_valid("ab\xC3", 3, &bad));
    ck_assert_uint_eq(bad, 2);
    ck_assert(!codec_utf8_valid("a\xC0\xAF", 3, &bad)); /* overlong '/' */
    ck_assert_uint_eq(bad, 1);
    ck_assert(!codec_utf8_valid("\xED\xA0\x80", 3, &bad)); /* UTF-8 surrogate */
    ck_assert(!codec_utf8_valid("\xF4\x90\x80\x80", 4, &bad)); /* > U+10FFFF */
    ck_assert(!codec_utf8_valid("\x80", 1, &bad));

    ck_assert_int_eq(codec_encode("hello \xFF", 7, NULL, &msg), -1);
    ck_assert_str_eq(msg.error, "invalid UTF-8 at byte 6");
}
END_TEST

static void fill(char *buf, const char *unit, unsigned times)
{
    buf[0] = '\0';
    for (unsigned i = 0; i < times; i++)
        strcat(buf, unit);
}

START_TEST(segment_limits_gsm7)
{
    static char text[4000];
    fill(text, "a", 160);
    ck_assert_int_eq(codec_encode(text, strlen(text), NULL, &msg), 0);
    ck_assert_uint_eq(msg.nsegments, 1);
    ck_assert(!msg.udhi);
    ck_assert_uint_eq(msg.seg[0].udl, 160);
    ck_assert_uint_eq(msg.seg[0].ud_len, 140);

    fill(text, "a", 161);
    struct codec_options opt = { .concat_ref = 0x42 };
    ck_assert_int_eq(codec_encode(text, strlen(text), &opt, &msg), 0);
    ck_assert_uint_eq(msg.nsegments, 2);
    ck_assert_uint_eq(msg.seg[0].udl, 160); /* 7 UDH septets + 153 */
    ck_assert_uint_eq(msg.seg[0].ud_len, 140);
    ck_assert_uint_eq(msg.seg[1].udl, 7 + 8);
    const uint8_t udh[] = { 0x05, 0x00, 0x03, 0x42, 0x02, 0x01 };
    ck_assert_mem_eq(msg.seg[0].ud, udh, 6);
    ck_assert_uint_eq(msg.seg[1].ud[5], 2);
    ck_assert_uint_eq(msg.seg[1].text_off, 153);
    ck_assert_uint_eq(msg.seg[1].text_len, 8);
}
END_TEST

/* A euro sign (ESC 0x65) that would straddle the 153-septet boundary moves
 * whole to the next segment. */
START_TEST(segment_never_splits_escape)
{
    static char text[400];
    fill(text, "a", 152);
    strcat(text, "\xE2\x82\xAC");
    strcat(text, "bbbbbbbbbb");
    ck_assert_int_eq(codec_encode(text, strlen(text), NULL, &msg), 0);
    ck_assert_uint_eq(msg.units, 164);
    ck_assert_uint_eq(msg.nsegments, 2);
    ck_assert_uint_eq(msg.seg[0].udl, 7 + 152);
    ck_assert_uint_eq(msg.seg[1].udl, 7 + 12);
    char part[CODEC_TEXT_MAX];
    codec_decode_segment(&msg, 1, part, sizeof part);
    ck_assert_str_eq(part, "\xE2\x82\xAC" "bbbbbbbbbb");
}
END_TEST

START_TEST(segment_limits_ucs2)
{
    static char text[2000];
    fill(text, "\xD0\x96", 70); /* Ж */
    ck_assert_int_eq(codec_encode(text, strlen(text), NULL, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_UCS2);
    ck_assert_uint_eq(msg.nsegments, 1);
    ck_assert_uint_eq(msg.seg[0].udl, 140);

    /* 66 units then an emoji (a surrogate pair) does not fit 67: it moves. */
    fill(text, "\xD0\x96", 66);
    strcat(text, "\xF0\x9F\x98\x80");
    strcat(text, "\xD0\x96\xD0\x96\xD0\x96");
    ck_assert_int_eq(codec_encode(text, strlen(text), NULL, &msg), 0);
    ck_assert_uint_eq(msg.units, 71);
    ck_assert_uint_eq(msg.nsegments, 2);
    ck_assert_uint_eq(msg.seg[0].udl, 6 + 132);
    ck_assert_uint_eq(msg.seg[1].udl, 6 + 10);
    ck_assert_uint_eq(msg.seg[1].ud[6], 0xD8);
    ck_assert_uint_eq(msg.seg[1].ud[7], 0x3D);
    ck_assert_uint_eq(msg.seg[1].ud[8], 0xDE);
    ck_assert_uint_eq(msg.seg[1].ud[9], 0x00);
}
END_TEST

START_TEST(segment_max_error)
{
    static char text[4000];
    fill(text, "a", 153 * 3 + 1);
    struct codec_options opt = { .max_segments = 3 };
    ck_assert_int_eq(codec_encode(text, strlen(text), &opt, &msg), -1);
    ck_assert_str_eq(msg.error,
                     "text needs 4 segments (460 septets), more than the limit of 3");
    fill(text, "a", 153 * 10 + 1); /* default limit is 10 */
    ck_assert_int_eq(codec_encode(text, strlen(text), NULL, &msg), -1);
    opt.max_segments = 11;
    ck_assert_int_eq(codec_encode(text, strlen(text), &opt, &msg), 0);
    ck_assert_uint_eq(msg.nsegments, 11);
}
END_TEST

START_TEST(smart_mode)
{
    const char *t = "It\xE2\x80\x99s \xE2\x80\x9C" "fine\xE2\x80\x9D \xE2\x80\x94 ok\xE2\x80\xA6\xC2\xA0!";
    ck_assert_int_eq(codec_encode(t, strlen(t), NULL, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_UCS2);
    ck_assert_uint_eq(msg.nreplaced, 0);

    struct codec_options opt = { .smart = true };
    ck_assert_int_eq(codec_encode(t, strlen(t), &opt, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_GSM7);
    ck_assert_uint_eq(msg.nreplaced, 6);
    ck_assert_uint_eq(msg.replaced[0].offset, 2);
    ck_assert_uint_eq(msg.replaced[0].from, 0x2019);
    ck_assert_str_eq(msg.replaced[0].to, "'");
    char out[CODEC_TEXT_MAX];
    codec_decode_segment(&msg, 0, out, sizeof out);
    ck_assert_str_eq(out, "It's \"fine\" - ok... !");

    /* Smart mode does nothing when the text needs UCS-2 anyway. */
    t = "\xE2\x80\x9C\xD0\x96\xE2\x80\x9D";
    ck_assert_int_eq(codec_encode(t, strlen(t), &opt, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_UCS2);
    ck_assert_uint_eq(msg.nreplaced, 0);
}
END_TEST

START_TEST(force_ucs2_and_empty)
{
    struct codec_options opt = { .force_ucs2 = true };
    ck_assert_int_eq(codec_encode("Hi", 2, &opt, &msg), 0);
    ck_assert_int_eq(msg.encoding, CODEC_UCS2);
    const uint8_t ud[] = { 0, 'H', 0, 'i' };
    ck_assert_uint_eq(msg.seg[0].udl, 4);
    ck_assert_mem_eq(msg.seg[0].ud, ud, 4);

    ck_assert_int_eq(codec_encode("", 0, NULL, &msg), 0);
    ck_assert_uint_eq(msg.nsegments, 1);
    ck_assert_uint_eq(msg.seg[0].udl, 0);
}
END_TEST

START_TEST(decode_lengths_checked)
{
    uint8_t ud[20] = { 0 };
    char out[CODEC_TEXT_MAX], err[CODEC_ERROR_MAX];
    struct codec_ud in = { .encoding = CODEC_GSM7, .data = ud, .len = 20, .udl = 160 };
    ck_assert_int_eq(codec_decode(&in, out, sizeof out, err, sizeof err), -1);
    ck_assert_str_eq(err, "TP-UDL says 160 septets but only 20 octets follow");
    in.encoding = CODEC_UCS2;
    in.udl = 22;
    ck_assert_int_eq(codec_decode(&in, out, sizeof out, err, sizeof err), -1);
    ck_assert_str_eq(err, "TP-UDL says 22 octets but only 20 follow");

    /* A lone surrogate and an odd octet become U+FFFD. */
    const uint8_t bad[] = { 0xD8, 0x3D, 0x00, 0x41, 0x00 };
    in = (struct codec_ud){ .encoding = CODEC_UCS2, .data = bad, .len = 5, .udl = 5 };
    ck_assert_int_eq(codec_decode(&in, out, sizeof out, err, sizeof err), 7);
    ck_assert_str_eq(out, "\xEF\xBF\xBD" "A" "\xEF\xBF\xBD");
}
END_TEST

/* --- randomized property test ---------------------------------------------- */

static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t random_char(bool gsm_only)
{
    static const uint32_t ext[] = { 0x0C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC };
    unsigned kind = rng() % (gsm_only ? 3 : 6);
    switch (kind) {
    case 0: {                                           /* printable ASCII */
        uint32_t c = 0x20 + rng() % 0x5F;
        return c == '`' && gsm_only ? '\'' : c;        /* '`' is not GSM */
    }
    case 1: return ext[rng() % 10];                     /* GSM extension */
    case 2: return codec_gsm7_char(CODEC_LANG_DEFAULT, false, (uint8_t)(rng() % 27)); /* GSM accents, Greek */
    case 3: return 0xA0 + rng() % 0x60;                 /* Latin-1 */
    case 4: {                                           /* BMP, no surrogates */
        uint32_t c = 0x100 + rng() % (0xFFFE - 0x100);
        return c >= 0xD800 && c <= 0xDFFF ? 0x4E2D : c;
    }
    default: return 0x1F300 + rng() % 0x400;            /* astral emoji */
    }
}

static void check_segments(void)
{
    for (unsigned i = 0; i < msg.nsegments; i++) {
        const struct codec_segment *s = &msg.seg[i];
        unsigned hdr = msg.udhi ? 6 : 0;
        if (msg.encoding == CODEC_GSM7) {
            uint8_t sep[160];
            unsigned udh_sep = (hdr * 8 + 6) / 7;
            ck_assert_uint_le(s->udl, 160);
            codec_gsm7_unpack(s->ud + hdr, s->udl - udh_sep, udh_sep * 7 - hdr * 8, sep);
            unsigned esc = 0; /* a trailing odd run of ESC is a split pair */
            for (unsigned k = s->udl - udh_sep; k > 0 && sep[k - 1] == 0x1B; k--)
                esc++;
            ck_assert_uint_eq(esc % 2, 0);
        } else {
            ck_assert_uint_le(s->udl, 140);
            if (s->udl > hdr) {
                ck_assert((s->ud[s->udl - 2] & 0xFC) != 0xD8); /* no high surrogate last */
                ck_assert((s->ud[hdr] & 0xFC) != 0xDC);        /* no low surrogate first */
            }
        }
    }
}

START_TEST(property_round_trip)
{
    static char text[2000], back[4000];
    struct codec_options opt = { .max_segments = 255 };
    rng_state = 20261122;
    for (int round = 0; round < 10000; round++) {
        bool gsm_only = rng() % 2;
        unsigned nchars = rng() % 400;
        size_t len = 0;
        for (unsigned k = 0; k < nchars; k++)
            len += codec_utf8_put(random_char(gsm_only), text + len);
        ck_assert_int_eq(codec_encode(text, len, &opt, &msg), 0);
        if (gsm_only)
            ck_assert_int_eq(msg.encoding, CODEC_GSM7);
        check_segments();
        size_t n = join_segments(back, sizeof back);
        ck_assert_uint_eq(n, len);
        ck_assert_mem_eq(back, text, len);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pack_hellohello);
    tcase_add_test(tc, pack_eight_septets);
    tcase_add_test(tc, pack_ussd_cr_padding);
    tcase_add_test(tc, pack_fill_bits);
    tcase_add_test(tc, gsm7_every_character_round_trips);
    tcase_add_test(tc, national_tables);
    tcase_add_test(tc, decode_undefined_escape);
    tcase_add_test(tc, utf8_validation);
    tcase_add_test(tc, segment_limits_gsm7);
    tcase_add_test(tc, segment_never_splits_escape);
    tcase_add_test(tc, segment_limits_ucs2);
    tcase_add_test(tc, segment_max_error);
    tcase_add_test(tc, smart_mode);
    tcase_add_test(tc, force_ucs2_and_empty);
    tcase_add_test(tc, decode_lengths_checked);
    tcase_add_test(tc, property_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return testutil_run(suite()); }
