/*
 * simpdu: a deliberately plain SMS PDU codec for the modem simulator.
 *
 * Every field is read or written in the order 3GPP TS 23.040 section 9.2
 * lists it, with a bounds check before each read, so a reader can hold the
 * code against the spec line by line. Nothing here is shared with homing's
 * own codec (see simpdu.h for why). The GSM 03.38 tables are written out in full
 * rather than derived, for the same reason.
 */
#include "tools/modem-sim/simpdu.h"

#include <stdio.h>
#include <string.h>

/* GSM 03.38 default alphabet, septet value -> Unicode code point. 0x1B is the escape. */
static const uint16_t gsm7_basic[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    0x03A3, 0x0398, 0x039E, 0x001B, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table: septet after 0x1B -> code point. */
static const struct { uint8_t septet; uint16_t cp; } gsm7_ext[] = {
    {0x0A, 0x000C}, {0x14, 0x005E}, {0x28, 0x007B}, {0x29, 0x007D},
    {0x2F, 0x005C}, {0x3C, 0x005B}, {0x3D, 0x007E}, {0x3E, 0x005D},
    {0x40, 0x007C}, {0x65, 0x20AC},
};

#define N_EXT (sizeof gsm7_ext / sizeof gsm7_ext[0])

/* ---- small helpers --------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int simpdu_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
    if (hexlen % 2 != 0 || hexlen / 2 > cap)
        return -1;
    for (size_t i = 0; i < hexlen; i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(hexlen / 2);
}

void simpdu_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Decodes one UTF-8 sequence at s[*i]; returns false on malformed input. */
static bool utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp)
{
    const uint8_t *u = (const uint8_t *)s;
    uint8_t c = u[*i];
    int extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
              : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || *i + (size_t)extra >= len + (extra == 0 ? 1 : 0))
        return false;
    uint32_t v = extra == 0 ? c : (uint32_t)(c & (0x3F >> extra));
    for (int k = 1; k <= extra; k++) {
        if ((u[*i + (size_t)k] & 0xC0) != 0x80)
            return false;
        v = v << 6 | (u[*i + (size_t)k] & 0x3F);
    }
    *i += (size_t)extra + 1;
    *cp = v;
    return true;
}

/* Appends a code point as UTF-8; returns false when out is full. */
static bool utf8_put(uint32_t cp, char *out, size_t cap, size_t *pos)
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
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (*pos + n + 1 > cap)
        return false;
    memcpy(out + *pos, b, n);
    *pos += n;
    out[*pos] = '\0';
    return true;
}

/* Septets for one code point: 1, 2 (escape + ext), or 0 if not in the alphabet. */
static int gsm7_from_cp(uint32_t cp, uint8_t out[2])
{
    for (int s = 0; s < 128; s++) {
        if (gsm7_basic[s] == cp && s != 0x1B) {
            out[0] = (uint8_t)s;
            return 1;
        }
    }
    for (size_t k = 0; k < N_EXT; k++) {
        if (gsm7_ext[k].cp == cp) {
            out[0] = 0x1B;
            out[1] = gsm7_ext[k].septet;
            return 2;
        }
    }
    return 0;
}

static uint32_t gsm7_ext_cp(uint8_t septet)
{
    for (size_t k = 0; k < N_EXT; k++)
        if (gsm7_ext[k].septet == septet)
            return gsm7_ext[k].cp;
    /* 23.038: an unknown extension shows as the basic character. */
    return gsm7_basic[septet & 0x7F];
}

bool simpdu_gsm7_fits(const char *text, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    uint8_t sep[2];
    while (i < len) {
        if (!utf8_next(text, len, &i, &cp) || gsm7_from_cp(cp, sep) == 0)
            return false;
    }
    return true;
}

