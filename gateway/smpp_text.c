/*
 * smpp_text: message text <-> the short_message / message_payload bytes of
 * SMPP, and the split of long text into parts for each concat method.
 *
 * SMPP carries GSM 7-bit unpacked: one septet per octet, an extension
 * character as ESC (0x1B) then its code. codec_encode() produces packed
 * TP-UD for the modem path, so it is not reused here; instead one small
 * splitter serves the three alphabets: each character becomes 1..4 octets,
 * and a part takes whole characters only, so an escape pair or a UTF-16
 * surrogate pair never straddles two parts. Per part, in octets:
 *
 *                     one SMS   each part of a long one   payload
 *   GSM 7-bit (0)       160       153 (+ 6 octets UDH)      1024
 *   UCS-2 (8)           140       134 (67 units + UDH)      1024
 *   Latin-1 (3)         140       134 (+ UDH)               1024
 *
 * Latin-1 is bounded like 8-bit data (140 octets), the size an SMSC can
 * always carry whatever it converts the text to. The 153 / 67 limits match
 * codec_encode's, so the modem path and the SMPP path split a text the same.
 */
#include "gateway/smpp_pdu.h"
#include "gateway/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#define UDH_LEN 6

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int smpp_concat_parse(const char *name, enum smpp_concat *out)
{
    static const char *const names[] = { "udh", "sar", "payload" };
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum smpp_concat)i;
            return 0;
        }
    return -1;
}

/* --- encoding ------------------------------------------------------------------ */

/* cp in data_coding dc: the octets written to o (1..4), or 0 if dc lacks it. */
static size_t put_char(uint8_t dc, uint32_t cp, uint8_t o[4])
{
    if (dc == SMPP_DC_DEFAULT) {
        int code = codec_gsm7_lookup(cp);
        if (code < 0)
            return 0;
        if (code > 0x7F) {
            o[0] = 0x1B;
            o[1] = (uint8_t)(code & 0x7F);
            return 2;
        }
        o[0] = (uint8_t)code;
        return 1;
    }
    if (dc == SMPP_DC_LATIN1) {
        o[0] = (uint8_t)cp;
        return cp <= 0xFF;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(cp >> 8);
        o[1] = (uint8_t)cp;
        return 2;
    }
    uint32_t v = cp - 0x10000, hi = 0xD800 | (v >> 10), lo = 0xDC00 | (v & 0x3FF);
    o[0] = (uint8_t)(hi >> 8);
    o[1] = (uint8_t)hi;
    o[2] = (uint8_t)(lo >> 8);
    o[3] = (uint8_t)lo;
    return 4;
}

/* Octets of the whole text in dc; -1 with the offending offset if dc lacks a character. */
static long count_octets(const uint8_t *p, size_t len, uint8_t dc, size_t *bad)
{
    uint8_t tmp[4];
    long total = 0;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t n = codec_utf8_next(p + i, len - i, &cp);
        size_t k = put_char(dc, cp, tmp);
        if (k == 0) {
            *bad = i;
            return -1;
        }
        total += (long)k;
        i += n;
    }
    return total;
}

static uint8_t pick_coding(const uint8_t *p, size_t len, uint8_t want)
{
    size_t bad;
    if (want != SMPP_DC_AUTO)
        return want;
    return count_octets(p, len, SMPP_DC_DEFAULT, &bad) >= 0 ? SMPP_DC_DEFAULT : SMPP_DC_UCS2;
}

/* Fills parts of at most `limit` octets after `hdr` octets of room; returns
 * how many parts the text needs (more than max: only counted). */
static unsigned split(const uint8_t *p, size_t len, struct smpp_text *t, unsigned limit,
                      unsigned hdr, unsigned max)
{
    unsigned part = 0, used = 0;
    uint8_t tmp[4];
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        i += codec_utf8_next(p + i, len - i, &cp);
        size_t k = put_char(t->data_coding, cp, tmp);
        if (used + k > limit) {
            part++;
            used = 0;
        }
        if (part < max) {
            memcpy(t->part[part].data + hdr + used, tmp, k);
            t->part[part].len = (uint8_t)(hdr + used + k);
        }
        used += (unsigned)k;
    }
    return part + 1;
}

static void add_udh(struct smpp_text *t)
{
    for (unsigned i = 0; i < t->nparts; i++) {
        uint8_t *d = t->part[i].data;
        d[0] = 0x05; d[1] = 0x00; d[2] = 0x03;
        d[3] = (uint8_t)t->ref;
        d[4] = (uint8_t)t->nparts;
        d[5] = (uint8_t)(i + 1);
    }
}

