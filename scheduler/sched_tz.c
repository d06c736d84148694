/*
 * sched_tz: see sched_tz.h.
 *
 * A zone is its table of transitions (Unix time -> UTC offset) from the TZif
 * file's 64-bit section, plus the rule of its footer (a POSIX TZ string such
 * as "EST5EDT,M3.2.0,M11.1.0") for instants after the last transition, which
 * is how current files describe every year from about 2037 on (and, in
 * "slim" files, from the last rule change on).
 *
 * glibc's localtime_r() after setenv("TZ") was the first idea and was
 * dropped: tzset() reads and parses the file again at every change of zone,
 * so a tick over recipients in many zones would parse files per row.
 *
 * Wall time to instant (sched_tz_next_wall) tries the offsets in force a day
 * before and a day after: a wall time is valid under an offset if that
 * offset is the one in force at the instant it gives. None valid is a gap;
 * two valid is an overlap, and the earlier is taken.
 */
#include "scheduler/sched_tz.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONEINFO "/usr/share/zoneinfo"
#define TZIF_MAX (1 << 20)

struct tz_rule {
    char kind;                   /* 'M' month.week.day, 'J' Julian 1..365, 'N' day 0..365 */
    int m, w, d;                 /* d is the day of the year for 'J' and 'N' */
    int32_t time;                /* seconds after local midnight, may be < 0 or > 24h */
};

struct sched_zone {
    char *name;
    bool valid;                  /* false: cached "no such zone" */
    int64_t *trans;
    uint8_t *idx;
    size_t n_trans;
    int32_t *types;              /* UTC offset of each local time type */
    size_t n_types;
    bool footer;                 /* the POSIX rule applies after the last transition */
    bool has_dst;
    int32_t std_off, dst_off;
    struct tz_rule start, end;
};

static struct sched_zone **cache;
static size_t n_cache, cap_cache;

/* --- calendar (days since 1970-01-01, proleptic Gregorian) ---------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* --- the POSIX TZ string of the footer ------------------------------------ */

static const char *parse_tz_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    const char *p = s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; NULL if there is no number. */
static const char *parse_hms(const char *s, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (*s < '0' || *s > '9')
        return NULL;
    char *end;
    long part[3] = { strtol(s, &end, 10), 0, 0 };
    for (int i = 1; i < 3 && *end == ':'; i++)
        part[i] = strtol(end + 1, &end, 10);
    *out = (int32_t)(sign * (part[0] * 3600 + part[1] * 60 + part[2]));
    return end;
}

static const char *parse_rule(const char *s, struct tz_rule *r)
{
    char *end;
    r->time = 7200;
    if (*s == 'M') {
        r->kind = 'M';
        r->m = (int)strtol(s + 1, &end, 10);
        if (*end != '.')
            return NULL;
        r->w = (int)strtol(end + 1, &end, 10);
        if (*end != '.')
            return NULL;
        r->d = (int)strtol(end + 1, &end, 10);
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
    } else {
        r->kind = *s == 'J' ? 'J' : 'N';
        r->d = (int)strtol(s + (*s == 'J'), &end, 10);
        if (end == s + (*s == 'J'))
            return NULL;
    }
    if (*end == '/')
        return parse_hms(end + 1, &r->time);
    return end;
}

static bool parse_footer(struct sched_zone *z, const char *s)
{
    int32_t off;
    if (!*s)
        return false; /* no rule: the last transition holds */
    if (!(s = parse_tz_name(s)) || !(s = parse_hms(s, &off)))
        return false;
    z->std_off = z->dst_off = -off;
    if (*s) {
        if (!(s = parse_tz_name(s)))
            return false;
        z->dst_off = z->std_off + 3600;
        if (*s != ',' && (s = parse_hms(s, &off)) != NULL)
            z->dst_off = -off;
        if (!s || *s != ',' || !(s = parse_rule(s + 1, &z->start)) || *s != ',' ||
            !(s = parse_rule(s + 1, &z->end)))
            return false;
        z->has_dst = true;
    }
    return *s == '\0';
}

