/*
 * smpp_receipt: the text form of SMSC delivery receipts (SMPP 3.4 appendix
 * B), message states, and matching a receipt's id with the message_id of
 * the submit_sm_resp.
 *
 * Appendix B calls the format "SMSC vendor specific" and gives one example;
 * real receipts stray from it in every field (see tests/unit/test_smpp_pdu.c
 * for the variants, with their sources). So the parser is a tolerant
 * tokenizer, not a pattern: at each word it looks for a known key followed
 * by ':' (case ignored, "submit_date" accepted for "submit date"), takes
 * the value up to the next blank, and skips words it does not know. "text:"
 * takes the rest of the message, since the text itself may hold blanks and
 * colons. A key with nothing after its colon ("done date: stat:ACCEPTD")
 * has an empty value; "err: 0" (blank, then a word that is not a key) gets
 * the word.
 */
#include "gateway/smpp_pdu.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum rkey { K_ID, K_SUB, K_DLVRD, K_SUBMIT, K_DONE, K_STAT, K_ERR, K_TEXT, K_NONE };

/* Longer keys first, so "submit date" wins over "sub". */
static const struct { const char *name; enum rkey key; } keys[] = {
    { "submit date", K_SUBMIT }, { "submit_date", K_SUBMIT }, { "submitdate", K_SUBMIT },
    { "done date", K_DONE }, { "done_date", K_DONE }, { "donedate", K_DONE },
    { "dlvrd", K_DLVRD }, { "stat", K_STAT }, { "text", K_TEXT },
    { "sub", K_SUB }, { "err", K_ERR }, { "id", K_ID },
};

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The key at s[0..n) followed by ':' (blanks allowed before it): sets *used
 * to the octets up to and including the colon. */
static enum rkey key_at(const char *s, size_t n, size_t *used)
{
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k].name), i;
        if (kl > n || strncasecmp(s, keys[k].name, kl) != 0)
            continue;
        for (i = kl; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
            ;
        if (i < n && s[i] == ':') {
            *used = i + 1;
            return keys[k].key;
        }
    }
    return K_NONE;
}

static void copy_value(char *dst, size_t dstsz, const char *v, size_t n)
{
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int number(const char *v, size_t n)
{
    int x = 0;
    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static void store(struct smpp_receipt *r, enum rkey k, const char *v, size_t n)
{
    switch (k) {
    case K_ID: copy_value(r->id, sizeof r->id, v, n); break;
    case K_SUB: r->sub = number(v, n); break;
    case K_DLVRD: r->dlvrd = number(v, n); break;
    case K_SUBMIT: copy_value(r->submit_date, sizeof r->submit_date, v, n); break;
    case K_DONE: copy_value(r->done_date, sizeof r->done_date, v, n); break;
    case K_STAT:
        copy_value(r->stat, sizeof r->stat, v, n);
        r->has_state = smpp_state_from_stat(r->stat, &r->state) == 0;
        break;
    case K_ERR: copy_value(r->err, sizeof r->err, v, n); break;
    case K_TEXT: copy_value(r->text, sizeof r->text, v, n); break;
    case K_NONE: break;
    }
}

static size_t word_end(const char *s, size_t i, size_t len)
{
    while (i < len && !blank(s[i]))
        i++;
    return i;
}

/* The value after a key's colon at s[i]: returns where it ends. */
static size_t value_at(const char *s, size_t i, size_t len, size_t *vstart)
{
    size_t j = i, used;

    if (i < len && !blank(s[i])) {
        *vstart = i;
        return word_end(s, i, len);
    }
    while (j < len && blank(s[j]))
        j++;
    if (j == len || key_at(s + j, len - j, &used) != K_NONE) {
        *vstart = i;
        return i;              /* empty: the next word is a key */
    }
    *vstart = j;
    return word_end(s, j, len);
}

int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *r)
{
    const char *nul = memchr(text, '\0', len);
    size_t i = 0, used, vs;

    memset(r, 0, sizeof *r);
    r->sub = r->dlvrd = -1;
    if (nul)
        len = (size_t)(nul - text);
    while (i < len) {
        if (blank(text[i])) {
            i++;
            continue;
        }
        enum rkey k = key_at(text + i, len - i, &used);
        if (k == K_NONE) {
            i = word_end(text, i, len);
            continue;
        }
        i += used;
        if (k == K_TEXT) {
            size_t e = len;
            while (e > i && blank(text[e - 1]))
                e--;
            store(r, k, text + i, e - i);
            break;
        }
        size_t e = value_at(text, i, len, &vs);
        store(r, k, text + vs, e - vs);
        i = e;
    }
    return r->id[0] && r->has_state ? 0 : -1;
}

/* --- states ------------------------------------------------------------------ */

static const struct { const char *name; enum smpp_msg_state s; } stats[] = {
    { "DELIVRD", SMPP_STATE_DELIVERED }, { "DELIVERED", SMPP_STATE_DELIVERED },
    { "EXPIRED", SMPP_STATE_EXPIRED }, { "DELETED", SMPP_STATE_DELETED },
    { "UNDELIV", SMPP_STATE_UNDELIVERABLE }, { "UNDELIVERABLE", SMPP_STATE_UNDELIVERABLE },
    { "FAILED", SMPP_STATE_UNDELIVERABLE },
    { "ACCEPTD", SMPP_STATE_ACCEPTED }, { "ACCEPTED", SMPP_STATE_ACCEPTED },
    { "UNKNOWN", SMPP_STATE_UNKNOWN },
    { "REJECTD", SMPP_STATE_REJECTED }, { "REJECTED", SMPP_STATE_REJECTED },
    { "ENROUTE", SMPP_STATE_ENROUTE }, { "SCHEDLD", SMPP_STATE_SCHEDULED },
    { "SKIPPED", SMPP_STATE_SKIPPED },
};

int smpp_state_from_stat(const char *stat, enum smpp_msg_state *out)
{
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
        if (strcasecmp(stat, stats[i].name) == 0) {
            *out = stats[i].s;
            return 0;
        }
    return -1;
}

const char *smpp_state_name(enum smpp_msg_state s)
{
    static const char *const names[] = { "SCHEDLD", "ENROUTE", "DELIVRD", "EXPIRED",
        "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "SKIPPED" };
    return (unsigned)s < 10 ? names[s] : "UNKNOWN";
}

bool smpp_state_final(enum smpp_msg_state s)
{
    return s != SMPP_STATE_SCHEDULED && s != SMPP_STATE_ENROUTE && s != SMPP_STATE_ACCEPTED &&
           (unsigned)s <= SMPP_STATE_SKIPPED;
}

enum smpp_outcome smpp_state_outcome(enum smpp_msg_state s)
{
    if (s == SMPP_STATE_DELIVERED)
        return SMPP_OUTCOME_DELIVERED;
    return smpp_state_final(s) ? SMPP_OUTCOME_UNDELIVERED : SMPP_OUTCOME_PENDING;
}

/* --- id matching -------------------------------------------------------------- */

static bool all_of(const char *s, int (*pred)(int))
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!pred((unsigned char)*s))
            return false;
    return true;
}

