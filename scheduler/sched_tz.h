/*
 * sched_tz: local time in IANA zones, for quiet hours in the recipient's zone.
 *
 * Zones are read from the TZif files under /usr/share/zoneinfo (RFC 8536: the
 * 64-bit v2+ data, and the footer's POSIX TZ string for instants after the
 * last transition), parsed once and cached for the life of the process.
 * Looking up an offset is a binary search: thousands of recipients in many
 * zones per tick cost microseconds, where switching glibc's TZ and calling
 * tzset() re-reads a file on every change of zone.
 */
#ifndef HOMING_SCHED_TZ_H
#define HOMING_SCHED_TZ_H

#include <stdbool.h>
#include <stdint.h>

struct sched_zone;

/*
 * The zone named `name` ("Europe/Dublin", "UTC"), parsed on first use and
 * cached; NULL if there is no such zone or its file is not valid TZif. The
 * zone lives until sched_tz_cache_free().
 */
const struct sched_zone *sched_tz_get(const char *name);
/* Frees every cached zone (at exit, so leak checkers stay quiet). */
void sched_tz_cache_free(void);
const char *sched_tz_name(const struct sched_zone *z);

/* Seconds east of UTC in force at Unix time t. */
int32_t sched_tz_offset(const struct sched_zone *z, int64_t t);

struct sched_local {
    int year, month, day;        /* month 1..12, day 1..31 */
    int hour, minute, second;
    int32_t offset;              /* seconds east of UTC */
};
/* The local date and time at Unix time t. */
void sched_tz_local(const struct sched_zone *z, int64_t t, struct sched_local *out);

/*
 * The first instant >= t at which the local wall clock reads `minute_of_day`
 * (0..1439) for the first time that day. On a day that time does not exist
 * (the clocks jump over it) the answer is the first instant after the jump;
 * on a day it happens twice (the clocks go back) only the first counts.
 */
int64_t sched_tz_next_wall(const struct sched_zone *z, int64_t t, int minute_of_day);

/*
 * The zone of a country that has one, from an E.164 number ("+353..." ->
 * "Europe/Dublin"); NULL for countries spread over several zones (+1, +7,
 * +55, +61 ...) and unknown codes.
 */
const char *sched_tz_for_number(const char *e164);

/*
 * The recipient's zone: the contact's own (if set and known), else their
 * country's single zone, else `fallback` (defaults.timezone), else UTC.
 */
const struct sched_zone *sched_tz_recipient(const char *contact_tz, const char *e164,
                                            const char *fallback);

#endif
