/*
 * probe: one-shot AT identity queries for `homing modems` (see probe.h).
 *
 * A tiny line reader over a serial port: bytes are split at CR or LF, blank
 * lines dropped. A query sends "AT<cmd>\r" and reads lines until a final
 * result or its deadline. It takes the first line that fits the query (its
 * +PREFIX:, or for identity commands an unprefixed line of the right shape),
 * so echo and unsolicited lines in between are passed over, not mistaken for
 * the answer.
 */
#include "modem/probe.h"
#include "modem/serial.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct reader {
    struct serial *s;
    char buf[2048];
    size_t len;
    bool gone;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

enum probe_line probe_line_kind(const char *line)
{
    if (strcmp(line, "OK") == 0)
        return PROBE_LINE_OK;
    if (strcmp(line, "ERROR") == 0 || strncmp(line, "+CME ERROR:", 11) == 0 ||
        strncmp(line, "+CMS ERROR:", 11) == 0)
        return PROBE_LINE_ERROR;
    return PROBE_LINE_INFO;
}

/* Takes one complete line out of the buffer into `line`; false if none yet. */
static bool take_line(struct reader *r, char *line, size_t size)
{
    size_t skip = 0;
    while (skip < r->len && (r->buf[skip] == '\r' || r->buf[skip] == '\n'))
        skip++;
    memmove(r->buf, r->buf + skip, r->len - skip);
    r->len -= skip;
    size_t end = 0;
    while (end < r->len && r->buf[end] != '\r' && r->buf[end] != '\n')
        end++;
    if (end == r->len) {
        if (r->len == sizeof r->buf)
            r->len = 0; /* a line longer than the buffer is noise: drop it */
        return false;
    }
    size_t n = end < size - 1 ? end : size - 1;
    memcpy(line, r->buf, n);
    line[n] = '\0';
    memmove(r->buf, r->buf + end, r->len - end);
    r->len -= end;
    return true;
}

/* Waits for input until `deadline`; false on timeout or when the port is gone. */
static bool fill(struct reader *r, long long deadline)
{
    struct pollfd pfd = { serial_fd(r->s), POLLIN, 0 };
    if (poll(&pfd, 1, left_ms(deadline)) <= 0)
        return false;
    ssize_t got = serial_read(r->s, r->buf + r->len, sizeof r->buf - r->len);
    if (got < 0)
        r->gone = true;
    if (got > 0)
        r->len += (size_t)got;
    return got >= 0;
}

static bool send_all(struct reader *r, const char *text, long long deadline)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = serial_write(r->s, text + done, len - done);
        if (w < 0) {
            r->gone = true;
            return false;
        }
        done += (size_t)w;
        struct pollfd pfd = { serial_fd(r->s), POLLOUT, 0 };
        if (w == 0 && poll(&pfd, 1, left_ms(deadline)) <= 0)
            return false;
    }
    return true;
}

/* Whatever arrived before we asked (old URCs, a half line) is not an answer. */
static void drain(struct reader *r)
{
    char junk[256];
    while (serial_read(r->s, junk, sizeof junk) > 0)
        ;
    r->len = 0;
}

struct query {
    const char *cmd;                   /* "+CGSN" */
    const char *prefix;                /* "+CGSN:": the answer may carry it */
    bool strict;                       /* the answer must carry the prefix */
    bool (*fits)(const char *value);   /* shape of a real answer */
    char *dst;
    size_t dstsz;
};

