/*
 * sched_engine: see sched_engine.h.
 *
 * Throughput comes from batching: a transaction reads up to BATCH due rows
 * (joined with their contact and opt-out, so there is no query per row for
 * them; a LEFT JOIN, so an enrollment whose contact row is gone still ends
 * instead of staying due for ever), handles them one by one with statements prepared once, and commits
 * once. The batch is read into memory before anything is written, because
 * updating enrollments_due while a scan walks it could show a row twice.
 *
 * A step's message and the enrollment's advance are written by the same
 * transaction; the idempotency key "enrollment:<id>:step:<n>" is a second
 * guard (INSERT ... ON CONFLICT DO NOTHING), so even a step handled twice by
 * some future path yields one message.
 */
#include "scheduler/sched_engine.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/codec.h"
#include "gateway/log.h"
#include "scheduler/sched_limits.h"
#include "scheduler/sched_render.h"
#include "scheduler/sched_tz.h"

#define BATCH 2000

enum {
    Q_DUE, Q_ANY_DUE, Q_NEXT_DUE, Q_INSERT_MSG, Q_ADVANCE, Q_DEFER, Q_END, Q_EVENT, Q_COUNT
};

static const char *const engine_sql[Q_COUNT] = {
    [Q_DUE] = "SELECT e.id, e.recipient, e.campaign, e.current_step, e.created_at, e.vars, "
              "c.name, c.timezone, c.consent, c.attributes, o.keyword "
              "FROM enrollments e LEFT JOIN contacts c ON c.recipient = e.recipient "
              "LEFT JOIN optouts o ON o.recipient = e.recipient "
              "WHERE e.state = 'active' AND e.next_due_at <= ?1 "
              "ORDER BY e.next_due_at LIMIT ?2",
    [Q_ANY_DUE] = "SELECT 1 FROM enrollments WHERE state = 'active' AND next_due_at <= ?1 LIMIT 1",
    [Q_NEXT_DUE] = "SELECT min(next_due_at) FROM enrollments WHERE state = 'active'",
    [Q_INSERT_MSG] =
        "INSERT INTO messages (recipient, sender, body, encoding, segments, route_forced, state, "
        "next_attempt_at, expires_at, idempotency_key, source, created_at, updated_at, campaign, "
        "step, enrollment_id, variant) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, "
        "'campaign', ?7, ?7, ?10, ?11, ?12, ?13) ON CONFLICT (idempotency_key) DO NOTHING",
    [Q_ADVANCE] = "UPDATE enrollments SET current_step = ?2, next_due_at = ?3, state = ?4, "
                  "ended_at = ?5, last_sent_at = ?6, updated_at = ?6 WHERE id = ?1",
    [Q_DEFER] = "UPDATE enrollments SET next_due_at = ?2, updated_at = ?3 WHERE id = ?1",
    [Q_END] = "UPDATE enrollments SET state = ?2, reason = ?3, ended_at = ?4, next_due_at = NULL, "
              "updated_at = ?4 WHERE id = ?1",
    [Q_EVENT] = "INSERT INTO events (at, actor, entity, entity_id, action, detail) "
                "VALUES (?1, 'scheduler', 'enrollment', ?2, ?3, ?4)",
};

struct sched_engine {
    struct store *store;
    sqlite3 *db;
    const struct conf *conf;
    sqlite3_stmt *q[Q_COUNT];
    struct sched_cap *cap;
    struct codec_message cm;     /* about 40 KB: kept here, off the stack */
};

/* One due enrollment with its contact, read before anything is written. */
struct due {
    int64_t id, created_at;
    int step;
    char *recipient, *campaign, *vars, *name, *timezone, *consent, *attributes, *optout;
};

/* --- life cycle ----------------------------------------------------------- */

struct sched_engine *sched_engine_new(struct store *st, const struct conf *conf,
                                      char *err, size_t err_size)
{
    struct sched_engine *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->store = st;
    e->db = store_handle(st);
    e->conf = conf;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v2(e->db, engine_sql[i], -1, &e->q[i], NULL) != SQLITE_OK) {
            snprintf(err, err_size, "scheduler: cannot prepare a statement: %s",
                     sqlite3_errmsg(e->db));
            sched_engine_free(e);
            return NULL;
        }
    }
    e->cap = sched_cap_new(e->db);
    if (!e->cap) {
        snprintf(err, err_size, "scheduler: cannot prepare the cap: %s", sqlite3_errmsg(e->db));
        sched_engine_free(e);
        return NULL;
    }
    return e;
}

