/*
 * pdu: SMS-SUBMIT encoding and SMS-DELIVER / SMS-SUBMIT / SMS-STATUS-REPORT
 * decoding (TS 23.040 clause 9.2).
 *
 * Every read goes through `struct cur`, in the manner of OpenSMTPD's m_get:
 * it checks what is left, and on a short read records which field was being
 * read and where the PDU ended. A decoder can then read a PDU front to back
 * without a length check of its own, and still never read past the buffer.
 * The one length a PDU states about itself that matters, TP-UDL, is checked
 * against what actually follows, so a lying UDL is an error, not a crash.
 */
#include "modem/pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ADDR_DIGITS_MAX 20

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

/* --- the cursor ------------------------------------------------------------- */

struct cur {
    const uint8_t *p;
    size_t len;
    size_t off;
    char *err;
    size_t errsz;
};

static int cur_take(struct cur *c, const char *field, size_t n, const uint8_t **out)
{
    if (n > c->len - c->off) {
        if (c->off == c->len)
            return fail(c->err, c->errsz, "%s: the PDU ends before it (at octet %zu)",
                        field, c->off);
        return fail(c->err, c->errsz, "%s: needs %zu octets but only %zu follow",
                    field, n, c->len - c->off);
    }
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

static int cur_u8(struct cur *c, const char *field, uint8_t *v)
{
    const uint8_t *p = NULL;
    if (cur_take(c, field, 1, &p) < 0)
        return -1;
    *v = *p;
    return 0;
}

static int cur_end(struct cur *c, const char *after)
{
    if (c->off != c->len)
        return fail(c->err, c->errsz, "%zu unexpected octets after %s",
                    c->len - c->off, after);
    return 0;
}

/* --- hex -------------------------------------------------------------------- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int pdu_from_hex(const char *hex, size_t len, uint8_t *out, size_t outsz,
                 char *err, size_t errsz)
{
    if (len % 2)
        return fail(err, errsz, "hex PDU has an odd number of digits (%zu)", len);
    if (len / 2 > outsz)
        return fail(err, errsz, "hex PDU of %zu octets is longer than %zu", len / 2, outsz);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return fail(err, errsz, "hex PDU: not a hex digit at position %zu",
                        hi < 0 ? i : i + 1);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(len / 2);
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

/* --- addresses -------------------------------------------------------------- */

const char *pdu_type_name(enum pdu_type type)
{
    switch (type) {
    case PDU_DELIVER: return "deliver";
    case PDU_SUBMIT: return "submit";
    case PDU_STATUS_REPORT: return "status-report";
    }
    return "unknown";
}

/* Semi-octets, low nibble first (TS 23.040 9.1.2.3); F pads the last octet. */
static int bcd_digits(const uint8_t *p, size_t ndigits, char *out, const char *field,
                      struct cur *c)
{
    static const char map[] = "0123456789*#abc";
    for (size_t i = 0; i < ndigits; i++) {
        unsigned nib = i % 2 ? p[i / 2] >> 4 : p[i / 2] & 0x0F;
        if (nib == 0x0F)
            return fail(c->err, c->errsz, "%s: filler digit F inside the number", field);
        out[i] = map[nib];
    }
    out[ndigits] = '\0';
    return 0;
}

static void alnum_address(const uint8_t *p, size_t ndigits, struct pdu_address *a)
{
    size_t n = ndigits * 4 / 7; /* semi-octets to septets */
    struct codec_ud ud = { .encoding = CODEC_GSM7, .data = p, .len = (ndigits + 1) / 2,
                           .udl = (unsigned)n };
    if (codec_decode(&ud, a->text, sizeof a->text, NULL, 0) < 0)
        a->text[0] = '\0';
    a->alphanumeric = true;
}

/* TP-OA, TP-DA, TP-RA: a digit count, the type of address, the digits. */
static int parse_tp_address(struct cur *c, const char *field, struct pdu_address *a)
{
    uint8_t ndigits;
    const uint8_t *p = NULL;

    if (cur_u8(c, field, &ndigits) < 0 || cur_u8(c, field, &a->toa) < 0)
        return -1;
    if (ndigits > ADDR_DIGITS_MAX)
        return fail(c->err, c->errsz, "%s: length %u digits is more than %d",
                    field, ndigits, ADDR_DIGITS_MAX);
    if (cur_take(c, field, (ndigits + 1u) / 2, &p) < 0)
        return -1;
    a->alphanumeric = false;
    if ((a->toa & 0x70) == 0x50) {
        alnum_address(p, ndigits, a);
        return 0;
    }
    size_t plus = (a->toa & 0x70) == 0x10;
    a->text[0] = '+';
    return bcd_digits(p, ndigits, a->text + plus, field, c);
}

/* The SMSC address: an octet count (0: none), the type, the digits. */
static int parse_smsc(struct cur *c, struct pdu_address *a)
{
    uint8_t n;
    const uint8_t *p = NULL;

    memset(a, 0, sizeof *a);
    if (cur_u8(c, "SMSC address", &n) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (n > 11)
        return fail(c->err, c->errsz, "SMSC address: length %u octets is more than 11", n);
    if (cur_u8(c, "SMSC address", &a->toa) < 0 || cur_take(c, "SMSC address", n - 1u, &p) < 0)
        return -1;
    size_t ndigits = 2 * (n - 1u);
    if (ndigits > 0 && (p[n - 2] >> 4) == 0x0F)
        ndigits--;
    size_t plus = (a->toa & 0x70) == 0x10;
    a->text[0] = '+';
    return bcd_digits(p, ndigits, a->text + plus, "SMSC address", c);
}

/* --- time stamps ------------------------------------------------------------ */

static int bcd_octet(uint8_t o, int *v)
{
    unsigned lo = o & 0x0F, hi = o >> 4;
    if (lo > 9 || hi > 9)
        return -1;
    *v = (int)(lo * 10 + hi);
    return 0;
}

/* TS 23.040 9.2.3.11: seven swapped-BCD octets; bit 3 of the last is the sign. */
static int parse_time(struct cur *c, const char *field, struct pdu_time *t)
{
    const uint8_t *p = NULL;
    int *parts[6] = { &t->year, &t->month, &t->day, &t->hour, &t->minute, &t->second };
    static const int max[6] = { 99, 12, 31, 23, 59, 59 };

    if (cur_take(c, field, 7, &p) < 0)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (bcd_octet(p[i], parts[i]) < 0 || *parts[i] > max[i])
            return fail(c->err, c->errsz, "%s: octet %d (0x%02X) is not a valid time",
                        field, i + 1, p[i]);
    }
    if (t->month == 0 || t->day == 0)
        return fail(c->err, c->errsz, "%s: month or day is zero", field);
    int quarters;
    if (bcd_octet(p[6] & 0xF7, &quarters) < 0)
        return fail(c->err, c->errsz, "%s: time zone octet 0x%02X is not BCD", field, p[6]);
    t->tz_minutes = (p[6] & 0x08 ? -15 : 15) * quarters;
    t->year += t->year >= 90 ? 1900 : 2000;
    return 0;
}

void pdu_time_iso(const struct pdu_time *t, char *buf, size_t size)
{
    int tz = t->tz_minutes < 0 ? -t->tz_minutes : t->tz_minutes;
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", t->year, t->month,
             t->day, t->hour, t->minute, t->second, t->tz_minutes < 0 ? '-' : '+',
             tz / 60 % 100, tz % 60);
}