static void fill_payload(const uint8_t *p, size_t len, struct smpp_text *t)
{
    uint8_t tmp[4];
    uint32_t cp;
    size_t o = 0;

    for (size_t i = 0; i < len;) {
        i += codec_utf8_next(p + i, len - i, &cp);
        size_t k = put_char(t->data_coding, cp, tmp);
        memcpy(t->payload_data + o, tmp, k);
        o += k;
    }
    t->payload_len = o;
}

static int encode_long(const uint8_t *p, size_t len, long octets,
                       const struct smpp_text_options *opt, struct smpp_text *t,
                       char *err, size_t errsz)
{
    unsigned max = opt->max_parts ? opt->max_parts : 10;
    unsigned limit = t->data_coding == SMPP_DC_DEFAULT ? 153 : 134;

    if (opt->concat == SMPP_CONCAT_PAYLOAD) {
        if (octets > SMPP_PAYLOAD_MAX)
            return fail(err, errsz, "text: %ld octets, more than a message_payload's %d",
                        octets, SMPP_PAYLOAD_MAX);
        t->payload = true;
        t->nparts = 1;
        fill_payload(p, len, t);
        return 0;
    }
    if (max > SMPP_MAX_PARTS)
        max = SMPP_MAX_PARTS;
    t->udhi = opt->concat == SMPP_CONCAT_UDH;
    t->sar = opt->concat == SMPP_CONCAT_SAR;
    unsigned n = split(p, len, t, limit, t->udhi ? UDH_LEN : 0, max);
    if (n > max)
        return fail(err, errsz, "text: needs %u parts, more than the limit of %u", n, max);
    t->nparts = n;
    if (t->udhi)
        add_udh(t);
    return 0;
}

int smpp_text_encode(const char *text, size_t len, const struct smpp_text_options *opt,
                     struct smpp_text *t, char *err, size_t errsz)
{
    const uint8_t *p = (const uint8_t *)text;
    size_t bad = 0;

    /* Not the whole 41 KB, once per message sent: the fields, and each part's
     * length (only the octets a part's length covers are ever read). */
    memset(t, 0, offsetof(struct smpp_text, payload_data));
    for (unsigned i = 0; i < SMPP_MAX_PARTS; i++)
        t->part[i].len = 0;
    if (!codec_utf8_valid(text, len, &bad))
        return fail(err, errsz, "text: invalid UTF-8 at byte %zu", bad);
    if (opt->data_coding != SMPP_DC_AUTO && opt->data_coding != SMPP_DC_DEFAULT &&
        opt->data_coding != SMPP_DC_LATIN1 && opt->data_coding != SMPP_DC_UCS2)
        return fail(err, errsz, "text: data_coding %u is not one we encode", opt->data_coding);
    t->data_coding = pick_coding(p, len, opt->data_coding);
    t->concat = opt->concat;
    t->ref = opt->ref;
    long octets = count_octets(p, len, t->data_coding, &bad);
    if (octets < 0)
        return fail(err, errsz, "text: the character at byte %zu has no code in data_coding %u",
                    bad, t->data_coding);
    t->units = (unsigned)(t->data_coding == SMPP_DC_UCS2 ? octets / 2 : octets);
    if (octets <= (t->data_coding == SMPP_DC_DEFAULT ? 160 : 140)) {
        t->nparts = 1;
        split(p, len, t, SMPP_PART_MAX, 0, 1);
        return 0;
    }
    return encode_long(p, len, octets, opt, t, err, errsz);
}

void smpp_text_apply(const struct smpp_text *t, unsigned i, struct smpp_sm *sm)
{
    sm->data_coding = t->data_coding;
    sm->esm_class = (uint8_t)(t->udhi ? sm->esm_class | SMPP_ESM_UDHI
                                      : sm->esm_class & ~SMPP_ESM_UDHI);
    sm->has_payload = t->payload;
    if (t->payload) {
        sm->sm_length = 0;
        sm->payload_len = (uint16_t)t->payload_len;
        memcpy(sm->payload, t->payload_data, t->payload_len);
    } else {
        sm->sm_length = t->part[i].len;
        memcpy(sm->short_message, t->part[i].data, t->part[i].len);
    }
    sm->has_sar = t->sar;
    sm->sar_msg_ref_num = t->ref;
    sm->sar_total_segments = (uint8_t)t->nparts;
    sm->sar_segment_seqnum = (uint8_t)(i + 1);
}

/* --- decoding ------------------------------------------------------------------ */

struct out {
    char *s;
    size_t size, len;
    bool full;
};

static void out_cp(struct out *o, uint32_t cp)
{
    char tmp[4];
    size_t n = codec_utf8_put(cp, tmp);
    if (o->len + n + 1 > o->size) {
        o->full = true;
        return;
    }
    memcpy(o->s + o->len, tmp, n);
    o->len += n;
    o->s[o->len] = '\0';
}