void sched_engine_set_conf(struct sched_engine *e, const struct conf *conf)
{
    e->conf = conf;
}

void sched_engine_free(struct sched_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(e->q[i]);
    sched_cap_free(e->cap);
    free(e);
}

static sqlite3_stmt *stmt(struct sched_engine *e, int id)
{
    sqlite3_reset(e->q[id]);
    sqlite3_clear_bindings(e->q[id]);
    return e->q[id];
}

static bool exec(struct sched_engine *e, const char *sql)
{
    return sqlite3_exec(e->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static enum store_rc db_fail(struct sched_engine *e, const char *what, char *err, size_t size)
{
    snprintf(err, size, "scheduler: %s: %s", what, sqlite3_errmsg(e->db));
    return STORE_ERROR;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d = t ? strdup((const char *)t) : NULL;
    if (t && !d)
        abort();
    return d;
}

/* --- reading the batch ------------------------------------------------------ */

static void due_clear(struct due *d)
{
    free(d->recipient);
    free(d->campaign);
    free(d->vars);
    free(d->name);
    free(d->timezone);
    free(d->consent);
    free(d->attributes);
    free(d->optout);
}

/* Reads up to `max` due rows into rows[] (*n of them, even on failure); false: the database failed. */
static bool read_due(struct sched_engine *e, int64_t now, struct due *rows, int max, int *n)
{
    sqlite3_stmt *s = stmt(e, Q_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, max);
    int rc = SQLITE_DONE;
    *n = 0;
    while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct due *d = &rows[(*n)++];
        d->id = sqlite3_column_int64(s, 0);
        d->recipient = col_dup(s, 1);
        d->campaign = col_dup(s, 2);
        d->step = sqlite3_column_int(s, 3);
        d->created_at = sqlite3_column_int64(s, 4);
        d->vars = col_dup(s, 5);
        d->name = col_dup(s, 6);
        d->timezone = col_dup(s, 7);
        d->consent = col_dup(s, 8);
        d->attributes = col_dup(s, 9);
        d->optout = col_dup(s, 10);
    }
    sqlite3_reset(s);
    return *n == max || rc == SQLITE_DONE;
}

/* --- writing an enrollment's outcome ---------------------------------------- */

static bool end_enrollment(struct sched_engine *e, const struct due *d, const char *state,
                           const char *reason, int64_t now)
{
    sqlite3_stmt *s = stmt(e, Q_END);
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    if (sqlite3_step(s) != SQLITE_DONE)
        return false;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)d->id);
    s = stmt(e, Q_EVENT);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        return false;
    /* Per enrollment at debug: a removed campaign can end thousands in a tick (events keep each). */
    log_debug("enrollment=%lld campaign=%s %s: %s", (long long)d->id, d->campaign, state, reason);
    return true;
}

static bool defer(struct sched_engine *e, const struct due *d, int64_t until, int64_t now)
{
    sqlite3_stmt *s = stmt(e, Q_DEFER);
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_int64(s, 2, until);
    sqlite3_bind_int64(s, 3, now);
    return sqlite3_step(s) == SQLITE_DONE;
}

/* The step after `d->step` is due at...; 0 when this was the last. */
static int64_t next_due(const struct conf_campaign *c, const struct due *d, int64_t now)
{
    size_t k = (size_t)d->step + 1;
    if (k >= c->n_steps)
        return 0;
    const struct conf_step *s = &c->steps[k];
    int64_t base = s->from && strcmp(s->from, "enrollment") == 0 ? d->created_at : now;
    return base + s->after > now ? base + s->after : now;
}