/* --- TP-DCS ------------------------------------------------------------------- */

void pdu_dcs_parse(uint8_t dcs, struct pdu_dcs *d)
{
    static const enum codec_encoding alphabet[4] = { CODEC_GSM7, CODEC_8BIT, CODEC_UCS2,
                                                     CODEC_GSM7 /* reserved */ };
    memset(d, 0, sizeof *d);
    d->raw = dcs;
    d->encoding = CODEC_GSM7;
    d->msg_class = -1;
    switch (dcs >> 4) {
    case 0x0: case 0x1: case 0x2: case 0x3: /* general data coding */
    case 0x4: case 0x5: case 0x6: case 0x7: /* ... marked for automatic deletion */
        d->auto_delete = dcs & 0x40;
        d->compressed = dcs & 0x20;
        d->encoding = alphabet[(dcs >> 2) & 3];
        d->msg_class = dcs & 0x10 ? dcs & 3 : -1;
        break;
    case 0xC: case 0xD: case 0xE: /* message waiting indication */
        d->mwi = true;
        d->mwi_discard = (dcs >> 4) == 0xC;
        d->encoding = (dcs >> 4) == 0xE ? CODEC_UCS2 : CODEC_GSM7;
        d->mwi_active = dcs & 0x08;
        d->mwi_kind = dcs & 3;
        break;
    case 0xF: /* data coding / message class */
        d->encoding = dcs & 0x04 ? CODEC_8BIT : CODEC_GSM7;
        d->msg_class = dcs & 3;
        break;
    default: /* 1000..1011 reserved: read as the default alphabet (TS 23.038 4) */
        break;
    }
}