static bool has_hex_letter(const char *s)
{
    for (; *s; s++)
        if (isxdigit((unsigned char)*s) && !isdigit((unsigned char)*s))
            return true;
    return false;
}

static const char *skip_zeros(const char *s)
{
    while (s[0] == '0' && s[1])
        s++;
    return s;
}

/* The same number, both written in one base: leading zeros and case aside. */
static bool same_number(const char *a, const char *b)
{
    return strcasecmp(skip_zeros(a), skip_zeros(b)) == 0;
}

/* Decimal digits of any length to upper-case hex without leading zeros. */
static void dec_to_hex(const char *dec, char *out, size_t outsz)
{
    uint8_t d[SMPP_ID_MAX];
    char rev[SMPP_ID_MAX];
    size_t n = strlen(dec), k = 0, start = 0;

    if (n >= sizeof d)
        n = sizeof d - 1;
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(dec[i] - '0');
    while (start < n && k < sizeof rev) {
        unsigned rem = 0;
        for (size_t i = start; i < n; i++) {
            unsigned cur = rem * 10 + d[i];
            d[i] = (uint8_t)(cur / 16);
            rem = cur % 16;
        }
        rev[k++] = "0123456789ABCDEF"[rem];
        while (start < n && d[start] == 0)
            start++;
    }
    if (k == 0)
        rev[k++] = '0';
    size_t o = 0;
    while (k > 0 && o + 1 < outsz)
        out[o++] = rev[--k];
    out[o] = '\0';
}

static bool hex_dec(const char *hex, const char *dec)
{
    char h[SMPP_ID_MAX + 1];
    if (!all_of(hex, isxdigit) || !all_of(dec, isdigit))
        return false;
    dec_to_hex(dec, h, sizeof h);
    return strcasecmp(skip_zeros(hex), h) == 0;
}

bool smpp_ids_match(const char *a, const char *b, enum smpp_id_mode mode)
{
    bool dec = all_of(a, isdigit) && all_of(b, isdigit);
    bool hex = all_of(a, isxdigit) && all_of(b, isxdigit);

    switch (mode) {
    case SMPP_ID_EXACT: return strcmp(a, b) == 0;
    case SMPP_ID_DECIMAL: return dec && same_number(a, b);
    case SMPP_ID_HEX: return hex && same_number(a, b);
    case SMPP_ID_HEX_DEC: return hex_dec(a, b);
    case SMPP_ID_DEC_HEX: return hex_dec(b, a);
    case SMPP_ID_AUTO:
        if (strcmp(a, b) == 0 || (hex && same_number(a, b)))
            return true;
        return (has_hex_letter(a) && hex_dec(a, b)) || (has_hex_letter(b) && hex_dec(b, a));
    }
    return false;
}