static bool advance(struct sched_engine *e, const struct conf_campaign *c, const struct due *d,
                    int64_t now, struct sched_tick_result *res)
{
    int64_t next = next_due(c, d, now);
    sqlite3_stmt *s = stmt(e, Q_ADVANCE);
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_int(s, 2, d->step + 1);
    if (next) {
        sqlite3_bind_int64(s, 3, next);
        sqlite3_bind_text(s, 4, "active", -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(s, 4, "completed", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, now);
        res->completed++;
    }
    sqlite3_bind_int64(s, 6, now);
    return sqlite3_step(s) == SQLITE_DONE;
}

/* --- one step --------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

size_t sched_pick_variant(const struct conf_step *step, int64_t enrollment_id, int step_index)
{
    uint64_t total = 0;
    for (size_t i = 0; i < step->n_variants; i++)
        total += step->variants[i].weight > 0 ? (uint64_t)step->variants[i].weight : 0;
    if (total == 0)
        return 0;
    uint64_t h = mix64((uint64_t)enrollment_id * 1000003u + (uint64_t)step_index) % total;
    for (size_t i = 0; i < step->n_variants; i++) {
        uint64_t w = step->variants[i].weight > 0 ? (uint64_t)step->variants[i].weight : 0;
        if (h < w)
            return i;
        h -= w;
    }
    return step->n_variants - 1;
}

/* The template's fields: the contact's attributes, name, phone, timezone, then the enrollment's vars. */
static json_t *render_fields(const struct due *d)
{
    json_t *f = d->attributes ? json_loads(d->attributes, 0, NULL) : NULL;
    if (!json_is_object(f)) {
        json_decref(f);
        f = json_object();
    }
    if (d->name)
        json_object_set_new(f, "name", json_string(d->name));
    json_object_set_new(f, "phone", json_string(d->recipient));
    if (d->timezone)
        json_object_set_new(f, "timezone", json_string(d->timezone));
    json_t *vars = d->vars ? json_loads(d->vars, 0, NULL) : NULL;
    if (json_is_object(vars))
        json_object_update(f, vars);
    json_decref(vars);
    return f;
}

struct step_text {
    char *body;                  /* malloc'd */
    const char *variant;         /* NULL without variants */
};

/* Renders the step for this enrollment; false with `why` when it cannot be. */
static bool render_step(const struct conf_step *step, const struct due *d, struct step_text *out,
                        char *why, size_t why_size)
{
    const char *tmpl = step->text;
    out->variant = NULL;
    if (step->n_variants > 0) {
        const struct conf_variant *v = &step->variants[sched_pick_variant(step, d->id, d->step)];
        tmpl = v->text;
        out->variant = v->name;
    }
    char err[256];
    json_t *fields = render_fields(d);
    out->body = sched_render(tmpl, fields, err, sizeof err);
    json_decref(fields);
    if (!out->body)
        snprintf(why, why_size, "step %d cannot be rendered: %s", d->step + 1, err);
    return out->body != NULL;
}

struct encoded {
    const char *encoding;
    int segments;
};

static bool encode(struct sched_engine *e, const char *body, struct encoded *out, char *why,
                   size_t why_size)
{
    struct codec_options opt = { .smart = e->conf->defaults.smart_encoding,
                                 .max_segments = (unsigned)e->conf->defaults.max_segments };
    if (codec_encode(body, strlen(body), &opt, &e->cm) != 0) {
        snprintf(why, why_size, "the rendered text cannot be sent: %s", e->cm.error);
        return false;
    }
    out->encoding = codec_encoding_name(e->cm.encoding);
    out->segments = (int)e->cm.nsegments;
    return true;
}

static bool insert_message(struct sched_engine *e, const struct conf_campaign *c,
                           const struct due *d, const struct step_text *t,
                           const struct encoded *enc, int64_t now)
{
    char key[64];
    snprintf(key, sizeof key, "enrollment:%lld:step:%d", (long long)d->id, d->step);
    sqlite3_stmt *s = stmt(e, Q_INSERT_MSG);
    sqlite3_bind_text(s, 1, d->recipient, -1, SQLITE_STATIC);
    bind_text_or_null(s, 2, c->from);
    sqlite3_bind_text(s, 3, t->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, enc->encoding, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, enc->segments);
    bind_text_or_null(s, 6, c->route);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, now + e->conf->defaults.validity);
    sqlite3_bind_text(s, 9, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 10, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 11, d->step);
    sqlite3_bind_int64(s, 12, d->id);
    bind_text_or_null(s, 13, t->variant);
    return sqlite3_step(s) == SQLITE_DONE;
}

/* Renders, queues and advances; a step that cannot be rendered ends the enrollment. */
static bool send_step(struct sched_engine *e, const struct conf_campaign *c, const struct due *d,
                      int64_t now, struct sched_tick_result *res)
{
    char why[400];
    struct step_text t;
    struct encoded enc;
    if (!render_step(&c->steps[d->step], d, &t, why, sizeof why)) {
        res->ended++;
        return end_enrollment(e, d, "exited", why, now);
    }
    bool ok;
    if (!encode(e, t.body, &enc, why, sizeof why)) {
        res->ended++;
        ok = end_enrollment(e, d, "exited", why, now);
    } else {
        ok = insert_message(e, c, d, &t, &enc, now) && advance(e, c, d, now, res);
        res->sent += ok;
    }
    free(t.body);
    return ok;
}