/* Walks the UDH at data[0..]: its length octet and elements must fit. */
static int parse_udh(const uint8_t *d, size_t len, struct smpp_concat_info *c,
                     size_t *skip, char *err, size_t errsz)
{
    if (len < 1 || (size_t)d[0] + 1 > len)
        return fail(err, errsz, "UDH: length %u exceeds the %zu octets of the message",
                    len ? d[0] : 0, len);
    size_t end = (size_t)d[0] + 1;
    for (size_t i = 1; i < end;) {
        if (i + 2 > end || i + 2 + d[i + 1] > end)
            return fail(err, errsz, "UDH: element at octet %zu overruns the header", i);
        uint8_t iei = d[i], n = d[i + 1];
        const uint8_t *v = d + i + 2;
        if (iei == 0x00 && n == 3)
            *c = (struct smpp_concat_info){ true, v[0], v[1], v[2] };
        else if (iei == 0x08 && n == 4)
            *c = (struct smpp_concat_info){ true, (uint16_t)(v[0] << 8 | v[1]), v[2], v[3] };
        i += 2 + (size_t)n;
    }
    *skip = end;
    return 0;
}

static void decode_gsm(const uint8_t *d, size_t n, struct out *o)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] == 0x1B && i + 1 == n)
            break;                 /* a dangling escape shows as nothing */
        bool esc = d[i] == 0x1B;
        uint8_t c = esc ? d[++i] : d[i];
        uint32_t cp = c > 0x7F ? 0xFFFD : codec_gsm7_char(CODEC_LANG_DEFAULT, esc, c);
        if (esc && c == 0x1B)
            cp = ' ';
        else if (esc && cp == 0)  /* an undefined extension: the base character */
            cp = codec_gsm7_char(CODEC_LANG_DEFAULT, false, c);
        out_cp(o, cp ? cp : 0xFFFD);
    }
}

static void decode_ucs2(const uint8_t *d, size_t n, struct out *o)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t u = (uint32_t)d[i] << 8 | d[i + 1];
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
            uint32_t lo = (uint32_t)d[i + 2] << 8 | d[i + 3];
            if (lo >= 0xDC00 && lo < 0xE000) {
                out_cp(o, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i += 2;
                continue;
            }
        }
        out_cp(o, u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
    }
    if (n % 2)
        out_cp(o, 0xFFFD);
}

int smpp_text_decode(uint8_t dc, bool udhi, const uint8_t *data, size_t len,
                     char *outbuf, size_t outsz, struct smpp_concat_info *concat,
                     char *err, size_t errsz)
{
    struct out o = { outbuf, outsz, 0, false };
    struct smpp_concat_info dummy;
    size_t skip = 0;

    if (!concat)
        concat = &dummy;
    memset(concat, 0, sizeof *concat);
    if (outsz == 0)
        return fail(err, errsz, "text: no room for the output");
    outbuf[0] = '\0';
    if (udhi && parse_udh(data, len, concat, &skip, err, errsz) < 0)
        return -1;
    data += skip;
    len -= skip;
    if (dc == SMPP_DC_DEFAULT || (dc >= 0xF0 && dc <= 0xF3)) {
        decode_gsm(data, len, &o);
    } else if (dc == SMPP_DC_IA5 || dc == SMPP_DC_LATIN1) {
        for (size_t i = 0; i < len; i++)
            out_cp(&o, dc == SMPP_DC_IA5 && data[i] > 0x7F ? 0xFFFD : data[i]);
    } else if (dc == SMPP_DC_UCS2) {
        decode_ucs2(data, len, &o);
    } /* else binary: no text */
    if (o.full)
        return fail(err, errsz, "text: longer than the %zu octets of output", outsz);
    return (int)o.len;
}

int smpp_sm_text(const struct smpp_sm *sm, char *out, size_t outsz,
                 struct smpp_concat_info *concat, char *err, size_t errsz)
{
    struct smpp_concat_info c;
    const uint8_t *d = sm->has_payload ? sm->payload : sm->short_message;
    size_t n = sm->has_payload ? sm->payload_len : sm->sm_length;

    int r = smpp_text_decode(sm->data_coding, sm->esm_class & SMPP_ESM_UDHI, d, n,
                             out, outsz, &c, err, errsz);
    if (r >= 0 && !c.present && sm->has_sar)
        c = (struct smpp_concat_info){ true, sm->sar_msg_ref_num, sm->sar_total_segments,
                                       sm->sar_segment_seqnum };
    if (concat)
        *concat = c;
    return r;
}
