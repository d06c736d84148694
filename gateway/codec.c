/*
 * codec: UTF-8 text to segmented TP-UD and back.
 *
 * codec_encode() makes two passes over the text. The first validates the
 * UTF-8 and decides the alphabet: GSM 7-bit if every character is in the
 * default alphabet or its extension table (or, in smart mode, has a
 * replacement that is), else UCS-2. Only then is the size known, and with it
 * whether the message fits one segment (160 septets / 70 UTF-16 units) or
 * needs a concat UDH on every part (153 / 67). The second pass fills the
 * segments, moving to the next one before a character whose code units would
 * not fit, so an escape pair or surrogate pair always stays in one segment;
 * the UDH's "total" octet is patched in at the end.
 *
 * Smart replacement is all or nothing: it is used only when it makes the
 * whole text GSM 7-bit. Text that needs UCS-2 anyway keeps its curly quotes.
 */
#include "gateway/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GSM7_SINGLE 160
#define GSM7_MULTI 153
#define UCS2_SINGLE 70
#define UCS2_MULTI 67
#define CONCAT_UDH_LEN 6 /* UDHL 05, IEI 00, IEDL 03, ref, total, seq */

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *codec_encoding_name(enum codec_encoding enc)
{
    switch (enc) {
    case CODEC_GSM7: return "gsm7";
    case CODEC_8BIT: return "8bit";
    case CODEC_UCS2: return "ucs2";
    }
    return "unknown";
}

uint8_t codec_dcs(enum codec_encoding enc)
{
    return enc == CODEC_UCS2 ? 0x08 : enc == CODEC_8BIT ? 0x04 : 0x00;
}

/* --- UTF-8 ---------------------------------------------------------------- */

size_t codec_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint32_t c = s[0];
    size_t n;
    uint32_t min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t codec_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool codec_utf8_valid(const char *s, size_t len, size_t *bad)
{
    const uint8_t *p = (const uint8_t *)s;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t n = codec_utf8_next(p + i, len - i, &cp);
        if (n == 0) {
            if (bad)
                *bad = i;
            return false;
        }
        i += n;
    }
    return true;
}

/* --- smart replacements ----------------------------------------------------- */

/* Sorted by code point. Every replacement is in the GSM default alphabet. */
static const struct translit {
    uint32_t cp;
    const char *to;
} translits[] = {
    { 0x0060, "'" },   { 0x00A0, " " },   { 0x00AB, "\"" },  { 0x00AD, "" },
    { 0x00B4, "'" },   { 0x00BB, "\"" },  { 0x00C0, "A" },   { 0x00C1, "A" },
    { 0x00C2, "A" },   { 0x00C3, "A" },   { 0x00C8, "E" },   { 0x00CA, "E" },
    { 0x00CB, "E" },   { 0x00CD, "I" },   { 0x00D3, "O" },   { 0x00D4, "O" },
    { 0x00DA, "U" },   { 0x00E1, "a" },   { 0x00E2, "a" },   { 0x00E3, "a" },
    { 0x00E7, "\xC3\x87" }, { 0x00EA, "e" }, { 0x00EB, "e" }, { 0x00ED, "i" },
    { 0x00EE, "i" },   { 0x00EF, "i" },   { 0x00F3, "o" },   { 0x00F4, "o" },
    { 0x00F5, "o" },   { 0x00FA, "u" },   { 0x00FB, "u" },   { 0x02BC, "'" },
    { 0x02C6, "^" },   { 0x02DC, "~" },   { 0x2000, " " },   { 0x2001, " " },
    { 0x2002, " " },   { 0x2003, " " },   { 0x2004, " " },   { 0x2005, " " },
    { 0x2006, " " },   { 0x2007, " " },   { 0x2008, " " },   { 0x2009, " " },
    { 0x200A, " " },   { 0x200B, "" },    { 0x2010, "-" },   { 0x2011, "-" },
    { 0x2012, "-" },   { 0x2013, "-" },   { 0x2014, "-" },   { 0x2015, "-" },
    { 0x2018, "'" },   { 0x2019, "'" },   { 0x201A, "'" },   { 0x201B, "'" },
    { 0x201C, "\"" },  { 0x201D, "\"" },  { 0x201E, "\"" },  { 0x201F, "\"" },
    { 0x2022, "*" },   { 0x2026, "..." }, { 0x202F, " " },   { 0x2032, "'" },
    { 0x2033, "\"" },  { 0x2039, "<" },   { 0x203A, ">" },   { 0x2060, "" },
    { 0x2212, "-" },   { 0xFEFF, "" },
};