/* --- TP-ST -------------------------------------------------------------------- */

enum pdu_status_kind pdu_status_kind(uint8_t st)
{
    if (st < 0x20)
        return PDU_STATUS_DELIVERED;
    if (st < 0x40)
        return PDU_STATUS_TEMPORARY;
    return PDU_STATUS_PERMANENT;
}

const char *pdu_status_kind_name(enum pdu_status_kind kind)
{
    switch (kind) {
    case PDU_STATUS_DELIVERED: return "delivered";
    case PDU_STATUS_TEMPORARY: return "temporary";
    case PDU_STATUS_PERMANENT: return "permanent";
    }
    return "unknown";
}

const char *pdu_status_text(uint8_t st)
{
    static const char *const done[] = {
        "received by the SME", "forwarded to the SME, delivery not confirmed",
        "replaced by the SC" };
    static const char *const trying[] = {
        "congestion", "SME busy", "no response from SME", "service rejected",
        "quality of service not available", "error in SME" };
    static const char *const gave_up[] = {
        "congestion (SC gave up)", "SME busy (SC gave up)",
        "no response from SME (SC gave up)", "service rejected (SC gave up)",
        "quality of service not available (SC gave up)", "error in SME (SC gave up)" };
    static const char *const perm[] = {
        "remote procedure error", "incompatible destination", "connection rejected by SME",
        "not obtainable", "quality of service not available", "no interworking available",
        "validity period expired", "deleted by originating SME",
        "deleted by SC administration", "message does not exist" };
    unsigned low = st & 0x1F;

    if (st >= 0x80)
        return "reserved value";
    if (low >= 0x10)
        return "SC-specific reason";
    if (st < 0x20)
        return low < 3 ? done[low] : "reserved value (completed)";
    if (st < 0x40)
        return low < 6 ? trying[low] : "reserved value (SC still trying)";
    if (st < 0x60)
        return low < 10 ? perm[low] : "reserved value (permanent error)";
    return low < 6 ? gave_up[low] : "reserved value (SC gave up)";
}

/* --- user data ---------------------------------------------------------------- */

static int parse_concat(struct cur *c, const uint8_t *e, uint8_t iei, uint8_t iedl,
                        struct pdu_udh *u)
{
    unsigned want = iei == 0x00 ? 3 : 4;
    if (iedl != want)
        return fail(c->err, c->errsz, "UDH: concat element 0x%02X has length %u, not %u",
                    iei, iedl, want);
    uint16_t ref = iei == 0x00 ? e[0] : (uint16_t)(e[0] << 8 | e[1]);
    uint8_t total = e[want - 2], seq = e[want - 1];
    /* TS 23.040 9.2.3.24.1: a zero or out-of-range number means ignore the element. */
    if (total == 0 || seq == 0 || seq > total)
        return 0;
    u->concat = true;
    u->concat_ref = ref;
    u->concat_total = total;
    u->concat_seq = seq;
    return 0;
}

