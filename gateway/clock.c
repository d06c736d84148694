/*
 * clock: wall time, or wall time scaled from an anchor. The anchor pairs a
 * monotonic reading with the virtual start, so a wall-clock step (NTP on a
 * Pi that booted without a battery-backed clock) does not jump virtual time.
 */
#include "gateway/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double scale = 1.0;
static bool scaled;
static int64_t anchor_virtual_ms;
static int64_t anchor_mono_ms;

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    if (!scaled)
        return read_ms(CLOCK_REALTIME);
    int64_t elapsed = read_ms(CLOCK_MONOTONIC) - anchor_mono_ms;
    return anchor_virtual_ms + (int64_t)((double)elapsed * scale);
}

int64_t clock_now(void)
{
    return clock_now_ms() / 1000;
}

void clock_set_scale(double factor, int64_t start)
{
    scale = factor;
    scaled = true;
    anchor_virtual_ms = start * 1000;
    anchor_mono_ms = read_ms(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t clock_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

void clock_follow(int64_t virtual_ms, double factor, int64_t wall_ms)
{
    int64_t behind = read_ms(CLOCK_REALTIME) - wall_ms;
    int64_t start_ms = virtual_ms + (int64_t)((double)behind * factor);
    scale = factor;
    scaled = true;
    anchor_virtual_ms = start_ms;
    anchor_mono_ms = read_ms(CLOCK_MONOTONIC);
}

void clock_reset(void)
{
    scaled = false;
    scale = 1.0;
}

double clock_scale(void)
{
    return scale;
}

const char *clock_iso8601(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s%c%02ld:%02ld", base, sign, off / 60, off % 60);
    return buf;
}

bool clock_parse_iso8601(const char *text, int64_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int used = 0, sec = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &used) != 5)
        return false;
    const char *p = text + used;
    if (*p == ':' && sscanf(p, ":%2d%n", &sec, &used) == 1)
        p += used;
    tm.tm_sec = sec;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    if (*p == '\0') {
        tm.tm_isdst = -1;
        *t = (int64_t)mktime(&tm);
        return true;
    }
    int oh = 0, om = 0;
    int sign = 0;
    if (strcmp(p, "Z") == 0)
        sign = 1;
    else if ((p[0] == '+' || p[0] == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
             strlen(p) == 6)
        sign = p[0] == '+' ? 1 : -1;
    else
        return false;
    *t = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
    return true;
}