static const struct conf_campaign *campaign_named(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_campaigns; i++)
        if (strcmp(conf->campaigns[i].name, name) == 0)
            return &conf->campaigns[i];
    return NULL;
}

/* Why this enrollment must end now, or NULL; `state` gets the state it ends in. */
static const char *end_reason(const struct conf_campaign *c, const struct due *d,
                              const char **state, char *why, size_t why_size)
{
    *state = "exited";
    if (!c) {
        snprintf(why, why_size, "campaign '%s' is no longer configured", d->campaign);
    } else if (d->optout) {
        *state = "opted_out";
        snprintf(why, why_size, "recipient opted out (%s)", d->optout);
    } else if (c->consent_required && !(d->consent && strcmp(d->consent, "yes") == 0)) {
        snprintf(why, why_size, "the contact's consent is missing or was withdrawn");
    } else if ((size_t)d->step >= c->n_steps) {
        *state = "completed";
        snprintf(why, why_size, "the campaign has no step %d any more", d->step + 1);
    } else {
        return NULL;
    }
    return why;
}

/* Decides and writes what happens to one due enrollment. False: the database failed. */
static bool handle(struct sched_engine *e, const struct due *d, int64_t now,
                   struct sched_tick_result *res)
{
    const struct conf_campaign *c = campaign_named(e->conf, d->campaign);
    const char *state;
    char why[300];
    if (end_reason(c, d, &state, why, sizeof why)) {
        res->ended += strcmp(state, "completed") != 0;
        res->completed += strcmp(state, "completed") == 0;
        return end_enrollment(e, d, state, why, now);
    }
    const struct sched_zone *z = sched_tz_recipient(d->timezone, d->recipient,
                                                    e->conf->defaults.timezone);
    int64_t until = sched_quiet_until(z, (int)c->quiet_hours.start, (int)c->quiet_hours.end, now);
    if (until > 0) {
        res->quiet++;
        return defer(e, d, until, now);
    }
    until = sched_cap_until(e->cap, d->recipient, c->frequency_cap.messages,
                            c->frequency_cap.per, now);
    if (until < 0)
        return false;
    if (until > 0) {
        res->capped++;
        return defer(e, d, until, now);
    }
    return send_step(e, c, d, now, res);
}

/* --- the tick ----------------------------------------------------------------- */

static int any_due(struct sched_engine *e, int64_t now)
{
    sqlite3_stmt *s = stmt(e, Q_ANY_DUE);
    sqlite3_bind_int64(s, 1, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* One transaction: up to `max` due rows. Returns how many, or -1 (rolled back). */
static int run_batch(struct sched_engine *e, int64_t now, int max, struct sched_tick_result *res)
{
    static struct due rows[BATCH];
    if (!exec(e, "BEGIN IMMEDIATE"))
        return -1;
    int n;
    bool ok = read_due(e, now, rows, max, &n);
    for (int i = 0; ok && i < n; i++)
        ok = handle(e, &rows[i], now, res);
    for (int i = 0; i < n; i++)
        due_clear(&rows[i]);
    memset(rows, 0, sizeof rows);
    if (ok && exec(e, "COMMIT"))
        return n;
    exec(e, "ROLLBACK");
    return -1;
}

enum store_rc sched_tick(struct sched_engine *e, int64_t now, size_t max,
                         struct sched_tick_result *res, char *err, size_t err_size)
{
    memset(res, 0, sizeof *res);
    size_t done = 0;
    int due = any_due(e, now);
    if (due < 0)
        return db_fail(e, "cannot look for due steps", err, err_size);
    while (due && done < max) {
        int want = max - done < BATCH ? (int)(max - done) : BATCH;
        struct sched_tick_result part = { 0 };
        int n = run_batch(e, now, want, &part);
        if (n < 0)
            return db_fail(e, "a batch of due steps failed and was rolled back", err, err_size);
        res->sent += part.sent;
        res->quiet += part.quiet;
        res->capped += part.capped;
        res->ended += part.ended;
        res->completed += part.completed;
        done += (size_t)n;
        if (n < want)
            return STORE_OK;
    }
    res->more = due && any_due(e, now) == 1;
    return STORE_OK;
}

enum store_rc sched_next_due(struct sched_engine *e, int64_t *at, char *err, size_t err_size)
{
    sqlite3_stmt *s = stmt(e, Q_NEXT_DUE);
    int rc = sqlite3_step(s);
    bool none = rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_NULL;
    if (rc == SQLITE_ROW && !none)
        *at = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return db_fail(e, "cannot read the next due step", err, err_size);
    return none ? STORE_NOT_FOUND : STORE_OK;
}
