/*
 * conf_value: the small value languages of homing.conf, also used by the CLI
 * and the HTTP API so that "48h" means the same everywhere.
 *
 *   duration   one or more <number><unit> terms, units s m h d w: "90s", "1h30m", "7d"
 *   clock      HH:MM on a 24-hour clock: "21:00", "08:30"
 *   listen     host:port, or [v6-address]:port
 */
#include "config/conf.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int64_t unit_seconds(char unit)
{
    switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
    }
}

bool conf_parse_duration(const char *text, int64_t *seconds, char *why, size_t why_size)
{
    const char *p = text;
    int64_t total = 0;
    if (*p == '\0') {
        snprintf(why, why_size, "empty duration; write it like \"90s\", \"48h\" or \"7d\"");
        return false;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p)) {
            snprintf(why, why_size, "'%s' is not a duration: expected a number at '%s' "
                     "(write it like \"90s\", \"48h\" or \"7d\")", text, p);
            return false;
        }
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > 100000000) {
                snprintf(why, why_size, "'%s' is too long a duration", text);
                return false;
            }
        }
        int64_t unit = unit_seconds(*p);
        if (unit == 0) {
            if (*p == '\0')
                snprintf(why, why_size, "'%s' has no unit: add s, m, h, d or w", text);
            else
                snprintf(why, why_size, "unknown unit '%c' in '%s': use s, m, h, d or w", *p, text);
            return false;
        }
        p++;
        total += n * unit;
    }
    *seconds = total;
    return true;
}

bool conf_parse_clock(const char *text, int64_t *minutes, char *why, size_t why_size)
{
    int h = -1, m = -1, used = 0;
    if (sscanf(text, "%2d:%2d%n", &h, &m, &used) != 2 || text[used] != '\0' ||
        !isdigit((unsigned char)text[0]) || strlen(text) < 4) {
        snprintf(why, why_size, "'%s' is not a clock time: write it as HH:MM, like \"21:00\"", text);
        return false;
    }
    if (h > 23 || m > 59 || m < 0 || h < 0) {
        snprintf(why, why_size, "'%s' is not a time of day: hours 00-23, minutes 00-59", text);
        return false;
    }
    *minutes = h * 60 + m;
    return true;
}

bool conf_parse_listen(const char *text, char *host, size_t host_size, int *port,
                       char *why, size_t why_size)
{
    const char *colon = strrchr(text, ':');
    const char *h = text;
    size_t hlen = colon ? (size_t)(colon - text) : 0;
    if (!colon || hlen == 0) {
        snprintf(why, why_size, "'%s' is not host:port, like \"127.0.0.1:8080\"", text);
        return false;
    }
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535) {
        snprintf(why, why_size, "'%s' has no valid port (1-65535, or 0 for any free one) "
                 "after the last ':'", text);
        return false;
    }
    if (hlen + 1 > host_size) {
        snprintf(why, why_size, "host in '%s' is too long", text);
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return true;
}
