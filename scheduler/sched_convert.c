/*
 * sched_convert: conversions (see sched_enroll.h). The credit goes to the
 * most recent step sent to the recipient whose campaign's attribution_window
 * still covers it: enrollments.last_sent_at says when, current_step - 1
 * which step (the engine advances the enrollment when it enqueues a step),
 * and the message of that step gives the variant and message id.
 *
 * The conversions row, the end of every active enrollment in a campaign
 * that exits on conversion, and their events are one transaction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_enroll.h"
#include "scheduler/sched_event.h"

enum {
    C_RECENT, C_MESSAGE, C_INSERT, C_ACTIVE, C_END, C_EVENT, C_COUNT,
};

static const char *const convert_sql[C_COUNT] = {
    [C_RECENT] = "SELECT id, campaign, current_step, last_sent_at FROM enrollments "
                 "WHERE recipient = ?1 AND last_sent_at IS NOT NULL AND last_sent_at <= ?2 "
                 "ORDER BY last_sent_at DESC, id DESC LIMIT 50",
    [C_MESSAGE] = "SELECT id, variant FROM messages WHERE enrollment_id = ?1 AND step = ?2 "
                  "ORDER BY id DESC LIMIT 1",
    [C_INSERT] = "INSERT INTO conversions (recipient, value, at, source, enrollment_id, campaign, "
                 "step, variant, message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [C_ACTIVE] = "SELECT id, campaign FROM enrollments WHERE recipient = ?1 AND state = 'active' "
                 "ORDER BY id",
    [C_END] = "UPDATE enrollments SET state = 'converted', reason = ?2, ended_at = ?3, "
              "updated_at = ?3 WHERE id = ?1 AND state = 'active'",
    [C_EVENT] = SCHED_EVENT_SQL,
};

struct converter {
    sqlite3 *db;
    const struct conf *conf;
    const struct sched_conversion *c;
    struct sched_convert_result *res;
    sqlite3_stmt *q[C_COUNT];
};

static bool exits_on_conversion(const struct conf_campaign *c)
{
    for (size_t i = 0; c && i < c->exit_on.n; i++)
        if (strcmp(c->exit_on.items[i], "conversion") == 0)
            return true;
    return false;
}

static bool credit_message(struct converter *cv)
{
    struct sched_convert_result *res = cv->res;
    sqlite3_stmt *s = cv->q[C_MESSAGE];
    sqlite3_bind_int64(s, 1, res->enrollment_id);
    sqlite3_bind_int(s, 2, res->step);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        res->message_id = sqlite3_column_int64(s, 0);
        const char *v = (const char *)sqlite3_column_text(s, 1);
        snprintf(res->variant, sizeof res->variant, "%s", v ? v : "");
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Finds the step to credit, if any. */
static bool attribute(struct converter *cv)
{
    struct sched_convert_result *res = cv->res;
    sqlite3_stmt *s = cv->q[C_RECENT];
    sqlite3_bind_text(s, 1, cv->c->msisdn, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, cv->c->now);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 1);
        const struct conf_campaign *camp = sched_campaign_find(cv->conf, name);
        int64_t sent = sqlite3_column_int64(s, 3);
        if (!camp || cv->c->now - sent > camp->attribution_window)
            continue;
        res->credited = true;
        res->enrollment_id = sqlite3_column_int64(s, 0);
        res->step = sqlite3_column_int(s, 2) - 1;
        snprintf(res->campaign, sizeof res->campaign, "%s", name);
        break;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return false;
    if (res->step < 0)
        res->step = 0;
    return !res->credited || credit_message(cv);
}

