/*
 * settings: one table of the simulator's behaviour switches.
 *
 * The same table serves the command line (--receipt-delay 500) and the
 * control channel (receipt-delay 500), so the two cannot drift apart: each
 * row names the setting, says how its value is written, and points at the
 * setter that parses and range-checks it.
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Final states for receipts: the text form's stat: and message_state TLV. */
static const struct { const char *stat; uint8_t value; } states[] = {
    {"DELIVRD", 2}, {"EXPIRED", 3}, {"DELETED", 4}, {"UNDELIV", 5},
    {"ACCEPTD", 6}, {"UNKNOWN", 7}, {"REJECTD", 8}, {"ENROUTE", 1},
};
#define N_STATES (int)(sizeof states / sizeof states[0])

const char *settings_state_stat(int index)
{
    return states[index].stat;
}

uint8_t settings_state_value(int index)
{
    return states[index].value;
}

typedef int (*setter)(struct settings *s, const char *v, char *err, size_t errlen);

static int parse_long(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int bad(char *err, size_t errlen, const char *what, const char *v)
{
    snprintf(err, errlen, "%s: bad value '%.60s'", what, v);
    return -1;
}

static int set_system_id(struct settings *s, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= sizeof s->system_id)
        return bad(err, errlen, "system-id (at most 15 characters)", v);
    snprintf(s->system_id, sizeof s->system_id, "%s", v);
    return 0;
}

static int set_password(struct settings *s, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= sizeof s->password)
        return bad(err, errlen, "password (at most 8 characters)", v);
    snprintf(s->password, sizeof s->password, "%s", v);
    return 0;
}

static int set_receipts(struct settings *s, const char *v, char *err, size_t errlen)
{
    static const char *names[] = {"off", "text", "tlv", "both"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, names[i]) == 0) {
            s->receipts = (enum receipts_mode)i;
            return 0;
        }
    }
    return bad(err, errlen, "receipts (off|text|tlv|both)", v);
}

static int set_ms(long *dst, const char *what, const char *v, char *err, size_t errlen)
{
    if (parse_long(v, 0, 3600000, dst) != 0)
        return bad(err, errlen, what, v);
    return 0;
}

static int set_receipt_delay(struct settings *s, const char *v, char *err, size_t errlen)
{
    return set_ms(&s->receipt_delay_ms, "receipt-delay (ms)", v, err, errlen);
}

static int set_slow(struct settings *s, const char *v, char *err, size_t errlen)
{
    return set_ms(&s->slow_ms, "slow (ms)", v, err, errlen);
}

static int set_receipt_state(struct settings *s, const char *v, char *err, size_t errlen)
{
    for (int i = 0; i < N_STATES; i++) {
        if (strcasecmp(v, states[i].stat) == 0) {
            s->receipt_state = i;
            return 0;
        }
    }
    return bad(err, errlen, "receipt-state (DELIVRD|UNDELIV|EXPIRED|REJECTD|"
               "DELETED|ACCEPTD|UNKNOWN|ENROUTE)", v);
}

static int set_receipt_err(struct settings *s, const char *v, char *err, size_t errlen)
{
    long n;
    if (parse_long(v, 0, 999, &n) != 0)
        return bad(err, errlen, "receipt-err (0..999)", v);
    s->receipt_err = (int)n;
    return 0;
}

static int parse_ids(const char *v, enum ids_mode *out)
{
    if (strcmp(v, "dec") == 0)
        *out = IDS_DEC;
    else if (strcmp(v, "hex") == 0)
        *out = IDS_HEX;
    else
        return -1;
    return 0;
}

/* "dec", "hex", or "hex dec": submit_sm_resp ids, then receipt ids. */
static int set_ids(struct settings *s, const char *v, char *err, size_t errlen)
{
    char a[8] = "", b[8] = "";
    int n = sscanf(v, "%7s %7s", a, b);
    if (n < 1 || parse_ids(a, &s->ids) != 0)
        return bad(err, errlen, "ids (dec|hex [dec|hex])", v);
    if (n == 1) {
        s->receipt_ids = s->ids;
        return 0;
    }
    if (parse_ids(b, &s->receipt_ids) != 0)
        return bad(err, errlen, "ids (dec|hex [dec|hex])", v);
    return 0;
}

static int set_receipt_ids(struct settings *s, const char *v, char *err, size_t errlen)
{
    if (parse_ids(v, &s->receipt_ids) != 0)
        return bad(err, errlen, "receipt-ids (dec|hex)", v);
    return 0;
}

/* "N%", "every N", "every:N" or "off". */
static int set_throttle(struct settings *s, const char *v, char *err, size_t errlen)
{
    char num[32];
    long n;
    if (strcmp(v, "off") == 0 || strcmp(v, "0%") == 0) {
        s->throttle = THROTTLE_OFF;
        return 0;
    }
    if (sscanf(v, "every%*[ :]%31s", num) == 1 && parse_long(num, 1, 1000000, &n) == 0) {
        s->throttle = THROTTLE_EVERY;
        s->throttle_n = n;
        return 0;
    }
    size_t len = strlen(v);
    if (len > 1 && len < sizeof num && v[len - 1] == '%') {
        memcpy(num, v, len - 1);
        num[len - 1] = '\0';
        if (parse_long(num, 0, 100, &n) == 0) {
            s->throttle = THROTTLE_PERCENT;
            s->throttle_n = n;
            return 0;
        }
    }
    return bad(err, errlen, "throttle (N% | every N | off)", v);
}

