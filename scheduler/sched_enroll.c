/*
 * sched_enroll: see sched_enroll.h. The enroller holds its statements for a
 * whole batch (a CSV of a million rows is one prepare per statement, and one
 * fsync per thousand enrollments); a single enrollment is a batch of one.
 *
 * Every check reads inside the write transaction (BEGIN IMMEDIATE), so what
 * was checked is still true at the insert. The unique index on active
 * enrollments is the last word all the same: a constraint error at the
 * insert is reported as "already enrolled", as the check would have.
 */
#include "scheduler/sched_enroll.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/store.h"
#include "scheduler/sched_contacts.h"
#include "scheduler/sched_event.h"
#include "scheduler/sched_render.h"

enum {
    Q_OPTOUT, Q_ACTIVE, Q_LAST_END, Q_CONTACT_ADD, Q_INSERT, Q_EVENT, Q_COUNT,
};

static const char *const enroll_sql[Q_COUNT] = {
    [Q_OPTOUT] = "SELECT keyword, received_at FROM optouts WHERE recipient = ?1",
    [Q_ACTIVE] = "SELECT id, created_at FROM enrollments WHERE recipient = ?1 AND campaign = ?2 "
                 "AND state = 'active'",
    [Q_LAST_END] = "SELECT max(coalesce(ended_at, updated_at)) FROM enrollments "
                   "WHERE recipient = ?1 AND campaign = ?2 AND state <> 'active'",
    [Q_CONTACT_ADD] = "INSERT OR IGNORE INTO contacts (recipient, attributes, created_at, "
                      "updated_at) VALUES (?1, '{}', ?2, ?2)",
    [Q_INSERT] = "INSERT INTO enrollments (recipient, campaign, current_step, next_due_at, state, "
                 "created_at, updated_at, vars, source) VALUES (?1, ?2, 0, ?3, 'active', ?4, ?4, "
                 "?5, ?6)",
    [Q_EVENT] = SCHED_EVENT_SQL,
};

struct sched_enroller {
    sqlite3 *db;
    const struct conf *conf;
    sqlite3_stmt *q[Q_COUNT];
    struct sched_contact_reader *contacts;
    bool in_tx;
};

const struct conf_campaign *sched_campaign_find(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_campaigns; i++)
        if (strcmp(conf->campaigns[i].name, name) == 0)
            return &conf->campaigns[i];
    return NULL;
}

static sqlite3_stmt *prepared(sqlite3 *db, sqlite3_stmt **q, const char *const *sql, size_t n,
                              char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            snprintf(err, err_size, "database: %s", sqlite3_errmsg(db));
            return NULL;
        }
    return q[0];
}

struct sched_enroller *sched_enroller_new(struct store *st, const struct conf *conf,
                                          char *err, size_t err_size)
{
    struct sched_enroller *en = calloc(1, sizeof *en);
    if (!en)
        abort();
    en->db = store_handle(st);
    en->conf = conf;
    en->contacts = sched_contact_reader_new(st, err, err_size);
    if (!en->contacts || !prepared(en->db, en->q, enroll_sql, Q_COUNT, err, err_size)) {
        sched_enroller_free(en);
        return NULL;
    }
    return en;
}

