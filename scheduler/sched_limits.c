/*
 * sched_limits: see sched_limits.h. The cap counts messages by their
 * created_at through the messages_recipient index (recipient, created_at),
 * so its cost follows what one recipient was sent lately, never the table.
 */
#include "scheduler/sched_limits.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/store.h"

int64_t sched_quiet_until(const struct sched_zone *z, int start, int end, int64_t t)
{
    if (start == end)
        return 0;
    struct sched_local l;
    sched_tz_local(z, t, &l);
    int s = l.hour * 3600 + l.minute * 60 + l.second;
    bool quiet = start < end ? s >= start * 60 && s < end * 60
                             : s >= start * 60 || s < end * 60;
    return quiet ? sched_tz_next_wall(z, t, end) : 0;
}

struct sched_cap {
    sqlite3_stmt *recent;
};

/* Newest first: the messages-th newest is the one that must leave the window. */
static const char cap_sql[] =
    "SELECT created_at FROM messages WHERE recipient = ?1 AND created_at > ?2 "
    "AND campaign IS NOT NULL AND state NOT IN ('suppressed', 'failed', 'expired') "
    "ORDER BY created_at DESC LIMIT ?3";

struct sched_cap *sched_cap_new(struct sqlite3 *db)
{
    struct sched_cap *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    if (sqlite3_prepare_v2(db, cap_sql, -1, &c->recent, NULL) != SQLITE_OK) {
        free(c);
        return NULL;
    }
    return c;
}

void sched_cap_free(struct sched_cap *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->recent);
    free(c);
}

int64_t sched_cap_until(struct sched_cap *c, const char *recipient, int64_t messages,
                        int64_t per, int64_t now)
{
    if (messages <= 0 || per <= 0)
        return 0;
    sqlite3_stmt *s = c->recent;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now - per);
    sqlite3_bind_int64(s, 3, messages);
    int64_t n = 0, until = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (++n == messages)
            until = sqlite3_column_int64(s, 0) + per;
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? until : -1;
}

static const struct conf_campaign *campaign_named(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_campaigns; i++)
        if (strcmp(conf->campaigns[i].name, name) == 0)
            return &conf->campaigns[i];
    return NULL;
}

/* The contact's own zone name, copied into buf ("" if none or unknown contact). */
static void contact_zone(struct store *st, const char *recipient, char *buf, size_t size)
{
    sqlite3_stmt *s;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(store_handle(st), "SELECT timezone FROM contacts WHERE recipient = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n < size) {
            memcpy(buf, sqlite3_column_text(s, 0), n);
            buf[n] = '\0';
        }
    }
    sqlite3_finalize(s);
}

int64_t sched_dispatch_quiet_until(struct store *st, const struct conf *conf,
                                   const char *recipient, const char *campaign, int64_t now)
{
    const struct conf_campaign *c = campaign ? campaign_named(conf, campaign) : NULL;
    int start = (int)(c ? c->quiet_hours.start : conf->quiet_hours.start);
    int end = (int)(c ? c->quiet_hours.end : conf->quiet_hours.end);
    if (start == end)
        return 0;
    char tz[128];
    contact_zone(st, recipient, tz, sizeof tz);
    const struct sched_zone *z = sched_tz_recipient(tz, recipient, conf->defaults.timezone);
    return sched_quiet_until(z, start, end, now);
}

bool sched_dispatch_enrollment_ended(struct store *st, int64_t msg_id, char *why, size_t size)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store_handle(st),
                           "SELECT e.id, e.state, coalesce(e.reason, '') FROM messages m "
                           "JOIN enrollments e ON e.id = m.enrollment_id WHERE m.id = ?1 "
                           "AND e.state IN ('replied', 'converted', 'opted_out', 'exited')",
                           -1, &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(s, 1, msg_id);
    bool ended = sqlite3_step(s) == SQLITE_ROW;
    if (ended)
        snprintf(why, size, "enrollment %lld ended (%s%s%s) before this step could go",
                 (long long)sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                 *sqlite3_column_text(s, 2) ? ": " : "", (const char *)sqlite3_column_text(s, 2));
    sqlite3_finalize(s);
    return ended;
}
