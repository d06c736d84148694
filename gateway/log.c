/*
 * log: OpenSMTPD-style levels over stderr and syslog. Lines carry an ISO 8601
 * UTC stamp and the level on stderr; syslog adds its own stamp. The HTTP
 * thread logs too: each line is one fprintf (stdio locks the stream), and
 * the settings a reload changes on the main thread are atomics.
 */
#include "gateway/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static _Atomic int current_level = LOG_LEVEL_INFO;
static atomic_bool to_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
    current_level = level;
    if (use_syslog && !to_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    else if (!use_syslog && to_syslog)
        closelog();
    to_syslog = use_syslog;
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

bool log_level_parse(const char *name, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

static void log_vemit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
    if ((int)level > atomic_load(&current_level))
        return;
    char msg[2048];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n >= 0 && errnum != 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, " error=\"%s\"", strerror(errnum));

    if (to_syslog)
        syslog(syslog_prio[level], "%s", msg);
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s %s\n", stamp, level_names[level], msg);
}

#define LOG_FN(name, level, errnum_expr)          \
    void name(const char *fmt, ...)               \
    {                                             \
        int saved = errno;                        \
        va_list ap;                               \
        va_start(ap, fmt);                        \
        log_vemit(level, errnum_expr, fmt, ap);   \
        va_end(ap);                               \
        errno = saved;                            \
    }

LOG_FN(log_error, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, saved)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
    va_end(ap);
    exit(1);
}

const char *log_msisdn(const char *msisdn, char *buf, unsigned size)
{
    size_t len = msisdn ? strlen(msisdn) : 0;
    if (len < 7) {
        snprintf(buf, size, "***");
        return buf;
    }
    int keep = len - 5 < 6 ? (int)(len - 5) : 6; /* "+35387***67": country and operator only */
    snprintf(buf, size, "%.*s***%s", keep, msisdn, msisdn + len - 2);
    return buf;
}
