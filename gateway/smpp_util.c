/*
 * smpp_util: the pure parts of the SMPP driver, kept apart so the unit tests
 * reach them without a socket: the command_status table (name, and whether
 * a failed submit is worth retrying), the reconnect backoff, the adaptive
 * submit rate, and the index that maps receipt ids back to submit ids.
 *
 * The id index is a ring of the last N submit ids with a chained hash on
 * their normal form; the oldest entry is unlinked when the ring wraps. It
 * is memory only: after a restart, receipts fall back to smpp_ids_guess().
 */
#include "gateway/smpp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- command_status ------------------------------------------------------- */

struct status_info {
    uint32_t status;
    const char *name;
    bool temporary;
};

/* SMPP 3.4 5.1.3. Temporary: the SMSC or the link is busy or confused;
 * permanent: this message as written will never be taken. */
static const struct status_info statuses[] = {
    { 0x00, "ESME_ROK", false },            { 0x01, "ESME_RINVMSGLEN", false },
    { 0x02, "ESME_RINVCMDLEN", false },     { 0x03, "ESME_RINVCMDID", false },
    { 0x04, "ESME_RINVBNDSTS", true },      { 0x05, "ESME_RALYBND", true },
    { 0x06, "ESME_RINVPRTFLG", false },     { 0x07, "ESME_RINVREGDLVFLG", false },
    { 0x08, "ESME_RSYSERR", true },         { 0x0A, "ESME_RINVSRCADR", false },
    { 0x0B, "ESME_RINVDSTADR", false },     { 0x0C, "ESME_RINVMSGID", false },
    { 0x0D, "ESME_RBINDFAIL", true },       { 0x0E, "ESME_RINVPASWD", true },
    { 0x0F, "ESME_RINVSYSID", true },       { 0x11, "ESME_RCANCELFAIL", false },
    { 0x13, "ESME_RREPLACEFAIL", false },   { 0x14, "ESME_RMSGQFUL", true },
    { 0x15, "ESME_RINVSERTYP", false },     { 0x33, "ESME_RINVNUMDESTS", false },
    { 0x34, "ESME_RINVDLNAME", false },     { 0x40, "ESME_RINVDESTFLAG", false },
    { 0x42, "ESME_RINVSUBREP", false },     { 0x43, "ESME_RINVESMCLASS", false },
    { 0x44, "ESME_RCNTSUBDL", false },      { 0x45, "ESME_RSUBMITFAIL", true },
    { 0x48, "ESME_RINVSRCTON", false },     { 0x49, "ESME_RINVSRCNPI", false },
    { 0x50, "ESME_RINVDSTTON", false },     { 0x51, "ESME_RINVDSTNPI", false },
    { 0x53, "ESME_RINVSYSTYP", true },      { 0x54, "ESME_RINVREPFLAG", false },
    { 0x55, "ESME_RINVNUMMSGS", false },    { 0x58, "ESME_RTHROTTLED", true },
    { 0x61, "ESME_RINVSCHED", false },      { 0x62, "ESME_RINVEXPIRY", false },
    { 0x63, "ESME_RINVDFTMSGID", false },   { 0x64, "ESME_RX_T_APPN", true },
    { 0x65, "ESME_RX_P_APPN", false },      { 0x66, "ESME_RX_R_APPN", false },
    { 0x67, "ESME_RQUERYFAIL", true },      { 0xC0, "ESME_RINVOPTPARSTREAM", false },
    { 0xC1, "ESME_ROPTPARNOTALLWD", false }, { 0xC2, "ESME_RINVPARLEN", false },
    { 0xC3, "ESME_RMISSINGOPTPARAM", false }, { 0xC4, "ESME_RINVOPTPARAMVAL", false },
    { 0xFE, "ESME_RDELIVERYFAILURE", true }, { 0xFF, "ESME_RUNKNOWNERR", true },
};

static const struct status_info *status_find(uint32_t status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].status == status)
            return &statuses[i];
    return NULL;
}

const char *smpp_status_name(uint32_t status)
{
    const struct status_info *s = status_find(status);
    return s ? s->name : NULL;
}

const char *smpp_status_text(uint32_t status, char *out, size_t size)
{
    const char *name = smpp_status_name(status);
    if (name)
        snprintf(out, size, "%s (0x%08x)", name, status);
    else
        snprintf(out, size, "vendor status 0x%08x", status);
    return out;
}

bool smpp_status_temporary(uint32_t status)
{
    const struct status_info *s = status_find(status);
    return s ? s->temporary : true; /* an unknown vendor code: do not lose the message */
}

bool smpp_status_throttle(uint32_t status)
{
    return status == SMPP_ESME_RTHROTTLED || status == SMPP_ESME_RMSGQFUL;
}

