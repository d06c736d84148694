/*
 * text: the simulator's own, deliberately plain text codecs.
 *
 * GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table, in the
 * "unpacked" form SMPP uses with data_coding 0: one septet per octet, 0x1B
 * escaping into the extension table. UCS-2 is decoded as UTF-16 BE (surrogate
 * pairs are accepted, as handsets send them). Latin-1 maps octets to code
 * points one to one. Nothing here is shared with homing's codec: the tables
 * are written out from the specification so that a mistake in one is not
 * mirrored in the other.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

#define REPLACEMENT 0xFFFDu

static const uint16_t gsm_basic[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* 00 */
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* 10 */
    0x03A3, 0x0398, 0x039E, 0x001B, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, /* 20 */
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 30 */
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* 40 */
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* 50 */
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* 60 */
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* 70 */
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table: septet after 0x1B -> code point. */
static const struct { uint8_t septet; uint16_t cp; } gsm_ext[] = {
    {0x0A, 0x000C}, {0x14, 0x005E}, {0x28, 0x007B}, {0x29, 0x007D},
    {0x2F, 0x005C}, {0x3C, 0x005B}, {0x3D, 0x007E}, {0x3E, 0x005D},
    {0x40, 0x007C}, {0x65, 0x20AC},
};

#define N_EXT (sizeof gsm_ext / sizeof gsm_ext[0])

struct out {
    char *p;
    size_t left;
    bool full;
};

static void put_cp(struct out *o, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (n >= o->left) {
        o->full = true;
        return;
    }
    memcpy(o->p, b, n);
    o->p += n;
    o->left -= n;
    *o->p = '\0';
}

static uint32_t gsm_ext_cp(uint8_t septet)
{
    for (size_t i = 0; i < N_EXT; i++)
        if (gsm_ext[i].septet == septet)
            return gsm_ext[i].cp;
    /* 23.038: an unknown extension shows the default-table character. */
    return gsm_basic[septet];
}

static void gsm_decode(const uint8_t *in, size_t len, struct out *o)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] > 0x7F) {
            put_cp(o, REPLACEMENT);
        } else if (in[i] != 0x1B) {
            put_cp(o, gsm_basic[in[i]]);
        } else if (i + 1 < len && in[i + 1] <= 0x7F && in[i + 1] != 0x1B) {
            put_cp(o, gsm_ext_cp(in[++i]));
        } else {
            put_cp(o, REPLACEMENT);
        }
    }
}

static void ucs2_decode(const uint8_t *in, size_t len, struct out *o)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2) {
        uint32_t u = (uint32_t)in[i] << 8 | in[i + 1];
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < len) {
            uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
            if (lo >= 0xDC00 && lo < 0xE000) {
                put_cp(o, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i += 2;
                continue;
            }
        }
        put_cp(o, (u >= 0xD800 && u < 0xE000) ? REPLACEMENT : u);
    }
    if (i < len)
        put_cp(o, REPLACEMENT); /* odd trailing octet */
}

int text_to_utf8(uint8_t data_coding, const uint8_t *in, size_t len, char *out,
                 size_t outsize)
{
    struct out o = { out, outsize, false };
    if (outsize == 0)
        return -1;
    out[0] = '\0';
    switch (data_coding) {
    case 0:
        gsm_decode(in, len, &o);
        break;
    case 8:
        ucs2_decode(in, len, &o);
        break;
    case 1: /* IA5 (ASCII) */
    case 3: /* Latin-1 */
        for (size_t i = 0; i < len; i++)
            put_cp(&o, (data_coding == 1 && in[i] > 0x7F) ? REPLACEMENT : in[i]);
        break;
    default:
        return -1;
    }
    return 0;
}