static enum codec_lang lang_of(uint8_t id)
{
    return id < CODEC_LANG_COUNT ? (enum codec_lang)id : CODEC_LANG_DEFAULT;
}

static int parse_udh(struct cur *c, const uint8_t *ud, size_t ud_len, struct pdu_udh *u)
{
    if (ud_len == 0)
        return fail(c->err, c->errsz, "UDH: TP-UDHI is set but TP-UD is empty");
    u->len = ud[0];
    u->data = ud + 1;
    if (u->len + 1 > ud_len)
        return fail(c->err, c->errsz, "UDH: UDHL says %zu octets but TP-UD has only %zu",
                    u->len, ud_len - 1);
    for (size_t i = 0; i < u->len;) {
        if (u->len - i < 2)
            return fail(c->err, c->errsz, "UDH: element at offset %zu is cut short", i);
        uint8_t iei = u->data[i], iedl = u->data[i + 1];
        const uint8_t *e = u->data + i + 2;
        if (iedl > u->len - i - 2)
            return fail(c->err, c->errsz, "UDH: element 0x%02X of %u octets runs past UDHL %zu",
                        iei, iedl, u->len);
        if ((iei == 0x00 || iei == 0x08) && parse_concat(c, e, iei, iedl, u) < 0)
            return -1;
        if ((iei == 0x24 || iei == 0x25) && iedl != 1)
            return fail(c->err, c->errsz, "UDH: language element 0x%02X has length %u, not 1",
                        iei, iedl);
        if (iei == 0x24)
            u->lang_shift = lang_of(e[0]);
        if (iei == 0x25)
            u->lang_lock = lang_of(e[0]);
        i += 2u + iedl;
    }
    return 0;
}

/* TP-UDL and TP-UD, which end every TPDU here; then the text. */
static int parse_ud(struct cur *c, struct pdu_sms *m)
{
    uint8_t udl;
    bool septets = m->dcs.encoding == CODEC_GSM7;

    if (cur_u8(c, "TP-UDL", &udl) < 0)
        return -1;
    m->udl = udl;
    if (udl > (septets ? 160 : 140))
        return fail(c->err, c->errsz, "TP-UDL %u %s is more than %d", udl,
                    septets ? "septets" : "octets", septets ? 160 : 140);
    size_t need = septets ? ((size_t)udl * 7 + 7) / 8 : udl, left = c->len - c->off;
    if (need > left)
        return fail(c->err, c->errsz, "TP-UDL says %u %s but only %zu octets follow", udl,
                    septets ? "septets" : "octets", left);
    if (cur_take(c, "TP-UD", need, &m->ud) < 0 || cur_end(c, "TP-UD") < 0)
        return -1;
    m->ud_len = need;
    if (m->udhi && parse_udh(c, m->ud, need, &m->udh) < 0)
        return -1;
    if (m->dcs.compressed)
        return 0; /* TS 23.042 compression: nobody sends it; no text */
    struct codec_ud in = {
        .encoding = m->dcs.encoding, .data = m->ud, .len = need, .udl = udl,
        .udh_len = m->udhi ? (unsigned)m->udh.len + 1 : 0,
        .lock = m->udh.lang_lock, .shift = m->udh.lang_shift,
    };
    int n = codec_decode(&in, m->text, sizeof m->text, c->err, c->errsz);
    if (n < 0)
        return -1;
    m->text_len = (size_t)n;
    return 0;
}