static void bind_opt_text(sqlite3_stmt *s, int i, bool set, const char *v)
{
    if (set && v[0])
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static bool record(struct converter *cv)
{
    const struct sched_conversion *c = cv->c;
    struct sched_convert_result *res = cv->res;
    sqlite3_stmt *s = cv->q[C_INSERT];
    sqlite3_bind_text(s, 1, c->msisdn, -1, SQLITE_STATIC);
    if (c->has_value)
        sqlite3_bind_double(s, 2, c->value);
    sqlite3_bind_int64(s, 3, c->now);
    sqlite3_bind_text(s, 4, c->source ? c->source : "cli", -1, SQLITE_STATIC);
    if (res->credited) {
        sqlite3_bind_int64(s, 5, res->enrollment_id);
        sqlite3_bind_int(s, 7, res->step);
        if (res->message_id)
            sqlite3_bind_int64(s, 9, res->message_id);
    }
    bind_opt_text(s, 6, res->credited, res->campaign);
    bind_opt_text(s, 8, res->credited, res->variant);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    res->id = sqlite3_last_insert_rowid(cv->db);
    return ok;
}

static bool event(struct converter *cv, const char *entity, int64_t id, const char *action,
                  const char *detail)
{
    return sched_event(cv->q[C_EVENT], cv->c->now, cv->c->source ? cv->c->source : "cli", entity,
                       id, action, detail);
}

struct to_end {
    int64_t id;
    char campaign[64];
};

/* Reads the active enrollments to end (all of them, before changing the table it reads). */
static bool collect_active(struct converter *cv, struct to_end **out, size_t *n)
{
    sqlite3_stmt *s = cv->q[C_ACTIVE];
    size_t cap = 0;
    int rc;
    sqlite3_bind_text(s, 1, cv->c->msisdn, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 1);
        if (!exits_on_conversion(sched_campaign_find(cv->conf, name)))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct to_end *grown = realloc(*out, cap * sizeof *grown);
            if (!grown)
                abort();
            *out = grown;
        }
        (*out)[*n].id = sqlite3_column_int64(s, 0);
        snprintf((*out)[*n].campaign, sizeof (*out)[*n].campaign, "%s", name);
        (*n)++;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
}

/* Ends them; the result lists the first SCHED_CONVERT_MAX_ENDED and counts all. */
static bool end_enrollments(struct converter *cv)
{
    struct sched_convert_result *res = cv->res;
    struct to_end *list = NULL;
    size_t n = 0;
    char reason[64];
    bool ok = collect_active(cv, &list, &n);
    snprintf(reason, sizeof reason, "conversion %lld", (long long)res->id);
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_stmt *s = cv->q[C_END];
        sqlite3_bind_int64(s, 1, list[i].id);
        sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, cv->c->now);
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
        ok = ok && event(cv, "enrollment", list[i].id, "converted", reason);
        if (i < SCHED_CONVERT_MAX_ENDED) {
            res->ended[i].id = list[i].id;
            snprintf(res->ended[i].campaign, sizeof res->ended[i].campaign, "%s",
                     list[i].campaign);
        }
    }
    res->n_ended = n;
    free(list);
    return ok;
}

static bool convert(struct converter *cv)
{
    char detail[160];
    struct sched_convert_result *res = cv->res;
    if (!attribute(cv) || !record(cv) || !end_enrollments(cv))
        return false;
    if (res->credited)
        snprintf(detail, sizeof detail, "%s step %d%s%s", res->campaign, res->step,
                 res->variant[0] ? " variant " : "", res->variant);
    else
        snprintf(detail, sizeof detail, "not credited to a step");
    return event(cv, "conversion", res->id, "recorded", detail);
}

bool sched_convert(struct store *st, const struct conf *conf, const struct sched_conversion *c,
                   struct sched_convert_result *res, char *err, size_t err_size)
{
    struct converter cv = { .db = store_handle(st), .conf = conf, .c = c, .res = res };
    memset(res, 0, sizeof *res);
    bool ok = true;
    for (int i = 0; ok && i < C_COUNT; i++)
        ok = sqlite3_prepare_v2(cv.db, convert_sql[i], -1, &cv.q[i], NULL) == SQLITE_OK;
    bool began = ok && sqlite3_exec(cv.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    ok = began && convert(&cv);
    if (!ok)
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(cv.db));
    if (ok && sqlite3_exec(cv.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(cv.db));
        ok = false;
    }
    if (!ok && began)
        sqlite3_exec(cv.db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < C_COUNT; i++)
        sqlite3_finalize(cv.q[i]);
    return ok;
}

json_t *sched_convert_json(const char *msisdn, const struct sched_conversion *c,
                           const struct sched_convert_result *res)
{
    json_t *ended = json_array();
    for (size_t i = 0; i < res->n_ended && i < SCHED_CONVERT_MAX_ENDED; i++)
        json_array_append_new(ended, json_pack("{s:I, s:s}", "id", (json_int_t)res->ended[i].id,
                                               "campaign", res->ended[i].campaign));
    json_t *credit = json_null();
    if (res->credited) {
        json_decref(credit);
        credit = json_pack("{s:s, s:i, s:s?, s:I, s:o}", "campaign", res->campaign, "step",
                           res->step, "variant", res->variant[0] ? res->variant : NULL,
                           "enrollment_id", (json_int_t)res->enrollment_id, "message_id",
                           res->message_id ? json_integer(res->message_id) : json_null());
    }
    return json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)res->id, "msisdn", msisdn,
                     "value", c->has_value ? json_real(c->value) : json_null(), "credited",
                     credit, "ended", ended);
}