/* --- backoff ---------------------------------------------------------------- */

int64_t smpp_backoff_ms(int failures, int64_t base_ms, int64_t max_ms, double unit)
{
    int64_t wait = base_ms;
    for (int i = 0; i < failures && wait < max_ms; i++)
        wait *= 2;
    if (wait > max_ms)
        wait = max_ms;
    if (unit < 0 || unit >= 1)
        unit = 0;
    return (int64_t)((double)wait * (0.75 + 0.25 * unit));
}

/* --- rate ------------------------------------------------------------------- */

#define RATE_SAMPLE_MS 1000
#define RATE_CUT_SHARE 0.2
#define RATE_CLIMB_SHARE 0.05

void smpp_rate_init(struct smpp_rate *r, double tps, int64_t now_ms)
{
    *r = (struct smpp_rate){ .configured = tps, .current = tps, .tokens = 1,
                             .last_ms = now_ms, .sample_start = now_ms };
}

static void rate_refill(struct smpp_rate *r, int64_t now_ms)
{
    double dt = (double)(now_ms - r->last_ms);
    if (dt <= 0)
        return;
    r->last_ms = now_ms;
    double burst = r->current / 10 > 1 ? r->current / 10 : 1;
    r->tokens += r->current * dt / 1000;
    if (r->tokens > burst)
        r->tokens = burst;
}

bool smpp_rate_take(struct smpp_rate *r, int64_t now_ms)
{
    rate_refill(r, now_ms);
    if (r->tokens < 1)
        return false;
    r->tokens -= 1;
    return true;
}

/* Closes a one-second sample: the throttled share moves the rate. */
static bool rate_adjust(struct smpp_rate *r)
{
    double share = r->answers ? (double)r->throttles / r->answers : 0;
    bool cut = false;
    if (share > RATE_CUT_SHARE) {
        r->current *= 1 - share;
        if (r->current < 1)
            r->current = 1;
        if (r->tokens > 1)
            r->tokens = 1;
        cut = true;
    } else if (share < RATE_CLIMB_SHARE && r->current < r->configured) {
        r->current += r->configured / 10;
        if (r->current > r->configured)
            r->current = r->configured;
    }
    r->answers = r->throttles = 0;
    return cut;
}

bool smpp_rate_answer(struct smpp_rate *r, int64_t now_ms, bool throttled)
{
    rate_refill(r, now_ms);
    bool cut = false;
    if (now_ms - r->sample_start >= RATE_SAMPLE_MS) {
        cut = rate_adjust(r);
        r->sample_start = now_ms;
    }
    r->answers++;
    r->throttles += throttled;
    return cut;
}

/* --- ids ------------------------------------------------------------------- */

static int digit_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int smpp_id_rebase(const char *digits, int from, int to, char *out, size_t size)
{
    uint8_t acc[160]; /* little-endian digits in base `to` */
    size_t n = 0;
    if (!*digits)
        return -1;
    for (const char *p = digits; *p; p++) {
        int d = digit_value(*p);
        if (d < 0 || d >= from)
            return -1;
        unsigned carry = (unsigned)d;
        for (size_t i = 0; i < n; i++) {
            unsigned v = acc[i] * (unsigned)from + carry;
            acc[i] = (uint8_t)(v % (unsigned)to);
            carry = v / (unsigned)to;
        }
        for (; carry; carry /= (unsigned)to) {
            if (n == sizeof acc)
                return -1;
            acc[n++] = (uint8_t)(carry % (unsigned)to);
        }
    }
    if (n == 0)
        acc[n++] = 0;
    if (n + 1 > size)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = "0123456789abcdef"[acc[n - 1 - i]];
    out[n] = '\0';
    return 0;
}

static bool all_digits(const char *s, int base)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        int d = digit_value(*s);
        if (d < 0 || d >= base)
            return false;
    }
    return true;
}

/* The normal form: hex-digit ids lower case without leading zeros. */
static void id_normal(const char *id, char *out, size_t size)
{
    if (!all_digits(id, 16) || smpp_id_rebase(id, 16, 16, out, size) != 0)
        snprintf(out, size, "%s", id);
}

/*
 * Links are ring slots plus one, 0 ending a chain: the buckets start as
 * zeroes from calloc, so a bind whose receipts are off (nothing is ever
 * added) keeps its 512 KiB of buckets out of resident memory.
 */
struct id_entry {
    char *key;      /* normal form */
    char *id;       /* as the SMSC wrote it */
    int32_t next;   /* next entry in the same bucket (slot + 1), 0 at the end */
};

struct smpp_ids {
    enum smpp_id_mode mode;
    size_t capacity, used, pos;
    size_t mask;
    int32_t *buckets;
    struct id_entry *ring;
};