static int parse_pid_dcs(struct cur *c, struct pdu_sms *m)
{
    uint8_t dcs;
    if (cur_u8(c, "TP-PID", &m->pid) < 0 || cur_u8(c, "TP-DCS", &dcs) < 0)
        return -1;
    pdu_dcs_parse(dcs, &m->dcs);
    return 0;
}

/* --- the three TPDUs -------------------------------------------------------------- */

static int parse_deliver(struct cur *c, struct pdu_sms *m)
{
    m->more_to_send = !(m->first_octet & 0x04);
    m->srr = m->first_octet & 0x20;
    if (parse_tp_address(c, "TP-OA", &m->addr) < 0 || parse_pid_dcs(c, m) < 0 ||
        parse_time(c, "TP-SCTS", &m->scts) < 0)
        return -1;
    return parse_ud(c, m);
}

static int parse_submit(struct cur *c, struct pdu_sms *m)
{
    const uint8_t *vp = NULL;
    uint8_t vp1;

    m->vpf = (m->first_octet >> 3) & 3;
    m->srr = m->first_octet & 0x20;
    if (cur_u8(c, "TP-MR", &m->mr) < 0 || parse_tp_address(c, "TP-DA", &m->addr) < 0 ||
        parse_pid_dcs(c, m) < 0)
        return -1;
    if (m->vpf == 2) {
        if (cur_u8(c, "TP-VP", &vp1) < 0)
            return -1;
        m->vp_minutes = pdu_vp_minutes(vp1);
    } else if (m->vpf != 0 && cur_take(c, "TP-VP", 7, &vp) < 0) {
        return -1;
    }
    return parse_ud(c, m);
}

/* TP-PI (9.2.3.27) says which of TP-PID, TP-DCS, TP-UDL follow; bit 7
 * extends it by another octet, whose bits we do not know and skip. */
static int parse_report_tail(struct cur *c, struct pdu_sms *m)
{
    uint8_t pi, ext;

    if (c->off == c->len)
        return 0;
    if (cur_u8(c, "TP-PI", &pi) < 0)
        return -1;
    for (ext = pi; ext & 0x80;)
        if (cur_u8(c, "TP-PI extension", &ext) < 0)
            return -1;
    if ((pi & 0x01) && cur_u8(c, "TP-PID", &m->pid) < 0)
        return -1;
    if (pi & 0x02) {
        uint8_t dcs;
        if (cur_u8(c, "TP-DCS", &dcs) < 0)
            return -1;
        pdu_dcs_parse(dcs, &m->dcs);
    }
    if (pi & 0x04)
        return parse_ud(c, m);
    return cur_end(c, "TP-PI");
}

static int parse_status_report(struct cur *c, struct pdu_sms *m)
{
    m->more_to_send = !(m->first_octet & 0x04);
    m->srr = m->first_octet & 0x20;
    if (cur_u8(c, "TP-MR", &m->mr) < 0 || parse_tp_address(c, "TP-RA", &m->addr) < 0 ||
        parse_time(c, "TP-SCTS", &m->scts) < 0 || parse_time(c, "TP-DT", &m->discharge) < 0 ||
        cur_u8(c, "TP-ST", &m->status) < 0)
        return -1;
    return parse_report_tail(c, m);
}

int pdu_decode(const uint8_t *buf, size_t len, struct pdu_sms *out, char *err, size_t errsz)
{
    struct cur c = { buf, len, 0, err, errsz };

    /* Only the fields a decode can leave unset; the rest are always written. */
    out->udhi = out->srr = out->more_to_send = out->reply_path = false;
    out->mr = out->pid = out->vpf = out->status = 0;
    out->vp_minutes = 0;
    out->scts = out->discharge = (struct pdu_time){ 0 };
    out->udh = (struct pdu_udh){ 0 };
    out->udl = 0;
    out->ud = NULL;
    out->ud_len = out->text_len = 0;
    out->text[0] = '\0';
    pdu_dcs_parse(0, &out->dcs);

    if (parse_smsc(&c, &out->smsc) < 0 || cur_u8(&c, "first octet", &out->first_octet) < 0)
        return -1;
    out->udhi = out->first_octet & 0x40;
    out->reply_path = out->first_octet & 0x80;
    switch (out->first_octet & 3) {
    case 0:
        out->type = PDU_DELIVER;
        return parse_deliver(&c, out);
    case 1:
        out->type = PDU_SUBMIT;
        return parse_submit(&c, out);
    case 2:
        out->type = PDU_STATUS_REPORT;
        return parse_status_report(&c, out);
    default:
        return fail(err, errsz, "first octet: TP-MTI 3 is reserved");
    }
}