size_t simpdu_pack7(const uint8_t *septets, size_t n, int fill, uint8_t *out)
{
    size_t octets = ((size_t)fill + 7 * n + 7) / 8;
    memset(out, 0, octets);
    for (size_t k = 0; k < n; k++) {
        size_t bit = (size_t)fill + 7 * k;
        unsigned v = septets[k] & 0x7F, shift = bit % 8;
        out[bit / 8] |= (uint8_t)(v << shift);
        if (shift > 1)
            out[bit / 8 + 1] |= (uint8_t)(v >> (8 - shift));
    }
    return octets;
}

/* Septet k of packed data, starting `skip` bits in. Caller checked the bounds. */
static uint8_t unpack7_at(const uint8_t *p, size_t nbytes, size_t skip, size_t k)
{
    size_t bit = skip + 7 * k;
    unsigned shift = bit % 8;
    unsigned v = p[bit / 8] >> shift;
    if (shift > 1 && bit / 8 + 1 < nbytes)
        v |= (unsigned)p[bit / 8 + 1] << (8 - shift);
    return (uint8_t)(v & 0x7F);
}

static bool septets_to_utf8(const uint8_t *p, size_t nbytes, size_t skip, size_t n,
                            char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        uint8_t s = unpack7_at(p, nbytes, skip, k);
        uint32_t cp = gsm7_basic[s];
        if (s == 0x1B) {
            if (k + 1 == n)
                cp = ' ';
            else
                cp = gsm7_ext_cp(unpack7_at(p, nbytes, skip, ++k));
        }
        if (!utf8_put(cp, out, cap, &pos))
            return false;
    }
    return true;
}

static bool ucs2_to_utf8(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    if (n % 2 != 0)
        return false;
    for (size_t k = 0; k < n; k += 2) {
        uint32_t cp = (uint32_t)p[k] << 8 | p[k + 1];
        if (cp >= 0xD800 && cp < 0xDC00 && k + 3 < n) {
            uint32_t lo = (uint32_t)p[k + 2] << 8 | p[k + 3];
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                k += 2;
            }
        }
        if (!utf8_put(cp, out, cap, &pos))
            return false;
    }
    return true;
}

/* ---- addresses and time stamps ----------------------------------------- */

static char semi_digit(unsigned v)
{
    static const char map[] = "0123456789*#abc";
    return v < 15 ? map[v] : '\0';
}

/* Decodes `digits` semi-octets; returns false if they overrun the output. */
static bool semi_decode(const uint8_t *p, int digits, char *out, size_t cap)
{
    if ((size_t)digits + 1 > cap)
        return false;
    for (int k = 0; k < digits; k++) {
        unsigned v = k % 2 == 0 ? (p[k / 2] & 15) : (p[k / 2] >> 4);
        out[k] = semi_digit(v);
        if (out[k] == '\0')
            return false;
    }
    out[digits] = '\0';
    return true;
}

