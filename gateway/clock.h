/*
 * clock: the service's idea of now. Everything that stamps or schedules asks
 * clock_now(), never time(), so that `homing run --time-scale N` (demos and
 * tests) can run a 30-day sequence in minutes: virtual time advances N times
 * faster than the wall clock from a chosen start.
 */
#ifndef HOMING_CLOCK_H
#define HOMING_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unix seconds on the service clock. */
int64_t clock_now(void);
/* The same in milliseconds, for rates and timeouts. */
int64_t clock_now_ms(void);

/* Runs the clock `scale` times faster than real time, starting at `start` (Unix seconds). */
void clock_set_scale(double scale, int64_t start);
/* Monotonic milliseconds: for hardware timeouts and rates, which never scale. */
int64_t clock_mono_ms(void);
/* Wall-clock milliseconds, whatever the scale. */
int64_t clock_wall_ms(void);
/*
 * Follows a clock published by the service: virtual_ms was its reading at
 * wall time wall_ms, running `scale` times real time.
 */
void clock_follow(int64_t virtual_ms, double scale, int64_t wall_ms);
/* Back to the wall clock. */
void clock_reset(void);
double clock_scale(void);

/* Formats Unix seconds as ISO 8601 with the local offset: 2026-11-22T09:15:00+01:00. */
const char *clock_iso8601(int64_t t, char *buf, size_t size);
/* Parses ISO 8601 "YYYY-MM-DDTHH:MM[:SS]" with Z or +HH:MM (or none: local time). */
bool clock_parse_iso8601(const char *text, int64_t *t);

#endif