static int translit_cmp(const void *key, const void *elem)
{
    uint32_t cp = *(const uint32_t *)key;
    const struct translit *t = elem;
    return cp < t->cp ? -1 : cp > t->cp;
}

static const char *translit_find(uint32_t cp)
{
    const struct translit *t = bsearch(&cp, translits,
        sizeof translits / sizeof translits[0], sizeof translits[0], translit_cmp);
    return t ? t->to : NULL;
}

/* Septets of a replacement string (each of its characters is GSM). */
static unsigned translit_cost(const char *to)
{
    const uint8_t *p = (const uint8_t *)to;
    size_t len = strlen(to);
    unsigned cost = 0;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t n = codec_utf8_next(p + i, len - i, &cp);
        cost += codec_gsm7_lookup(cp) > 0x7F ? 2 : 1;
        i += n;
    }
    return cost;
}

/* --- encoding --------------------------------------------------------------- */

/* What the first pass learns about the text. */
struct scan {
    bool gsm_strict;   /* every character in the default alphabet */
    bool gsm_smart;    /* ... or with a replacement */
    unsigned septets;  /* with replacements where needed */
    unsigned units;    /* UTF-16 code units */
};

static int scan_text(const uint8_t *p, size_t len, struct scan *sc, char *err)
{
    uint32_t cp;

    *sc = (struct scan){ true, true, 0, 0 };
    for (size_t i = 0; i < len;) {
        size_t n = codec_utf8_next(p + i, len - i, &cp);
        if (n == 0)
            return fail(err, CODEC_ERROR_MAX, "invalid UTF-8 at byte %zu", i);
        i += n;
        sc->units += cp >= 0x10000 ? 2 : 1;
        int code = codec_gsm7_lookup(cp);
        if (code >= 0) {
            sc->septets += code > 0x7F ? 2 : 1;
            continue;
        }
        sc->gsm_strict = false;
        const char *to = sc->gsm_smart ? translit_find(cp) : NULL;
        if (to)
            sc->septets += translit_cost(to);
        else
            sc->gsm_smart = false;
    }
    return 0;
}

/* The second pass: fills segments one character at a time. */
struct enc {
    struct codec_message *m;
    const struct codec_options *opt;
    unsigned max;      /* segments allowed */
    unsigned limit;    /* code units per segment */
    unsigned seg;      /* segment being filled */
    unsigned used;     /* code units in it */
    size_t start;      /* its first input byte */
    uint8_t sep[GSM7_SINGLE];
    uint8_t u16[CODEC_UD_MAX];
};

static void seg_close(struct enc *e, size_t end)
{
    struct codec_segment *s;
    unsigned hdr = e->m->udhi ? CONCAT_UDH_LEN : 0;

    if (e->seg >= e->max)
        return; /* only counting, to report how many would be needed */
    s = &e->m->seg[e->seg];
    s->text_off = e->start;
    s->text_len = end - e->start;
    if (hdr) {
        static const uint8_t udh[4] = { 0x05, 0x00, 0x03 };
        memcpy(s->ud, udh, 3);
        s->ud[3] = e->opt->concat_ref;
        s->ud[4] = 0; /* total: known at the end */
        s->ud[5] = (uint8_t)(e->seg + 1);
    }
    if (e->m->encoding == CODEC_GSM7) {
        unsigned udh_septets = (hdr * 8 + 6) / 7;
        unsigned fill = udh_septets * 7 - hdr * 8;
        s->ud_len = (uint8_t)(hdr + codec_gsm7_pack(e->sep, e->used, fill, s->ud + hdr));
        s->udl = (uint8_t)(udh_septets + e->used);
    } else {
        memcpy(s->ud + hdr, e->u16, e->used * 2);
        s->ud_len = s->udl = (uint8_t)(hdr + e->used * 2);
    }
}