/* --- SMS-SUBMIT ------------------------------------------------------------------ */

uint8_t pdu_vp_relative(unsigned minutes)
{
    if (minutes <= 5)
        return 0;
    if (minutes <= 720)
        return (uint8_t)((minutes + 4) / 5 - 1);
    if (minutes <= 1440)
        return (uint8_t)(143 + (minutes - 720 + 29) / 30);
    if (minutes <= 30 * 1440)
        return (uint8_t)(166 + (minutes + 1439) / 1440);
    unsigned weeks = (minutes + 10079) / 10080;
    return (uint8_t)(192 + (weeks < 5 ? 5 : weeks > 63 ? 63 : weeks));
}

unsigned pdu_vp_minutes(uint8_t vp)
{
    if (vp <= 143)
        return (vp + 1u) * 5;
    if (vp <= 167)
        return 720 + (vp - 143u) * 30;
    if (vp <= 196)
        return (vp - 166u) * 1440;
    return (vp - 192u) * 10080;
}

/* TP-DA from "+353..." or "0871...": digit count, type, swapped digits. */
static int put_address(const char *to, uint8_t *out, char *err, size_t errsz)
{
    bool intl = to[0] == '+';
    const char *d = to + intl;
    size_t n = strlen(d);

    if (n == 0 || n > ADDR_DIGITS_MAX || strspn(d, "0123456789") != n)
        return fail(err, errsz, "TP-DA: '%s' is not a phone number of 1 to %d digits",
                    to, ADDR_DIGITS_MAX);
    out[0] = (uint8_t)n;
    out[1] = intl ? 0x91 : 0x81;
    for (size_t i = 0; i < n; i += 2) {
        unsigned hi = i + 1 < n ? (unsigned)(d[i + 1] - '0') : 0x0F;
        out[2 + i / 2] = (uint8_t)(hi << 4 | (unsigned)(d[i] - '0'));
    }
    return (int)(2 + (n + 1) / 2);
}

int pdu_encode_submit(const struct pdu_submit *in, char *hex, size_t hexsz,
                      char *err, size_t errsz)
{
    uint8_t t[PDU_MAX];
    size_t n = 0;

    if (in->ud_len > CODEC_UD_MAX)
        return fail(err, errsz, "TP-UD of %u octets is more than %d", in->ud_len, CODEC_UD_MAX);
    t[n++] = (uint8_t)(0x01 | (in->vp_minutes ? 0x10 : 0) | (in->srr ? 0x20 : 0) |
                       (in->udhi ? 0x40 : 0));
    t[n++] = in->mr;
    int a = put_address(in->to, t + n, err, errsz);
    if (a < 0)
        return -1;
    n += (size_t)a;
    t[n++] = in->pid;
    t[n++] = in->dcs;
    if (in->vp_minutes)
        t[n++] = pdu_vp_relative(in->vp_minutes);
    t[n++] = in->udl;
    memcpy(t + n, in->ud, in->ud_len);
    n += in->ud_len;
    if (hexsz < 2 * n + 3)
        return fail(err, errsz, "no room for a %zu-octet PDU in hex", n);
    hex[0] = hex[1] = '0';
    to_hex(t, n, hex + 2);
    return (int)n;
}