/* Next code point of a UTF-8 string; advances *s. Returns -1 when invalid. */
static long next_cp(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    long cp;
    int n;
    if (p[0] < 0x80) {
        cp = p[0];
        n = 0;
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1F;
        n = 1;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0F;
        n = 2;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    *s += n + 1;
    return cp;
}

/* The GSM encoding of one code point: 1 or 2 octets into b, or 0. */
static int gsm_encode_cp(long cp, uint8_t b[2])
{
    for (int i = 0; i < 128; i++) {
        if (gsm_basic[i] == cp && i != 0x1B) {
            b[0] = (uint8_t)i;
            return 1;
        }
    }
    for (size_t i = 0; i < N_EXT; i++) {
        if (gsm_ext[i].cp == cp) {
            b[0] = 0x1B;
            b[1] = gsm_ext[i].septet;
            return 2;
        }
    }
    return 0;
}

int text_gsm_from_utf8(const char *in, uint8_t *out, size_t outsize)
{
    size_t n = 0;
    while (*in) {
        uint8_t b[2];
        long cp = next_cp(&in);
        int k = cp < 0 ? 0 : gsm_encode_cp(cp, b);
        if (k == 0 || n + (size_t)k > outsize)
            return -1;
        memcpy(out + n, b, (size_t)k);
        n += (size_t)k;
    }
    return (int)n;
}

int text_ucs2_from_utf8(const char *in, uint8_t *out, size_t outsize)
{
    size_t n = 0;
    while (*in) {
        long cp = next_cp(&in);
        if (cp < 0 || n + (cp >= 0x10000 ? 4 : 2) > outsize)
            return -1;
        if (cp >= 0x10000) {
            long v = cp - 0x10000;
            long hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
            out[n++] = (uint8_t)(hi >> 8);
            out[n++] = (uint8_t)hi;
            out[n++] = (uint8_t)(lo >> 8);
            out[n++] = (uint8_t)lo;
        } else {
            out[n++] = (uint8_t)(cp >> 8);
            out[n++] = (uint8_t)cp;
        }
    }
    return (int)n;
}

int text_latin1_from_utf8(const char *in, uint8_t *out, size_t outsize)
{
    size_t n = 0;
    while (*in) {
        long cp = next_cp(&in);
        if (cp < 0 || cp > 0xFF || n >= outsize)
            return -1;
        out[n++] = (uint8_t)cp;
    }
    return (int)n;
}

/* One information element of a UDH: concatenation IEs fill c. */
static void udh_ie(uint8_t iei, const uint8_t *v, uint8_t len, struct udh_concat *c)
{
    if (iei == 0x00 && len == 3) {
        c->present = true;
        c->ref = v[0];
        c->total = v[1];
        c->seq = v[2];
        c->ref_bits = 8;
    } else if (iei == 0x08 && len == 4) {
        c->present = true;
        c->ref = (unsigned)v[0] << 8 | v[1];
        c->total = v[2];
        c->seq = v[3];
        c->ref_bits = 16;
    }
}

int text_udh_parse(const uint8_t *buf, size_t len, struct udh_concat *concat)
{
    memset(concat, 0, sizeof *concat);
    if (len < 1 || (size_t)buf[0] + 1 > len)
        return -1;
    size_t end = (size_t)buf[0] + 1, i = 1;
    while (i < end) {
        if (i + 2 > end || i + 2 + buf[i + 1] > end)
            return -1;
        udh_ie(buf[i], buf + i + 2, buf[i + 1], concat);
        i += 2 + (size_t)buf[i + 1];
    }
    return (int)end;
}

void text_hex(const uint8_t *buf, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[buf[i] >> 4];
        out[2 * i + 1] = digits[buf[i] & 0x0F];
    }
    out[2 * len] = '\0';
}

/* data_coding 0xF0..0xFF (message class): bit 2 clear means GSM 7-bit. */
static uint8_t text_coding(uint8_t dc)
{
    if ((dc & 0xF0) == 0xF0)
        return (dc & 0x04) ? 4 : 0;
    return dc;
}

int text_sm_decode(const struct sim_sm *sm, struct sm_text *t, char *out,
                   size_t outsize)
{
    memset(t, 0, sizeof *t);
    t->ud = sm->has_payload ? sm->payload : sm->sm;
    t->ud_len = sm->has_payload ? sm->payload_len : sm->sm_len;
    if (outsize)
        out[0] = '\0';
    if (sm->esm_class & 0x40) {
        int n = text_udh_parse(t->ud, t->ud_len, &t->concat);
        if (n < 0)
            return -1;
        t->udh_len = (size_t)n;
    }
    return text_to_utf8(text_coding(sm->data_coding), t->ud + t->udh_len,
                        t->ud_len - t->udh_len, out, outsize);
}