static const char *skip_space(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

/* If `line` answers the query, returns its value (after any prefix); else NULL. */
static const char *answer_value(const struct query *q, const char *line)
{
    size_t plen = strlen(q->prefix);
    const char *value = NULL;
    if (strncasecmp(line, q->prefix, plen) == 0)
        value = skip_space(line + plen);
    else if (!q->strict && line[0] != '+' && line[0] != '^')
        value = line;
    return value && q->fits(value) ? value : NULL;
}

/* Sends AT<cmd> and reads to its final result; true on OK. */
static bool run_query(struct reader *r, const struct query *q, int timeout_ms)
{
    char cmd[64], line[512];
    snprintf(cmd, sizeof cmd, "AT%s", q->cmd);
    long long deadline = now_ms() + timeout_ms;
    char send[72];
    snprintf(send, sizeof send, "%s\r", cmd);
    if (!send_all(r, send, deadline))
        return false;
    if (q->dst)
        q->dst[0] = '\0';
    for (;;) {
        while (!take_line(r, line, sizeof line))
            if (!fill(r, deadline))
                return false;
        if (strcasecmp(line, cmd) == 0)
            continue; /* echo */
        enum probe_line kind = probe_line_kind(line);
        if (kind != PROBE_LINE_INFO)
            return kind == PROBE_LINE_OK;
        const char *value = q->dst && !q->dst[0] ? answer_value(q, line) : NULL;
        if (value)
            snprintf(q->dst, q->dstsz, "%s", value);
    }
}

static bool fits_any(const char *value)
{
    return *value != '\0';
}

static bool fits_text(const char *value)
{
    /* Not an unsolicited word that has no prefix. */
    static const char *const noise[] = { "RING", "RDY", "NO CARRIER", "BUSY", "NO ANSWER" };
    for (size_t i = 0; i < sizeof noise / sizeof noise[0]; i++)
        if (strcmp(value, noise[i]) == 0)
            return false;
    return *value != '\0';
}

static bool fits_digits(const char *value)
{
    size_t n = strspn(value, "0123456789");
    return n >= 6 && n <= 20 && value[n] == '\0';
}

static bool fits_csq(const char *value)
{
    int rssi, ber;
    char end;
    return sscanf(value, "%d,%d%c", &rssi, &ber, &end) == 2;
}

static bool fits_creg(const char *value)
{
    return probe_creg_name(value) != NULL;
}

bool probe_csq_dbm(const char *value, int *dbm)
{
    int rssi, ber;
    char end;
    if (sscanf(value, "%d,%d%c", &rssi, &ber, &end) != 2 || rssi < 0 || rssi > 31)
        return false;
    *dbm = -113 + 2 * rssi; /* 27.007: 0 is -113 or less, 31 is -51 or more */
    return true;
}

/* Counts comma-separated fields; the first must be a number, stored in *first. */
static int creg_fields(const char *value, int *first, int *second)
{
    char *end;
    long a = strtol(value, &end, 10);
    if (end == value || (*end != ',' && *end != '\0'))
        return 0;
    *first = (int)a;
    int fields = 1;
    if (*end == ',') {
        const char *s = end + 1;
        long b = strtol(s, &end, 10);
        if (end == s || (*end != ',' && *end != '\0'))
            return 0;
        *second = (int)b;
        fields = 2;
        for (const char *p = end; *p; p++)
            fields += *p == ',';
    }
    return fields;
}

const char *probe_creg_name(const char *value)
{
    static const char *const names[] = {
        "not-registered", "home", "searching", "denied", "unknown", "roaming",
        "home-sms-only", "roaming-sms-only", "emergency-only",
    };
    int n = -1, stat = -1;
    int fields = creg_fields(value, &n, &stat);
    /* The answer is "n,stat[,lac,ci[,act]]"; the URC is "stat[,lac,ci[,act]]". */
    if ((fields != 2 && fields < 4) || n < 0 || n > 3)
        return NULL;
    if (stat < 0)
        return NULL;
    return stat < (int)(sizeof names / sizeof names[0]) ? names[stat] : "unknown";
}

static void identify(struct reader *r, struct probe_result *out)
{
    char csq[64] = "", creg[64] = "";
    const struct query queries[] = {
        { "+CGMM", "+CGMM:", false, fits_text, out->model, sizeof out->model },
        { "+CGMI", "+CGMI:", false, fits_text, out->manufacturer, sizeof out->manufacturer },
        { "+CGSN", "+CGSN:", false, fits_digits, out->imei, sizeof out->imei },
        { "+CIMI", "+CIMI:", false, fits_digits, out->imsi, sizeof out->imsi },
        { "+CSQ", "+CSQ:", true, fits_csq, csq, sizeof csq },
        { "+CREG?", "+CREG:", true, fits_creg, creg, sizeof creg },
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0] && !r->gone; i++)
        if (!run_query(r, &queries[i], PROBE_QUERY_TIMEOUT_MS))
            queries[i].dst[0] = '\0';
    out->has_signal = csq[0] && probe_csq_dbm(csq, &out->signal_dbm);
    const char *reg = creg[0] ? probe_creg_name(creg) : NULL;
    snprintf(out->registration, sizeof out->registration, "%s", reg ? reg : "");
}

bool probe_port(const char *port, bool full, struct probe_result *out)
{
    *out = (struct probe_result){ 0 };
    struct reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(out->error, sizeof out->error, "port %s: out of memory", port);
        return false;
    }
    r->s = serial_open(port, 115200, out->error, sizeof out->error);
    out->opened = r->s != NULL;
    if (r->s) {
        drain(r);
        const struct query at = { "", "", true, fits_any, NULL, 0 };
        out->answers_at = run_query(r, &at, PROBE_AT_TIMEOUT_MS);
        if (out->answers_at && full)
            identify(r, out);
        serial_close(r->s);
    }
    free(r);
    return out->answers_at;
}