/* Makes room for `cost` code units of the character at byte `off`. */
static void seg_room(struct enc *e, unsigned cost, size_t off)
{
    if (e->used + cost <= e->limit)
        return;
    seg_close(e, off);
    e->seg++;
    e->used = 0;
    e->start = off;
}

static void put_ucs2(struct enc *e, uint32_t cp, size_t off)
{
    if (cp >= 0x10000) {
        seg_room(e, 2, off);
        uint32_t v = cp - 0x10000;
        uint16_t hi = (uint16_t)(0xD800 | (v >> 10)), lo = (uint16_t)(0xDC00 | (v & 0x3FF));
        e->u16[e->used * 2] = (uint8_t)(hi >> 8);
        e->u16[e->used * 2 + 1] = (uint8_t)hi;
        e->u16[e->used * 2 + 2] = (uint8_t)(lo >> 8);
        e->u16[e->used * 2 + 3] = (uint8_t)lo;
        e->used += 2;
        return;
    }
    seg_room(e, 1, off);
    e->u16[e->used * 2] = (uint8_t)(cp >> 8);
    e->u16[e->used * 2 + 1] = (uint8_t)cp;
    e->used++;
}

static void note_replacement(struct codec_message *m, size_t off, uint32_t cp, const char *to)
{
    if (m->nreplaced < CODEC_MAX_REPLACED)
        m->replaced[m->nreplaced] = (struct codec_replacement){ off, cp, to };
    m->nreplaced++;
}

static void put_gsm7(struct enc *e, uint32_t cp, size_t off)
{
    int code = codec_gsm7_lookup(cp);

    if (code < 0) {
        const char *to = translit_find(cp); /* the scan made sure it exists */
        const uint8_t *p = (const uint8_t *)to;
        size_t len = strlen(to);
        note_replacement(e->m, off, cp, to);
        seg_room(e, translit_cost(to), off);
        for (size_t i = 0; i < len;) {
            uint32_t c;
            i += codec_utf8_next(p + i, len - i, &c);
            code = codec_gsm7_lookup(c);
            e->sep[e->used++] = (uint8_t)code;
        }
        return;
    }
    if (code > 0x7F) {
        seg_room(e, 2, off);
        e->sep[e->used++] = 0x1B;
        e->sep[e->used++] = (uint8_t)(code & 0x7F);
        return;
    }
    seg_room(e, 1, off);
    e->sep[e->used++] = (uint8_t)code;
}

static void fill_segments(struct enc *e, const uint8_t *p, size_t len)
{
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t n = codec_utf8_next(p + i, len - i, &cp);
        if (e->m->encoding == CODEC_GSM7)
            put_gsm7(e, cp, i);
        else
            put_ucs2(e, cp, i);
        i += n;
    }
    seg_close(e, len);
}

int codec_encode(const char *text, size_t len, const struct codec_options *opt,
                 struct codec_message *out)
{
    static const struct codec_options defaults;
    const uint8_t *p = (const uint8_t *)text;
    struct scan sc;
    struct enc e;

    if (!opt)
        opt = &defaults;
    out->nsegments = 0;
    out->nreplaced = 0;
    out->udhi = false;
    out->error[0] = '\0';
    if (scan_text(p, len, &sc, out->error) < 0)
        return -1;
    bool gsm = !opt->force_ucs2 && (sc.gsm_strict || (opt->smart && sc.gsm_smart));
    out->encoding = gsm ? CODEC_GSM7 : CODEC_UCS2;
    out->units = gsm ? sc.septets : sc.units;
    out->udhi = out->units > (gsm ? GSM7_SINGLE : UCS2_SINGLE);

    e.m = out;
    e.opt = opt;
    e.max = opt->max_segments ? opt->max_segments : CODEC_DEFAULT_MAX_SEGMENTS;
    if (e.max > CODEC_MAX_SEGMENTS)
        e.max = CODEC_MAX_SEGMENTS;
    e.limit = gsm ? (out->udhi ? GSM7_MULTI : GSM7_SINGLE)
                  : (out->udhi ? UCS2_MULTI : UCS2_SINGLE);
    e.seg = e.used = 0;
    e.start = 0;
    fill_segments(&e, p, len);