/* The local seconds (since 1970 on the local clock) at which a rule fires in year y. */
static int64_t rule_local(const struct tz_rule *r, int64_t y)
{
    int64_t days;
    if (r->kind == 'M') {
        int64_t first = days_from_civil(y, r->m, 1);
        int wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int day = 1 + (r->d - wday + 7) % 7 + (r->w - 1) * 7;
        while (day > month_days(y, r->m))
            day -= 7;
        days = first + day - 1;
    } else if (r->kind == 'J') {
        days = days_from_civil(y, 1, 1) + r->d - 1 + (is_leap(y) && r->d >= 60);
    } else {
        days = days_from_civil(y, 1, 1) + r->d;
    }
    return days * 86400 + r->time;
}

static int32_t footer_offset(const struct sched_zone *z, int64_t t)
{
    if (!z->has_dst)
        return z->std_off;
    int y, m, d;
    civil_from_days(floor_div(t + z->std_off, 86400), &y, &m, &d);
    int64_t start = rule_local(&z->start, y) - z->std_off; /* given in standard time */
    int64_t end = rule_local(&z->end, y) - z->dst_off;     /* given in daylight time */
    bool dst = start < end ? t >= start && t < end : !(t >= end && t < start);
    return dst ? z->dst_off : z->std_off;
}

/* --- the TZif file --------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static struct tzif_counts header_counts(const uint8_t *h)
{
    return (struct tzif_counts){ be32(h + 20), be32(h + 24), be32(h + 28), be32(h + 32),
                                 be32(h + 36), be32(h + 40) };
}

static size_t block_size(const struct tzif_counts *c, size_t tsize)
{
    return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Reads the data block at p (after its header) with times of `tsize` bytes. */
static bool read_block(struct sched_zone *z, const uint8_t *p, const struct tzif_counts *c,
                       size_t tsize)
{
    if (c->type == 0 || c->type > 256)
        return false;
    z->n_trans = c->time;
    z->n_types = c->type;
    z->trans = calloc(c->time + 1, sizeof *z->trans);
    z->idx = calloc(c->time + 1, 1);
    z->types = calloc(c->type, sizeof *z->types);
    if (!z->trans || !z->idx || !z->types)
        abort();
    for (size_t i = 0; i < c->time; i++)
        z->trans[i] = tsize == 8 ? be64(p + 8 * i) : (int32_t)be32(p + 4 * i);
    p += (size_t)c->time * tsize;
    for (size_t i = 0; i < c->time; i++)
        if ((z->idx[i] = p[i]) >= c->type)
            return false;
    p += c->time;
    for (size_t i = 0; i < c->type; i++)
        z->types[i] = (int32_t)be32(p + 6 * i);
    return true;
}

static bool parse_tzif(struct sched_zone *z, const uint8_t *buf, size_t len)
{
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return false;
    struct tzif_counts c = header_counts(buf);
    size_t v1 = 44 + block_size(&c, 4);
    if (v1 > len)
        return false;
    if (buf[4] == 0)
        return read_block(z, buf + 44, &c, 4);
    if (v1 + 44 > len || memcmp(buf + v1, "TZif", 4) != 0)
        return false;
    c = header_counts(buf + v1);
    size_t end = v1 + 44 + block_size(&c, 8);
    if (end > len || !read_block(z, buf + v1 + 44, &c, 8))
        return false;
    /* The footer: "\n" TZ "\n". */
    if (end < len && buf[end] == '\n') {
        const uint8_t *nl = memchr(buf + end + 1, '\n', len - end - 1);
        if (nl) {
            char tz[128];
            size_t n = (size_t)(nl - buf - (ptrdiff_t)end - 1);
            if (n < sizeof tz) {
                memcpy(tz, buf + end + 1, n);
                tz[n] = '\0';
                z->footer = parse_footer(z, tz);
            }
        }
    }
    return true;
}