static size_t hash(const char *s)
{
    size_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

struct smpp_ids *smpp_ids_new(enum smpp_id_mode mode, size_t capacity)
{
    struct smpp_ids *x = calloc(1, sizeof *x);
    size_t nb = 16;
    while (nb < capacity)
        nb *= 2;
    if (!x || capacity == 0 || capacity >= INT32_MAX)
        abort();
    x->mode = mode;
    x->capacity = capacity;
    x->mask = nb - 1;
    x->buckets = calloc(nb, sizeof *x->buckets);
    x->ring = calloc(capacity, sizeof *x->ring);
    if (!x->buckets || !x->ring)
        abort();
    return x;
}

void smpp_ids_free(struct smpp_ids *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->used; i++)
        free(x->ring[i].key);
    free(x->ring);
    free(x->buckets);
    free(x);
}

static void ids_unlink(struct smpp_ids *x, int32_t slot)
{
    int32_t *pp = &x->buckets[hash(x->ring[slot].key) & x->mask];
    while (*pp != 0 && *pp != slot + 1)
        pp = &x->ring[*pp - 1].next;
    if (*pp == slot + 1)
        *pp = x->ring[slot].next;
    free(x->ring[slot].key);
    x->ring[slot].key = x->ring[slot].id = NULL;
}

void smpp_ids_add(struct smpp_ids *x, const char *submit_id)
{
    char key[SMPP_ID_MAX * 2];
    if (x->mode == SMPP_ID_EXACT)
        snprintf(key, sizeof key, "%s", submit_id);
    else
        id_normal(submit_id, key, sizeof key);
    int32_t slot = (int32_t)x->pos;
    if (x->used == x->capacity)
        ids_unlink(x, slot);
    else
        x->used++;
    x->pos = (x->pos + 1) % x->capacity;
    size_t klen = strlen(key) + 1, ilen = strlen(submit_id) + 1;
    char *mem = malloc(klen + ilen);
    if (!mem)
        abort();
    memcpy(mem, key, klen);
    memcpy(mem + klen, submit_id, ilen);
    size_t b = hash(key) & x->mask;
    x->ring[slot] = (struct id_entry){ .key = mem, .id = mem + klen, .next = x->buckets[b] };
    x->buckets[b] = slot + 1;
}

static const char *ids_lookup(const struct smpp_ids *x, const char *key, const char *receipt_id)
{
    for (int32_t link = x->buckets[hash(key) & x->mask]; link != 0; link = x->ring[link - 1].next) {
        const struct id_entry *e = &x->ring[link - 1];
        if (strcmp(e->key, key) == 0 && smpp_ids_match(e->id, receipt_id, x->mode))
            return e->id;
    }
    return NULL;
}

const char *smpp_ids_find(const struct smpp_ids *x, const char *receipt_id)
{
    char key[SMPP_ID_MAX * 3];
    const char *found;
    if (!*receipt_id)
        return NULL;
    if (x->mode == SMPP_ID_EXACT)
        return ids_lookup(x, receipt_id, receipt_id);
    id_normal(receipt_id, key, sizeof key);
    if (x->mode != SMPP_ID_HEX_DEC && x->mode != SMPP_ID_DEC_HEX &&
        (found = ids_lookup(x, key, receipt_id)))
        return found;
    /* The receipt in decimal, the submit in hex ... */
    if (x->mode != SMPP_ID_DEC_HEX && smpp_id_rebase(receipt_id, 10, 16, key, sizeof key) == 0 &&
        (found = ids_lookup(x, key, receipt_id)))
        return found;
    /* ... or the other way round. */
    if (x->mode != SMPP_ID_HEX_DEC && smpp_id_rebase(receipt_id, 16, 10, key, sizeof key) == 0)
        return ids_lookup(x, key, receipt_id);
    return NULL;
}

const char *smpp_ids_guess(enum smpp_id_mode mode, const char *receipt_id, char *out,
                           size_t size)
{
    if (mode == SMPP_ID_HEX_DEC && smpp_id_rebase(receipt_id, 10, 16, out, size) == 0)
        return out;
    if (mode == SMPP_ID_DEC_HEX && smpp_id_rebase(receipt_id, 16, 10, out, size) == 0)
        return out;
    snprintf(out, size, "%s", receipt_id);
    return out;
}

int smpp_id_mode_parse(const char *name, enum smpp_id_mode *out)
{
    static const struct { const char *name; enum smpp_id_mode mode; } modes[] = {
        { "auto", SMPP_ID_AUTO },   { "exact", SMPP_ID_EXACT },
        { "decimal", SMPP_ID_DECIMAL }, { "hex", SMPP_ID_HEX },
        { "hex-dec", SMPP_ID_HEX_DEC }, { "dec-hex", SMPP_ID_DEC_HEX },
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(name, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    return -1;
}