/* Writes digits (no '+') as swapped semi-octets with an F pad; returns octets. */
static size_t semi_encode(const char *digits, uint8_t *out)
{
    size_t n = strlen(digits);
    for (size_t k = 0; k < n; k += 2) {
        unsigned lo = (unsigned)(digits[k] - '0') & 15;
        unsigned hi = k + 1 < n ? ((unsigned)(digits[k + 1] - '0') & 15) : 15;
        out[k / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (n + 1) / 2;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* An address field (TP-OA/DA/RA): length in digits, type, semi-octets, or
 * alphanumeric packed 7-bit when the type is 0xD0. Returns octets written or 0. */
static size_t address_encode(const char *addr, int toa, uint8_t *out)
{
    const char *digits = addr[0] == '+' ? addr + 1 : addr;
    if (all_digits(digits) && strlen(digits) <= 20) {
        out[0] = (uint8_t)strlen(digits);
        out[1] = (uint8_t)(toa ? toa : addr[0] == '+' ? 0x91 : 0x81);
        return 2 + semi_encode(digits, out + 2);
    }
    uint8_t sept[22];
    size_t n = 0, i = 0, len = strlen(addr);
    uint32_t cp;
    while (i < len && n < 11) {
        uint8_t s[2];
        if (!utf8_next(addr, len, &i, &cp) || gsm7_from_cp(cp, s) != 1)
            return 0;
        sept[n++] = s[0];
    }
    size_t octets = simpdu_pack7(sept, n, 0, out + 2);
    out[0] = (uint8_t)((n * 7 + 3) / 4);   /* useful semi-octets */
    out[1] = 0xD0;
    return 2 + octets;
}

static uint8_t bcd_swapped(int v)
{
    return (uint8_t)((v % 10) << 4 | (v / 10 % 10));
}

/* TP-SCTS / TP-DT: local time (UTC + tz) as swapped BCD, sign in bit 3. */
static void timestamp_encode(time_t utc, int tz_quarters, uint8_t out[7])
{
    time_t local = utc + (time_t)tz_quarters * 15 * 60;
    struct tm tm;
    gmtime_r(&local, &tm);
    out[0] = bcd_swapped(tm.tm_year % 100);
    out[1] = bcd_swapped(tm.tm_mon + 1);
    out[2] = bcd_swapped(tm.tm_mday);
    out[3] = bcd_swapped(tm.tm_hour);
    out[4] = bcd_swapped(tm.tm_min);
    out[5] = bcd_swapped(tm.tm_sec);
    int q = tz_quarters < 0 ? -tz_quarters : tz_quarters;
    out[6] = (uint8_t)(bcd_swapped(q) | (tz_quarters < 0 ? 0x08 : 0));
}

static size_t smsc_encode(const char *smsc, uint8_t *out)
{
    if (smsc == NULL || smsc[0] == '\0') {
        out[0] = 0;
        return 1;
    }
    const char *digits = smsc[0] == '+' ? smsc + 1 : smsc;
    out[1] = smsc[0] == '+' ? 0x91 : 0x81;
    size_t n = semi_encode(digits, out + 2);
    out[0] = (uint8_t)(n + 1);
    return n + 2;
}

/* ---- SMS-SUBMIT decoding ---------------------------------------------- */

/* A cursor in the style of OpenSMTPD's m_get: every read checks what is left. */
struct cursor {
    const uint8_t *p;
    size_t n;
    size_t at;
    const char *fail;
};

static bool take(struct cursor *c, size_t k, const char *what, const uint8_t **out)
{
    if (c->fail)
        return false;
    if (c->n - c->at < k) {
        c->fail = what;
        return false;
    }
    *out = c->p + c->at;
    c->at += k;
    return true;
}

static int take_octet(struct cursor *c, const char *what)
{
    const uint8_t *b;
    return take(c, 1, what, &b) ? b[0] : -1;
}

int simpdu_smsc_octets(const uint8_t *p, size_t n)
{
    if (n < 1 || (size_t)p[0] + 1 > n)
        return -1;
    return p[0] + 1;
}

static enum simpdu_enc dcs_encoding(int dcs)
{
    int group = dcs >> 4;
    if (group <= 7)                      /* general and auto-deletion groups */
        return (dcs & 0x0C) == 0x04 ? SIMPDU_ENC_8BIT
             : (dcs & 0x0C) == 0x08 ? SIMPDU_ENC_UCS2 : SIMPDU_ENC_GSM7;
    if (group == 0x0E)
        return SIMPDU_ENC_UCS2;
    if (group == 0x0F)
        return (dcs & 0x04) ? SIMPDU_ENC_8BIT : SIMPDU_ENC_GSM7;
    return SIMPDU_ENC_GSM7;
}

static bool decode_da(struct cursor *c, struct simpdu_submit *s)
{
    int digits = take_octet(c, "destination length");
    int toa = take_octet(c, "destination type");
    const uint8_t *b;
    if (toa < 0 || !take(c, ((size_t)digits + 1) / 2, "destination digits", &b))
        return false;
    s->to_toa = toa;
    size_t off = (toa & 0x70) == 0x10 ? 1 : 0;
    if (off)
        s->to[0] = '+';
    if (digits > 20 || !semi_decode(b, digits, s->to + off, sizeof s->to - off)) {
        c->fail = "destination digits";
        return false;
    }
    return true;
}

static bool decode_vp(struct cursor *c, struct simpdu_submit *s)
{
    const uint8_t *b;
    s->vp_relative = -1;
    if (s->vpf == 2) {
        s->vp_relative = take_octet(c, "validity period");
        return s->vp_relative >= 0;
    }
    if (s->vpf == 0)
        return true;
    if (!take(c, 7, "validity period", &b))
        return false;
    simpdu_hex_encode(b, 7, s->vp_hex);
    return true;
}

/* Reads the concatenation element out of a UDH; other elements are skipped. */
static bool decode_udh(const uint8_t *h, size_t len, struct simpdu_concat *cc)
{
    size_t k = 0;
    while (k < len) {
        if (k + 2 > len || k + 2 + h[k + 1] > len)
            return false;
        uint8_t iei = h[k], iel = h[k + 1];
        const uint8_t *d = h + k + 2;
        if (iei == 0x00 && iel == 3) {
            *cc = (struct simpdu_concat){true, d[0], d[1], d[2]};
        } else if (iei == 0x08 && iel == 4) {
            *cc = (struct simpdu_concat){true, d[0] << 8 | d[1], d[2], d[3]};
        }
        k += 2 + (size_t)iel;
    }
    return true;
}

static bool decode_ud(struct cursor *c, struct simpdu_submit *s)
{
    size_t octets = s->enc == SIMPDU_ENC_GSM7 ? ((size_t)s->udl * 7 + 7) / 8 : (size_t)s->udl;
    const uint8_t *ud;
    if (!take(c, octets, "user data", &ud))
        return false;
    size_t hdr = 0;
    if (s->udhi) {
        if (octets < 1 || (size_t)ud[0] + 1 > octets || !decode_udh(ud + 1, ud[0], &s->concat)) {
            c->fail = "user data header";
            return false;
        }
        hdr = (size_t)ud[0] + 1;
    }
    bool ok;
    if (s->enc == SIMPDU_ENC_GSM7) {
        size_t skip_septets = (hdr * 8 + 6) / 7;
        ok = skip_septets <= (size_t)s->udl
          && septets_to_utf8(ud, octets, skip_septets * 7, (size_t)s->udl - skip_septets,
                             s->text, sizeof s->text);
    } else if (s->enc == SIMPDU_ENC_UCS2) {
        ok = ucs2_to_utf8(ud + hdr, octets - hdr, s->text, sizeof s->text);
    } else {
        simpdu_hex_encode(ud + hdr, octets - hdr, s->text);
        ok = true;
    }
    if (!ok)
        c->fail = "user data";
    return ok;
}

bool simpdu_submit_decode(const uint8_t *p, size_t n, struct simpdu_submit *s,
                       char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int smsc = simpdu_smsc_octets(p, n);
    struct cursor c = {p, n, smsc < 0 ? 0 : (size_t)smsc, smsc < 0 ? "SMSC address" : NULL};
    s->tpdu_len = (int)(n - c.at);
    s->first_octet = take_octet(&c, "first octet");
    if (!c.fail && (s->first_octet & 3) != 1)
        c.fail = "not an SMS-SUBMIT";
    s->vpf = (s->first_octet >> 3) & 3;
    s->srr = (s->first_octet & 0x20) != 0;
    s->udhi = (s->first_octet & 0x40) != 0;
    s->mr = take_octet(&c, "message reference");
    if (decode_da(&c, s)) {
        s->pid = take_octet(&c, "protocol identifier");
        s->dcs = take_octet(&c, "data coding scheme");
    }
    s->enc = dcs_encoding(s->dcs);
    if (!c.fail && (s->dcs >> 4) <= 7 && (s->dcs & 0x20))
        c.fail = "compressed user data";
    if (decode_vp(&c, s))
        s->udl = take_octet(&c, "user data length");
    if (!c.fail)
        decode_ud(&c, s);
    if (!c.fail && c.at != n)
        c.fail = "trailing octets";
    if (c.fail)
        snprintf(err, errlen, "%s", c.fail);
    return c.fail == NULL;
}

/* ---- SMS-DELIVER and SMS-STATUS-REPORT encoding ------------------------ */

/* The text as septets (GSM 7-bit), UTF-16BE octets or Latin-1 octets; returns the
 * count, or 0 with *ok false when a character does not fit the encoding. */
static size_t text_units(const struct simpdu_deliver *d, uint8_t *units, size_t cap, bool *ok)
{
    size_t n = 0, i = 0;
    uint32_t cp;
    *ok = false;
    while (i < d->text_len) {
        if (!utf8_next(d->text, d->text_len, &i, &cp) || n + 4 > cap)
            return 0;
        if (d->enc == SIMPDU_ENC_GSM7) {
            int k = gsm7_from_cp(cp, units + n);
            if (k == 0)
                return 0;
            n += (size_t)k;
        } else if (d->enc == SIMPDU_ENC_UCS2 && cp >= 0x10000) {
            uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
            units[n++] = (uint8_t)(hi >> 8), units[n++] = (uint8_t)hi;
            units[n++] = (uint8_t)(lo >> 8), units[n++] = (uint8_t)lo;
        } else if (d->enc == SIMPDU_ENC_UCS2) {
            units[n++] = (uint8_t)(cp >> 8), units[n++] = (uint8_t)cp;
        } else if (cp <= 0xFF) {
            units[n++] = (uint8_t)cp;
        } else {
            return 0;
        }
    }
    *ok = true;
    return n;
}

/* Writes UDL and UD (with a concat UDH when asked). Returns octets or 0. */
static size_t user_data_encode(const struct simpdu_deliver *d, uint8_t *out, size_t cap)
{
    uint8_t udh[6] = {5, 0x00, 3, (uint8_t)d->concat.ref, (uint8_t)d->concat.total,
                      (uint8_t)d->concat.seq};
    size_t hdr = d->concat.present ? sizeof udh : 0;
    uint8_t units[SIMPDU_MAX_OCTETS * 2];
    bool ok;
    size_t n = text_units(d, units, sizeof units, &ok);
    if (!ok)
        return 0;
    if (d->enc == SIMPDU_ENC_GSM7) {
        /* Septets start at the first septet boundary after the header: fill bits. */
        size_t hdr_septets = (hdr * 8 + 6) / 7;
        if (hdr_septets + n > 160 || 1 + (hdr_septets + n) * 7 / 8 + 1 > cap)
            return 0;
        out[0] = (uint8_t)(hdr_septets + n);
        memcpy(out + 1, udh, hdr);
        size_t packed = simpdu_pack7(units, n, (int)(hdr_septets * 7 - hdr * 8), out + 1 + hdr);
        return 1 + hdr + packed;
    }
    if (hdr + n > 140 || 1 + hdr + n > cap)
        return 0;
    out[0] = (uint8_t)(hdr + n);
    memcpy(out + 1, udh, hdr);
    memcpy(out + 1 + hdr, units, n);
    return 1 + hdr + n;
}

int simpdu_deliver_encode(const struct simpdu_deliver *d, char *hex, size_t cap)
{
    uint8_t b[SIMPDU_MAX_OCTETS + 64];
    size_t smsc = smsc_encode(d->smsc, b), at = smsc;
    b[at++] = (uint8_t)(0x04 | (d->concat.present ? 0x40 : 0)); /* DELIVER, no more msgs */
    size_t oa = address_encode(d->from, d->from_toa, b + at);
    if (oa == 0)
        return -1;
    at += oa;
    b[at++] = 0x00;                                             /* TP-PID */
    b[at++] = d->enc == SIMPDU_ENC_UCS2 ? 0x08 : d->enc == SIMPDU_ENC_8BIT ? 0x04 : 0x00;
    timestamp_encode(d->scts, d->tz_quarters, b + at);
    at += 7;
    size_t ud = user_data_encode(d, b + at, sizeof b - at);
    if (ud == 0 || (at + ud) * 2 + 1 > cap)
        return -1;
    at += ud;
    simpdu_hex_encode(b, at, hex);
    return (int)(at - smsc);
}

int simpdu_report_encode(const struct simpdu_report *r, char *hex, size_t cap)
{
    uint8_t b[80];
    size_t smsc = smsc_encode(r->smsc, b), at = smsc;
    b[at++] = 0x06;                 /* STATUS-REPORT, no more messages, result of a SUBMIT */
    b[at++] = (uint8_t)r->mr;
    size_t ra = address_encode(r->recipient, 0, b + at);
    if (ra == 0)
        return -1;
    at += ra;
    timestamp_encode(r->scts, r->tz_quarters, b + at);
    timestamp_encode(r->dt, r->tz_quarters, b + at + 7);
    at += 14;
    b[at++] = (uint8_t)r->st;
    if (at * 2 + 1 > cap)
        return -1;
    simpdu_hex_encode(b, at, hex);
    return (int)(at - smsc);
}

/* ---- splitting --------------------------------------------------------- */

/* Cost of one character in the chosen encoding's units (septets, UTF-16 units, octets). */
static int char_cost(uint32_t cp, enum simpdu_enc enc)
{
    uint8_t s[2];
    if (enc == SIMPDU_ENC_GSM7)
        return gsm7_from_cp(cp, s);
    if (enc == SIMPDU_ENC_UCS2)
        return cp >= 0x10000 ? 2 : 1;
    return cp <= 0xFF ? 1 : 0;
}

static int unit_limit(enum simpdu_enc enc, bool multi)
{
    if (enc == SIMPDU_ENC_GSM7)
        return multi ? 153 : 160;
    if (enc == SIMPDU_ENC_UCS2)
        return multi ? 67 : 70;
    return multi ? 134 : 140;
}

/* Total cost, or -1 if a character cannot be encoded. */
static int text_cost(const char *text, size_t len, enum simpdu_enc enc)
{
    size_t i = 0;
    uint32_t cp;
    int total = 0;
    while (i < len) {
        if (!utf8_next(text, len, &i, &cp) || char_cost(cp, enc) == 0)
            return -1;
        total += char_cost(cp, enc);
    }
    return total;
}

int simpdu_split(const char *text, size_t len, enum simpdu_enc enc, int want,
              size_t *cuts, int max_parts)
{
    int total = text_cost(text, len, enc);
    if (total < 0)
        return -1;
    int limit = unit_limit(enc, false);
    if (want == 0)
        want = total <= limit ? 1 : (total + unit_limit(enc, true) - 1) / unit_limit(enc, true);
    if (want < 1 || want > max_parts || want > 255)
        return -1;
    if (want > 1)
        limit = unit_limit(enc, true);
    int target = (total + want - 1) / want;
    int parts = 0, used = 0;
    size_t i = 0;
    uint32_t cp;
    cuts[0] = 0;
    while (i < len) {
        size_t before = i;
        utf8_next(text, len, &i, &cp);
        int c = char_cost(cp, enc);
        if (used > 0 && used + c > target && parts + 1 < want) {
            cuts[++parts] = before;
            used = 0;
        }
        used += c;
        if (used > limit)
            return -1;
    }
    cuts[++parts] = len;
    return parts == want ? parts : -1;
}