static int set_seed(struct settings *s, const char *v, char *err, size_t errlen)
{
    long n;
    if (parse_long(v, 0, 0x7FFFFFFF, &n) != 0)
        return bad(err, errlen, "seed", v);
    s->seed = (uint64_t)n;
    return 0;
}

static int parse_onoff(const char *v, bool *out)
{
    if (strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

static int set_enquire(struct settings *s, const char *v, char *err, size_t errlen)
{
    return parse_onoff(v, &s->enquire) ? bad(err, errlen, "enquire (on|off)", v) : 0;
}

static int set_strict(struct settings *s, const char *v, char *err, size_t errlen)
{
    return parse_onoff(v, &s->strict) ? bad(err, errlen, "strict (on|off)", v) : 0;
}

static int set_verbose(struct settings *s, const char *v, char *err, size_t errlen)
{
    return parse_onoff(v, &s->verbose) ? bad(err, errlen, "verbose (on|off)", v) : 0;
}

/* "after N", "N" or "off". */
static int set_drop(struct settings *s, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "off") == 0) {
        s->drop_after = -1;
        return 0;
    }
    if (strncmp(v, "after ", 6) == 0)
        v += 6;
    if (parse_long(v, 0, 1000000, &s->drop_after) != 0)
        return bad(err, errlen, "drop (after N | off)", v);
    return 0;
}

static const struct {
    const char *name;   /* control command and --name on the command line */
    const char *values; /* for the usage text */
    setter set;
} table[] = {
    {"system-id", "ID", set_system_id},
    {"password", "PW", set_password},
    {"receipts", "off|text|tlv|both", set_receipts},
    {"receipt-delay", "MS", set_receipt_delay},
    {"receipt-state", "DELIVRD|UNDELIV|EXPIRED|REJECTD|...", set_receipt_state},
    {"receipt-err", "0..999", set_receipt_err},
    {"ids", "dec|hex [dec|hex] (responses [receipts])", set_ids},
    {"receipt-ids", "dec|hex", set_receipt_ids},
    {"throttle", "N%|every:N|off", set_throttle},
    {"seed", "N", set_seed},
    {"slow", "MS", set_slow},
    {"enquire", "on|off", set_enquire},
    {"drop", "N|off (answer N more submits, then drop)", set_drop},
    {"drop-after", "N|off", set_drop},
    {"strict", "on|off", set_strict},
    {"verbose", "on|off", set_verbose},
};
#define N_TABLE (sizeof table / sizeof table[0])

int settings_set(struct settings *s, const char *name, const char *value,
                 char *err, size_t errlen)
{
    for (size_t i = 0; i < N_TABLE; i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].set(s, value, err, errlen);
    snprintf(err, errlen, "unknown setting '%.60s'", name);
    return -1;
}

void settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->system_id, sizeof s->system_id, "homing");
    snprintf(s->password, sizeof s->password, "secret");
    s->receipts = RECEIPTS_OFF;
    s->receipt_delay_ms = 100;
    s->receipt_state = 0;
    s->ids = s->receipt_ids = IDS_DEC;
    s->throttle = THROTTLE_OFF;
    s->seed = 1;
    s->enquire = true;
    s->drop_after = -1;
    s->strict = true;
}

void settings_describe(const struct settings *s, char *buf, size_t size)
{
    static const char *rnames[] = {"off", "text", "tlv", "both"};
    char thr[32];
    if (s->throttle == THROTTLE_OFF)
        snprintf(thr, sizeof thr, "off");
    else if (s->throttle == THROTTLE_PERCENT)
        snprintf(thr, sizeof thr, "%ld%%", s->throttle_n);
    else
        snprintf(thr, sizeof thr, "every:%ld", s->throttle_n);
    snprintf(buf, size,
             "receipts=%s receipt-delay=%ld receipt-state=%s receipt-err=%03d "
             "ids=%s receipt-ids=%s throttle=%s slow=%ld enquire=%s drop=%ld strict=%s",
             rnames[s->receipts], s->receipt_delay_ms, states[s->receipt_state].stat,
             s->receipt_err, s->ids == IDS_HEX ? "hex" : "dec",
             s->receipt_ids == IDS_HEX ? "hex" : "dec", thr, s->slow_ms,
             s->enquire ? "on" : "off", s->drop_after, s->strict ? "on" : "off");
}

void settings_usage(void)
{
    fprintf(stderr,
            "usage: smsc-sim [--listen HOST:PORT] [--port-file FILE] [--control PATH|HOST:PORT]\n"
            "                [--log FILE] [--SETTING VALUE ...]\n"
            "settings (also control-channel commands):\n");
    for (size_t i = 0; i < N_TABLE; i++)
        fprintf(stderr, "  --%-14s %s\n", table[i].name, table[i].values);
}