void sched_enroller_free(struct sched_enroller *en)
{
    if (!en)
        return;
    if (en->in_tx)
        sqlite3_exec(en->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(en->q[i]);
    sched_contact_reader_free(en->contacts);
    free(en);
}

bool sched_enroller_commit(struct sched_enroller *en, char *err, size_t err_size)
{
    if (!en->in_tx)
        return true;
    en->in_tx = false;
    if (sqlite3_exec(en->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return true;
    snprintf(err, err_size, "database: %s", sqlite3_errmsg(en->db));
    sqlite3_exec(en->db, "ROLLBACK", NULL, NULL, NULL);
    return false;
}

/* --- checks ------------------------------------------------------------------ */

static enum sched_enroll_rc refuse(struct sched_enroll_result *res, enum sched_enroll_rc rc,
                                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum sched_enroll_rc refuse(struct sched_enroll_result *res, enum sched_enroll_rc rc,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
    return res->rc = rc;
}

static enum sched_enroll_rc db_error(struct sched_enroller *en, struct sched_enroll_result *res)
{
    refuse(res, SCHED_DB_ERROR, "database: %s", sqlite3_errmsg(en->db));
    if (en->in_tx)
        sqlite3_exec(en->db, "ROLLBACK", NULL, NULL, NULL);
    en->in_tx = false;
    return SCHED_DB_ERROR;
}

static bool vars_ok(const json_t *vars, struct sched_enroll_result *res)
{
    const char *key;
    const json_t *v;
    if (!vars)
        return true;
    if (!json_is_object(vars))
        return refuse(res, SCHED_BAD_VARS, "vars must be an object of strings and numbers"), false;
    json_object_foreach((json_t *)(uintptr_t)vars, key, v)
        if (!json_is_string(v) && !json_is_number(v))
            return refuse(res, SCHED_BAD_VARS, "vars.%s must be a string or a number", key),
                   false;
    return true;
}

/* Steps a one-row query: 1 with a row (left unreset for reading), 0 none, -1 error. */
static int row(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_pair(sqlite3_stmt *s, const struct sched_enrollment *e)
{
    sqlite3_bind_text(s, 1, e->msisdn, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_text(s, 2, e->campaign, -1, SQLITE_STATIC);
}

static int check_optout(struct sched_enroller *en, const struct sched_enrollment *e,
                        struct sched_enroll_result *res)
{
    sqlite3_stmt *s = en->q[Q_OPTOUT];
    char at[40];
    bind_pair(s, e);
    int r = row(s);
    if (r <= 0)
        return r;
    refuse(res, SCHED_OPTED_OUT, "%s opted out on %s (%s); they must opt in again (START) "
           "before any campaign", e->msisdn, clock_iso8601(sqlite3_column_int64(s, 1), at,
           sizeof at), (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return 1;
}

static bool check_consent(const struct conf_campaign *c, const struct sched_enrollment *e,
                          const struct sched_contact *ct, struct sched_enroll_result *res)
{
    if (!c->consent_required || strcmp(ct->consent, "yes") == 0)
        return true;
    if (!ct->found)
        refuse(res, SCHED_NO_CONSENT, "%s is not a contact: campaign %s needs recorded consent "
               "(import the contact with consent first)", e->msisdn, c->name);
    else if (ct->consent[0])
        refuse(res, SCHED_NO_CONSENT, "%s has not consented (consent: %s) and campaign %s "
               "requires consent", e->msisdn, ct->consent, c->name);
    else
        refuse(res, SCHED_NO_CONSENT, "no consent is recorded for %s and campaign %s requires "
               "it", e->msisdn, c->name);
    return false;
}

static int check_active(struct sched_enroller *en, const struct sched_enrollment *e,
                        struct sched_enroll_result *res)
{
    sqlite3_stmt *s = en->q[Q_ACTIVE];
    char at[40];
    bind_pair(s, e);
    int r = row(s);
    if (r <= 0)
        return r;
    res->id = sqlite3_column_int64(s, 0);
    refuse(res, SCHED_ALREADY_ENROLLED, "%s is already enrolled in %s (enrollment %lld, since "
           "%s)", e->msisdn, e->campaign, (long long)res->id,
           clock_iso8601(sqlite3_column_int64(s, 1), at, sizeof at));
    sqlite3_reset(s);
    return 1;
}

static int check_reenroll(struct sched_enroller *en, const struct conf_campaign *c,
                          const struct sched_enrollment *e, struct sched_enroll_result *res)
{
    sqlite3_stmt *s = en->q[Q_LAST_END];
    char ended[40], from[40];
    bind_pair(s, e);
    int r = row(s);
    if (r <= 0)
        return r;
    bool none = sqlite3_column_type(s, 0) == SQLITE_NULL;
    int64_t end = sqlite3_column_int64(s, 0), allowed = end + c->reenroll_after;
    sqlite3_reset(s);
    if (none || allowed <= e->now)
        return 0;
    refuse(res, SCHED_TOO_SOON, "%s left %s on %s; it may be enrolled again from %s "
           "(reenroll_after)", e->msisdn, c->name, clock_iso8601(end, ended, sizeof ended),
           clock_iso8601(allowed, from, sizeof from));
    return 1;
}

/* Every step's template (each variant) renders with these fields. */
static bool check_templates(const struct conf_campaign *c, const json_t *fields,
                            struct sched_enroll_result *res)
{
    char why[400];
    for (size_t s = 0; s < c->n_steps; s++) {
        const struct conf_step *step = &c->steps[s];
        size_t n = step->n_variants ? step->n_variants : 1;
        for (size_t v = 0; v < n; v++) {
            const char *tmpl = step->n_variants ? step->variants[v].text : step->text;
            char *text = sched_render(tmpl, fields, why, sizeof why);
            free(text);
            if (text)
                continue;
            if (step->n_variants)
                refuse(res, SCHED_MISSING_FIELD, "step %zu of %zu, variant %s: %s", s + 1,
                       c->n_steps, step->variants[v].name, why);
            else
                refuse(res, SCHED_MISSING_FIELD, "step %zu of %zu: %s", s + 1, c->n_steps, why);
            return false;
        }
    }
    return true;
}

/* Contact fields with vars over them (vars win). */
static void merge_vars(json_t *fields, const json_t *vars)
{
    if (vars)
        json_object_update(fields, (json_t *)(uintptr_t)vars);
}

/* --- insert ------------------------------------------------------------------ */

static bool event(struct sched_enroller *en, int64_t now, const char *actor, const char *entity,
                  int64_t id, const char *action, const char *detail)
{
    return sched_event(en->q[Q_EVENT], now, actor, entity, id, action, detail);
}

static bool exec_done(sqlite3_stmt *s)
{
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

static enum sched_enroll_rc insert(struct sched_enroller *en, const struct conf_campaign *c,
                                   const struct sched_enrollment *e, bool contact_found,
                                   struct sched_enroll_result *res)
{
    sqlite3_stmt *add = en->q[Q_CONTACT_ADD], *ins = en->q[Q_INSERT];
    if (!contact_found) {
        sqlite3_bind_text(add, 1, e->msisdn, -1, SQLITE_STATIC);
        sqlite3_bind_int64(add, 2, e->now);
        if (!exec_done(add))
            return db_error(en, res);
    }
    char *vars = e->vars ? json_dumps(e->vars, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    res->next_due_at = e->now + c->steps[0].after;
    bind_pair(ins, e);
    sqlite3_bind_int64(ins, 3, res->next_due_at);
    sqlite3_bind_int64(ins, 4, e->now);
    sqlite3_bind_text(ins, 5, vars ? vars : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 6, e->source ? e->source : "cli", -1, SQLITE_STATIC);
    free(vars);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc == SQLITE_CONSTRAINT) /* the one-active index: someone enrolled them first */
        return check_active(en, e, res) > 0 ? res->rc :
               refuse(res, SCHED_ALREADY_ENROLLED, "%s is already enrolled in %s", e->msisdn,
                      e->campaign);
    if (rc != SQLITE_DONE)
        return db_error(en, res);
    res->id = sqlite3_last_insert_rowid(en->db);
    if (!event(en, e->now, e->source ? e->source : "cli", "enrollment", res->id, "enrolled",
               e->campaign))
        return db_error(en, res);
    return res->rc = SCHED_ENROLLED;
}

/* The checks that read the database, in the order a person would want to hear them. */
static enum sched_enroll_rc check_and_insert(struct sched_enroller *en,
                                             const struct conf_campaign *c,
                                             const struct sched_enrollment *e,
                                             struct sched_enroll_result *res)
{
    struct sched_contact ct;
    char err[300];
    int r;
    if ((r = check_optout(en, e, res)) != 0)
        return r < 0 ? db_error(en, res) : res->rc;
    if (!sched_contact_read(en->contacts, e->msisdn, &ct, err, sizeof err)) {
        sched_contact_clear(&ct);
        return db_error(en, res);
    }
    enum sched_enroll_rc rc = SCHED_ENROLLED;
    if (!check_consent(c, e, &ct, res))
        rc = res->rc;
    else if ((r = check_active(en, e, res)) != 0 || (r = check_reenroll(en, c, e, res)) != 0)
        rc = r < 0 ? db_error(en, res) : res->rc;
    else {
        merge_vars(ct.fields, e->vars);
        rc = check_templates(c, ct.fields, res) ? insert(en, c, e, ct.found, res) : res->rc;
    }
    sched_contact_clear(&ct);
    return rc;
}

enum sched_enroll_rc sched_enroller_add(struct sched_enroller *en, const struct sched_enrollment *e,
                                        struct sched_enroll_result *res)
{
    memset(res, 0, sizeof *res);
    const struct conf_campaign *c = sched_campaign_find(en->conf, e->campaign);
    if (!c)
        return refuse(res, SCHED_UNKNOWN_CAMPAIGN, "no campaign is named '%s'", e->campaign);
    if (!vars_ok(e->vars, res))
        return res->rc;
    if (!en->in_tx) {
        if (sqlite3_exec(en->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return db_error(en, res);
        en->in_tx = true;
    }
    return check_and_insert(en, c, e, res);
}

enum sched_enroll_rc sched_enroll(struct store *st, const struct conf *conf,
                                  const struct sched_enrollment *e, struct sched_enroll_result *res)
{
    char err[300];
    struct sched_enroller *en = sched_enroller_new(st, conf, err, sizeof err);
    if (!en) {
        memset(res, 0, sizeof *res);
        return refuse(res, SCHED_DB_ERROR, "%s", err);
    }
    enum sched_enroll_rc rc = sched_enroller_add(en, e, res);
    if (rc == SCHED_ENROLLED && !sched_enroller_commit(en, err, sizeof err))
        rc = refuse(res, SCHED_DB_ERROR, "%s", err);
    sched_enroller_free(en);
    return rc;
}

json_t *sched_fields(struct store *st, const char *msisdn, const json_t *vars, bool *found,
                     char *err, size_t err_size)
{
    struct sched_contact ct;
    if (!sched_contact_get(st, msisdn, &ct, err, err_size)) {
        sched_contact_clear(&ct);
        return NULL;
    }
    *found = ct.found;
    merge_vars(ct.fields, vars);
    return ct.fields;
}