    if (e.seg >= e.max)
        return fail(out->error, sizeof out->error,
                    "text needs %u segments (%u %s), more than the limit of %u",
                    e.seg + 1, out->units, gsm ? "septets" : "UTF-16 units", e.max);
    out->nsegments = e.seg + 1;
    for (unsigned i = 0; out->udhi && i < out->nsegments; i++)
        out->seg[i].ud[4] = (uint8_t)out->nsegments;
    return 0;
}

/* --- decoding --------------------------------------------------------------- */

/* Appends cp to out if it fits with room for the NUL. */
static bool put_utf8(char *out, size_t outsz, size_t *o, uint32_t cp)
{
    char tmp[4];
    size_t n = codec_utf8_put(cp, tmp);
    if (*o + n + 1 > outsz)
        return false;
    memcpy(out + *o, tmp, n);
    *o += n;
    return true;
}

static int decode_gsm7(const struct codec_ud *ud, char *out, size_t outsz,
                       char *err, size_t errsz)
{
    uint8_t sep[256];
    unsigned udh_septets = (ud->udh_len * 8 + 6) / 7;
    size_t need = ((size_t)ud->udl * 7 + 7) / 8;

    if (ud->udl > 255)
        return fail(err, errsz, "TP-UDL %u septets is more than 255", ud->udl);
    if (need > ud->len)
        return fail(err, errsz, "TP-UDL says %u septets but only %zu octets follow",
                    ud->udl, ud->len);
    if (udh_septets > ud->udl)
        return fail(err, errsz, "TP-UDL %u septets is shorter than the %u-octet UDH",
                    ud->udl, ud->udh_len);
    size_t n = ud->udl - udh_septets;
    codec_gsm7_unpack(ud->data + ud->udh_len, n, udh_septets * 7 - ud->udh_len * 8, sep);
    int r = codec_gsm7_to_utf8(sep, n, ud->lock, ud->shift, out, outsz);
    if (r < 0)
        return fail(err, errsz, "decoded text does not fit %zu bytes", outsz);
    return r;
}

static int decode_ucs2(const struct codec_ud *ud, char *out, size_t outsz,
                       char *err, size_t errsz)
{
    const uint8_t *p = ud->data + ud->udh_len;
    size_t n = ud->udl - ud->udh_len, o = 0;

    for (size_t i = 0; i < n; i += 2) {
        uint32_t cp = 0xFFFD; /* an odd last octet, or a lone surrogate */
        if (i + 1 < n)
            cp = (uint32_t)p[i] << 8 | p[i + 1];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < n) {
            uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD;
        if (!put_utf8(out, outsz, &o, cp))
            return fail(err, errsz, "decoded text does not fit %zu bytes", outsz);
    }
    out[o] = '\0';
    return (int)o;
}

int codec_decode(const struct codec_ud *ud, char *out, size_t outsz,
                 char *err, size_t errsz)
{
    if (outsz == 0)
        return fail(err, errsz, "no room for the text");
    out[0] = '\0';
    if (ud->encoding == CODEC_GSM7)
        return decode_gsm7(ud, out, outsz, err, errsz);
    if (ud->udl > ud->len)
        return fail(err, errsz, "TP-UDL says %u octets but only %zu follow",
                    ud->udl, ud->len);
    if (ud->udh_len > ud->udl)
        return fail(err, errsz, "TP-UDL %u octets is shorter than the %u-octet UDH",
                    ud->udl, ud->udh_len);
    if (ud->encoding == CODEC_8BIT)
        return 0;
    return decode_ucs2(ud, out, outsz, err, errsz);
}

int codec_decode_segment(const struct codec_message *m, unsigned i, char *out, size_t outsz)
{
    const struct codec_segment *s = &m->seg[i];
    struct codec_ud ud = {
        .encoding = m->encoding, .data = s->ud, .len = s->ud_len, .udl = s->udl,
        .udh_len = m->udhi ? CONCAT_UDH_LEN : 0,
    };
    return codec_decode(&ud, out, outsz, NULL, 0);
}
