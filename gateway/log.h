/*
 * log: one line per event, key=value fields, to stderr and optionally syslog.
 *
 *   log_info("store opened path=%s schema=%d", path, v);
 *
 * Every line names its entity (modem=m1, bind=carrier, msg=1234). Message
 * bodies and full phone numbers are personal data: never above debug level.
 * log_warn() appends strerror(errno); log_warnx() does not. fatal() is for
 * start-up failures and broken invariants only: it logs and exits 1.
 */
#ifndef HOMING_LOG_H
#define HOMING_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Where lines go. `ident` names the program in syslog; the pointer is kept. */
void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns false on anything else. */
bool log_level_parse(const char *name, enum log_level *out);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Shortens a phone number for logs: "+35387***67". Writes into buf. */
const char *log_msisdn(const char *msisdn, char *buf, unsigned size);

#endif