static bool name_ok(const char *name)
{
    if (!*name || *name == '/' || strstr(name, "..") || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-", *p))
            return false;
    return true;
}

static bool load_zone(struct sched_zone *z)
{
    char path[300];
    if (!name_ok(z->name))
        return false;
    snprintf(path, sizeof path, "%s/%s", ZONEINFO, z->name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t *buf = malloc(TZIF_MAX);
    if (!buf)
        abort();
    size_t len = fread(buf, 1, TZIF_MAX, f);
    fclose(f);
    bool ok = parse_tzif(z, buf, len);
    free(buf);
    return ok;
}

static void zone_free(struct sched_zone *z)
{
    free(z->name);
    free(z->trans);
    free(z->idx);
    free(z->types);
    free(z);
}

const struct sched_zone *sched_tz_get(const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < n_cache; i++)
        if (strcmp(cache[i]->name, name) == 0)
            return cache[i]->valid ? cache[i] : NULL;
    struct sched_zone *z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name)))
        abort();
    z->valid = load_zone(z);
    if (n_cache == cap_cache) {
        cap_cache = cap_cache ? cap_cache * 2 : 16;
        cache = realloc(cache, cap_cache * sizeof *cache);
        if (!cache)
            abort();
    }
    cache[n_cache++] = z;
    return z->valid ? z : NULL;
}

void sched_tz_cache_free(void)
{
    for (size_t i = 0; i < n_cache; i++)
        zone_free(cache[i]);
    free(cache);
    cache = NULL;
    n_cache = cap_cache = 0;
}

const char *sched_tz_name(const struct sched_zone *z)
{
    return z->name;
}

/* --- offsets and local time ----------------------------------------------- */

int32_t sched_tz_offset(const struct sched_zone *z, int64_t t)
{
    if (z->n_trans == 0)
        return z->footer ? footer_offset(z, t) : z->types[0];
    if (t < z->trans[0])
        return z->types[0];
    if (t >= z->trans[z->n_trans - 1] && z->footer)
        return footer_offset(z, t);
    size_t lo = 0, hi = z->n_trans; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->types[z->idx[lo]];
}

void sched_tz_local(const struct sched_zone *z, int64_t t, struct sched_local *out)
{
    out->offset = sched_tz_offset(z, t);
    int64_t s = t + out->offset;
    int64_t days = floor_div(s, 86400);
    int64_t sec = s - days * 86400;
    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sec / 3600);
    out->minute = (int)(sec / 60 % 60);
    out->second = (int)(sec % 60);
}

/* The first instant whose local time is `wall` (local seconds), or the end of the gap it falls in. */
static int64_t wall_to_instant(const struct sched_zone *z, int64_t wall)
{
    int32_t before = sched_tz_offset(z, wall - 86400), after = sched_tz_offset(z, wall + 86400);
    int64_t u1 = wall - before, u2 = wall - after;
    bool ok1 = sched_tz_offset(z, u1) == before, ok2 = sched_tz_offset(z, u2) == after;
    if (ok1 && ok2)
        return u1 < u2 ? u1 : u2;
    if (ok1 || ok2)
        return ok1 ? u1 : u2;
    if (before == after)
        return u1;
    /* A gap: the clocks jumped over `wall`; find the jump between u2 and u1. */
    int64_t lo = u1 < u2 ? u1 : u2, hi = u1 < u2 ? u2 : u1;
    int32_t off_hi = sched_tz_offset(z, hi);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (sched_tz_offset(z, mid) == off_hi)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

int64_t sched_tz_next_wall(const struct sched_zone *z, int64_t t, int minute_of_day)
{
    struct sched_local l;
    sched_tz_local(z, t, &l);
    int64_t day = days_from_civil(l.year, l.month, l.day);
    for (int k = 0;; k++) {
        int64_t u = wall_to_instant(z, (day + k) * 86400 + (int64_t)minute_of_day * 60);
        if (u >= t)
            return u;
    }
}

/* --- recipients' zones ------------------------------------------------------ */

/*
 * Countries that keep one zone. Multi-zone countries (+1, +7, +52, +55, +61,
 * +62, +56, +351 with the Azores ...) are left out on purpose: for them only
 * the contact's own zone or defaults.timezone can say.
 */
static const struct { const char *code, *zone; } country_zones[] = {
    { "20", "Africa/Cairo" }, { "27", "Africa/Johannesburg" }, { "30", "Europe/Athens" },
    { "31", "Europe/Amsterdam" }, { "32", "Europe/Brussels" }, { "33", "Europe/Paris" },
    { "34", "Europe/Madrid" }, { "36", "Europe/Budapest" }, { "39", "Europe/Rome" },
    { "40", "Europe/Bucharest" }, { "41", "Europe/Zurich" }, { "43", "Europe/Vienna" },
    { "44", "Europe/London" }, { "45", "Europe/Copenhagen" }, { "46", "Europe/Stockholm" },
    { "47", "Europe/Oslo" }, { "48", "Europe/Warsaw" }, { "49", "Europe/Berlin" },
    { "51", "America/Lima" }, { "57", "America/Bogota" }, { "58", "America/Caracas" },
    { "60", "Asia/Kuala_Lumpur" }, { "63", "Asia/Manila" }, { "64", "Pacific/Auckland" },
    { "65", "Asia/Singapore" }, { "66", "Asia/Bangkok" }, { "81", "Asia/Tokyo" },
    { "82", "Asia/Seoul" }, { "84", "Asia/Ho_Chi_Minh" }, { "86", "Asia/Shanghai" },
    { "90", "Europe/Istanbul" }, { "91", "Asia/Kolkata" }, { "92", "Asia/Karachi" },
    { "94", "Asia/Colombo" }, { "212", "Africa/Casablanca" }, { "234", "Africa/Lagos" },
    { "254", "Africa/Nairobi" }, { "352", "Europe/Luxembourg" }, { "353", "Europe/Dublin" },
    { "354", "Atlantic/Reykjavik" }, { "356", "Europe/Malta" }, { "358", "Europe/Helsinki" },
    { "359", "Europe/Sofia" }, { "370", "Europe/Vilnius" }, { "371", "Europe/Riga" },
    { "372", "Europe/Tallinn" }, { "385", "Europe/Zagreb" }, { "386", "Europe/Ljubljana" },
    { "420", "Europe/Prague" }, { "421", "Europe/Bratislava" }, { "852", "Asia/Hong_Kong" },
    { "880", "Asia/Dhaka" }, { "886", "Asia/Taipei" }, { "966", "Asia/Riyadh" },
    { "971", "Asia/Dubai" }, { "972", "Asia/Jerusalem" }, { "977", "Asia/Kathmandu" },
};

const char *sched_tz_for_number(const char *e164)
{
    if (!e164 || e164[0] != '+')
        return NULL;
    /* E.164 country codes are prefix-free: at most one entry matches. */
    for (size_t i = 0; i < sizeof country_zones / sizeof country_zones[0]; i++) {
        size_t n = strlen(country_zones[i].code);
        if (strncmp(e164 + 1, country_zones[i].code, n) == 0)
            return country_zones[i].zone;
    }
    return NULL;
}

const struct sched_zone *sched_tz_recipient(const char *contact_tz, const char *e164,
                                            const char *fallback)
{
    static int32_t utc_types[1];
    static struct sched_zone utc = { .name = "UTC", .valid = true, .types = utc_types,
                                     .n_types = 1 };
    const struct sched_zone *z = sched_tz_get(contact_tz);
    if (!z)
        z = sched_tz_get(sched_tz_for_number(e164));
    if (!z)
        z = sched_tz_get(fallback);
    if (!z)
        z = sched_tz_get("UTC");
    return z ? z : &utc;
}
