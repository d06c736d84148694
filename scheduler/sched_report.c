/*
 * sched_report: campaign reports from four aggregate queries.
 *
 * The report is built in memory from GROUP BY rows, never by a query per
 * enrollment or message: enrollments by (campaign, state); messages by
 * (campaign, step, variant, state); conversions by (campaign, step, variant); and
 * the enrollments that ended replied or opted out by (campaign, state, last
 * sent step). The last one looks up each such enrollment's messages through
 * messages_enrollment, so its cost follows the number of replies and
 * opt-outs, not the number enrolled. All four run in one read transaction,
 * so the figures come from one snapshot even while the service writes.
 *
 * Query plans (EXPLAIN QUERY PLAN, 1,000,000 enrollments, 1,500,000 campaign
 * messages): conversions use conversions_campaign and the ended enrollments
 * enrollments_due (state) then messages_enrollment, both in well under a
 * second. Schema v2 has no index that leads with messages.campaign or holds
 * enrollments' (campaign, state), so those two scan their table and sort for
 * the GROUP BY: about 4 s in all. With messages(campaign, step, variant,
 * state) WHERE campaign IS NOT NULL and enrollments(campaign, state) both
 * become covering index scans without a sort and the report takes under a
 * second; the queries need no change to use them. Message rows count
 * enrollments per step (rather than count(DISTINCT enrollment_id)) so that
 * the first index covers the query.
 *
 * The skeleton (campaigns in config order, their steps and variants) comes
 * from the configuration first; rows then find or add their campaign, step
 * and variant, so campaigns and steps that exist only in the database are
 * reported too.
 */
#include "scheduler/sched_report.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/store.h"

/* A message sent as a whole, or with a part a modem or SMSC accepted: "sent" everywhere. */
#define WHOLE_SENT(m) m ".state IN ('sent', 'delivered', 'undelivered')"
#define PART_WENT(m)                                                                     \
    "EXISTS (SELECT 1 FROM parts p WHERE p.message_id = " m ".id "                       \
    "AND p.state IN ('submitted', 'delivered', 'undelivered'))"
#define LEFT_GATEWAY(m) "CASE WHEN " WHOLE_SENT(m) " THEN 1 WHEN " PART_WENT(m) " THEN 1 ELSE 0 END"

enum { Q_ENROLL, Q_MSG, Q_CONV, Q_ENDED, Q_COUNT };

/*
 * Every query gives the same columns: campaign, step (NULL: none), variant,
 * state (the message's in Q_MSG, the enrollment's in Q_ENROLL and Q_ENDED),
 * four counts and a value. %s is "" for every campaign, or the filter on ?1.
 */
static const char *const query_sql[Q_COUNT] = {
    [Q_ENROLL] = "SELECT campaign, NULL, NULL, state, count(*), 0, 0, 0, 0.0 "
                 "FROM enrollments %s GROUP BY campaign, state",
    /* Messages by state, and how many of them went in part only. */
    [Q_MSG] = "SELECT m.campaign, m.step, m.variant, m.state, count(*), "
              "sum(CASE WHEN " WHOLE_SENT("m") " THEN 0 WHEN " PART_WENT("m") " THEN 1 ELSE 0 END), "
              "0, 0, 0.0 FROM messages m WHERE m.campaign IS NOT NULL %s "
              "GROUP BY m.campaign, m.step, m.variant, m.state",
    [Q_CONV] = "SELECT campaign, step, variant, NULL, count(*), 0, 0, 0, total(value) "
               "FROM conversions WHERE campaign IS NOT NULL %s GROUP BY campaign, step, variant",
    [Q_ENDED] = "SELECT e.campaign, (SELECT max(m.step) FROM messages m "
                "WHERE m.enrollment_id = e.id AND (" LEFT_GATEWAY("m") ") = 1) AS last, "
                "NULL, e.state, count(*), 0, 0, 0, 0.0 FROM enrollments e "
                "WHERE e.state IN ('replied', 'opted_out') %s GROUP BY e.campaign, e.state, last",
};

static const char *const query_filter[Q_COUNT] = {
    [Q_ENROLL] = "WHERE campaign = ?1",
    [Q_MSG] = "AND m.campaign = ?1",
    [Q_CONV] = "AND campaign = ?1",
    [Q_ENDED] = "AND e.campaign = ?1",
};

static const char *const enroll_state_names[SCHED_ENR_STATE_COUNT] = {
    "active", "completed", "converted", "replied", "opted_out", "exited",
};

const char *sched_enroll_state_name(enum sched_enroll_state s)
{
    return (unsigned)s < SCHED_ENR_STATE_COUNT ? enroll_state_names[s] : "?";
}

static int enroll_state_parse(const char *name)
{
    for (int i = 0; i < SCHED_ENR_STATE_COUNT; i++)
        if (name && strcmp(name, enroll_state_names[i]) == 0)
            return i;
    return -1;
}

double sched_report_rate(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : -1.0;
}

/* ---- building the skeleton --------------------------------------------- */

static void *grow(void *arr, size_t n, size_t size)
{
    void *p = realloc(arr, (n + 1) * size);
    if (!p)
        abort();
    memset((char *)p + n * size, 0, size);
    return p;
}

static char *dup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static struct sched_report_campaign *find_campaign(struct sched_report *r, const char *name,
                                                   bool add)
{
    for (size_t i = 0; i < r->n_campaigns; i++)
        if (strcmp(r->campaigns[i].name, name) == 0)
            return &r->campaigns[i];
    if (!add)
        return NULL;
    r->campaigns = grow(r->campaigns, r->n_campaigns, sizeof *r->campaigns);
    r->campaigns[r->n_campaigns].name = dup(name);
    return &r->campaigns[r->n_campaigns++];
}

static struct sched_report_step *find_step(struct sched_report_campaign *c, int index)
{
    for (size_t i = 0; i < c->n_steps; i++)
        if (c->steps[i].index == index)
            return &c->steps[i];
    c->steps = grow(c->steps, c->n_steps, sizeof *c->steps);
    c->steps[c->n_steps].index = index;
    return &c->steps[c->n_steps++];
}

static struct sched_report_variant *find_variant(struct sched_report_step *s, const char *name)
{
    for (size_t i = 0; i < s->n_variants; i++)
        if (strcmp(s->variants[i].name, name) == 0)
            return &s->variants[i];
    s->variants = grow(s->variants, s->n_variants, sizeof *s->variants);
    s->variants[s->n_variants].name = dup(name);
    return &s->variants[s->n_variants++];
}

static void add_configured(struct sched_report *r, const struct conf_campaign *cc)
{
    struct sched_report_campaign *c = find_campaign(r, cc->name, true);
    c->in_config = true;
    for (size_t i = 0; i < cc->n_steps; i++) {
        struct sched_report_step *s = find_step(c, (int)i);
        s->in_config = true;
        for (size_t v = 0; v < cc->steps[i].n_variants; v++)
            find_variant(s, cc->steps[i].variants[v].name)->in_config = true;
    }
}

/* ---- rows into the report ---------------------------------------------- */

/* One GROUP BY row (see query_sql). */
struct row {
    const char *campaign, *variant, *state;
    bool has_step;
    int step;
    int64_t n[4];
    double value;
};

static void add_enroll(struct sched_report_campaign *c, const struct row *w)
{
    int s = enroll_state_parse(w->state);
    if (s >= 0)
        c->states[s] += w->n[0];
    c->total.enrolled += w->n[0];
    if (s == SCHED_ENR_REPLIED)
        c->total.replied += w->n[0];
    else if (s == SCHED_ENR_OPTED_OUT)
        c->total.opted_out += w->n[0];
}

/* Q_MSG: one row per (step, variant, message state): n[0] messages, n[1] partly sent. */
static void msg_figures(const struct row *w, struct sched_report_counts *f)
{
    bool whole = strcmp(w->state, "sent") == 0 || strcmp(w->state, "delivered") == 0 ||
                 strcmp(w->state, "undelivered") == 0;
    f->enrolled = w->n[0];
    f->sent = whole ? w->n[0] : w->n[1];
    f->delivered = strcmp(w->state, "delivered") == 0 ? w->n[0] : 0;
    f->failed = strcmp(w->state, "failed") == 0 || strcmp(w->state, "expired") == 0 ? w->n[0] : 0;
}

static void add_msg(struct sched_report_campaign *c, const struct row *w)
{
    struct sched_report_counts f = { 0 };
    msg_figures(w, &f);
    c->total.sent += f.sent;
    c->total.delivered += f.delivered;
    c->total.failed += f.failed;
    if (!w->has_step)
        return;
    struct sched_report_step *s = find_step(c, w->step);
    s->c.enrolled += f.enrolled;
    s->c.sent += f.sent;
    s->c.delivered += f.delivered;
    s->c.failed += f.failed;
    if (w->variant)
        find_variant(s, w->variant)->sent += f.sent;
}

static void add_conv(struct sched_report_campaign *c, const struct row *w)
{
    c->total.converted += w->n[0];
    c->total.value += w->value;
    if (!w->has_step)
        return;
    struct sched_report_step *s = find_step(c, w->step);
    s->c.converted += w->n[0];
    s->c.value += w->value;
    if (w->variant) {
        struct sched_report_variant *v = find_variant(s, w->variant);
        v->converted += w->n[0];
        v->value += w->value;
    }
}

static void add_ended(struct sched_report_campaign *c, const struct row *w)
{
    if (!w->has_step)
        return;              /* ended before any message left: in the total only */
    struct sched_report_step *s = find_step(c, w->step);
    if (strcmp(w->state, "replied") == 0)
        s->c.replied += w->n[0];
    else
        s->c.opted_out += w->n[0];
}

static void read_row(sqlite3_stmt *s, struct row *w)
{
    w->campaign = (const char *)sqlite3_column_text(s, 0);
    w->has_step = sqlite3_column_type(s, 1) != SQLITE_NULL;
    w->step = sqlite3_column_int(s, 1);
    w->variant = (const char *)sqlite3_column_text(s, 2);
    w->state = (const char *)sqlite3_column_text(s, 3);
    for (int i = 0; i < 4; i++)
        w->n[i] = sqlite3_column_int64(s, 4 + i);
    w->value = sqlite3_column_double(s, 8);
}

static void add_row(struct sched_report *r, int q, const struct row *w, bool add)
{
    struct sched_report_campaign *c = find_campaign(r, w->campaign, add);
    if (!c)
        return;
    switch (q) {
    case Q_ENROLL: add_enroll(c, w); break;
    case Q_MSG: add_msg(c, w); break;
    case Q_CONV: add_conv(c, w); break;
    case Q_ENDED: add_ended(c, w); break;
    }
}

static enum sched_report_rc db_fail(sqlite3 *db, const char *what, char *err, size_t err_size)
{
    snprintf(err, err_size, "report: %s: %s", what, sqlite3_errmsg(db));
    return SCHED_REPORT_ERROR;
}

static enum sched_report_rc run_query(sqlite3 *db, int q, const char *campaign,
                                      struct sched_report *r, char *err, size_t err_size)
{
    char sql[1024];
    snprintf(sql, sizeof sql, query_sql[q], campaign ? query_filter[q] : "");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, "prepare", err, err_size);
    if (campaign)
        sqlite3_bind_text(s, 1, campaign, -1, SQLITE_STATIC);
    int rc;
    struct row w;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_row(s, &w);
        if (w.campaign)
            add_row(r, q, &w, true);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SCHED_REPORT_OK : db_fail(db, "query", err, err_size);
}

static enum sched_report_rc run_all(sqlite3 *db, const char *campaign, struct sched_report *r,
                                    char *err, size_t err_size)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, "begin", err, err_size);
    enum sched_report_rc rc = SCHED_REPORT_OK;
    for (int q = 0; q < Q_COUNT && rc == SCHED_REPORT_OK; q++)
        rc = run_query(db, q, campaign, r, err, err_size);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

/* ---- ordering ------------------------------------------------------------ */

static int cmp_campaign(const void *a, const void *b)
{
    const struct sched_report_campaign *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int cmp_step(const void *a, const void *b)
{
    const struct sched_report_step *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static int cmp_variant(const void *a, const void *b)
{
    const struct sched_report_variant *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/*
 * Sorts what follows the first n_fixed items. Configured campaigns and
 * variants were added first, in config order, so they stay as they are.
 */
static void sort_tail(void *base, size_t n, size_t size, size_t n_fixed,
                      int (*cmp)(const void *, const void *))
{
    if (n > n_fixed)
        qsort((char *)base + n_fixed * size, n - n_fixed, size, cmp);
}

static size_t count_configured_campaigns(const struct sched_report *r)
{
    size_t n = 0;
    while (n < r->n_campaigns && r->campaigns[n].in_config)
        n++;
    return n;
}

static void order(struct sched_report *r)
{
    sort_tail(r->campaigns, r->n_campaigns, sizeof *r->campaigns,
              count_configured_campaigns(r), cmp_campaign);
    for (size_t i = 0; i < r->n_campaigns; i++) {
        struct sched_report_campaign *c = &r->campaigns[i];
        sort_tail(c->steps, c->n_steps, sizeof *c->steps, 0, cmp_step);
        for (size_t j = 0; j < c->n_steps; j++) {
            struct sched_report_step *s = &c->steps[j];
            size_t fixed = 0;
            while (fixed < s->n_variants && s->variants[fixed].in_config)
                fixed++;
            sort_tail(s->variants, s->n_variants, sizeof *s->variants, fixed, cmp_variant);
        }
    }
}

/* ---- unknown campaign ------------------------------------------------------ */

static const char names_sql[] =
    "SELECT campaign FROM enrollments UNION SELECT campaign FROM messages "
    "WHERE campaign IS NOT NULL UNION SELECT campaign FROM conversions "
    "WHERE campaign IS NOT NULL ORDER BY 1";

/* err: "no campaign 'x'; campaigns: a, b" (config first, then the database's). */
static enum sched_report_rc unknown(sqlite3 *db, const struct conf *conf, const char *name,
                                    char *err, size_t err_size)
{
    struct sched_report all = { 0 };
    for (size_t i = 0; conf && i < conf->n_campaigns; i++)
        find_campaign(&all, conf->campaigns[i].name, true);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, names_sql, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW)
            if (sqlite3_column_text(s, 0))
                find_campaign(&all, (const char *)sqlite3_column_text(s, 0), true);
        sqlite3_finalize(s);
    }
    size_t off = (size_t)snprintf(err, err_size, "no campaign '%s'; ", name);
    if (all.n_campaigns == 0 && off < err_size)
        snprintf(err + off, err_size - off, "there are no campaigns");
    for (size_t i = 0; i < all.n_campaigns && off < err_size; i++)
        off += (size_t)snprintf(err + off, err_size - off, "%s%s", i ? ", " : "campaigns: ",
                                all.campaigns[i].name);
    for (size_t i = 0; i < all.n_campaigns; i++)
        free(all.campaigns[i].name);
    free(all.campaigns);
    return SCHED_REPORT_UNKNOWN;
}

/* ---- public ------------------------------------------------------------------ */

enum sched_report_rc sched_report_build(struct store *st, const struct conf *conf,
                                        const char *campaign, struct sched_report **out,
                                        char *err, size_t err_size)
{
    sqlite3 *db = store_handle(st);
    struct sched_report *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    *out = NULL;
    for (size_t i = 0; conf && i < conf->n_campaigns; i++)
        if (!campaign || strcmp(conf->campaigns[i].name, campaign) == 0)
            add_configured(r, &conf->campaigns[i]);
    enum sched_report_rc rc = run_all(db, campaign, r, err, err_size);
    if (rc == SCHED_REPORT_OK && campaign && r->n_campaigns == 0)
        rc = unknown(db, conf, campaign, err, err_size);
    if (rc != SCHED_REPORT_OK) {
        sched_report_free(r);
        return rc;
    }
    order(r);
    *out = r;
    return SCHED_REPORT_OK;
}

void sched_report_free(struct sched_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_campaigns; i++) {
        struct sched_report_campaign *c = &r->campaigns[i];
        for (size_t j = 0; j < c->n_steps; j++) {
            for (size_t v = 0; v < c->steps[j].n_variants; v++)
                free(c->steps[j].variants[v].name);
            free(c->steps[j].variants);
        }
        free(c->steps);
        free(c->name);
    }
    free(r->campaigns);
    free(r);
}

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *rate_json(int64_t num, int64_t den)
{
    double r = sched_report_rate(num, den);
    return r < 0 ? json_null() : json_real(r);
}

static void figures_json(json_t *o, const struct sched_report_counts *c)
{
    json_object_set_new(o, "enrolled", json_integer(c->enrolled));
    json_object_set_new(o, "sent", json_integer(c->sent));
    json_object_set_new(o, "delivered", json_integer(c->delivered));
    json_object_set_new(o, "failed", json_integer(c->failed));
    json_object_set_new(o, "replied", json_integer(c->replied));
    json_object_set_new(o, "converted", json_integer(c->converted));
    json_object_set_new(o, "value", json_real(c->value));
    json_object_set_new(o, "opted_out", json_integer(c->opted_out));
    json_object_set_new(o, "delivery_rate", rate_json(c->delivered, c->sent));
    json_object_set_new(o, "reply_rate", rate_json(c->replied, c->sent));
    json_object_set_new(o, "conversion_rate", rate_json(c->converted, c->sent));
    json_object_set_new(o, "optout_rate", rate_json(c->opted_out, c->sent));
}

static json_t *variant_json(const struct sched_report_variant *v)
{
    return json_pack("{s:s, s:b, s:I, s:I, s:o, s:f}", "name", v->name, "in_config",
                     v->in_config, "sent", (json_int_t)v->sent, "converted",
                     (json_int_t)v->converted, "conversion_rate",
                     rate_json(v->converted, v->sent), "value", v->value);
}

static json_t *step_json(const struct sched_report_step *s)
{
    json_t *o = json_object(), *vs = json_array();
    json_object_set_new(o, "step", json_integer(s->index));
    json_object_set_new(o, "in_config", json_boolean(s->in_config));
    figures_json(o, &s->c);
    for (size_t i = 0; i < s->n_variants; i++)
        json_array_append_new(vs, variant_json(&s->variants[i]));
    json_object_set_new(o, "variants", vs);
    return o;
}

static json_t *campaign_json(const struct sched_report_campaign *c)
{
    json_t *o = json_object(), *states = json_object(), *total = json_object(),
           *steps = json_array();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "in_config", json_boolean(c->in_config));
    for (int i = 0; i < SCHED_ENR_STATE_COUNT; i++)
        json_object_set_new(states, enroll_state_names[i], json_integer(c->states[i]));
    json_object_set_new(o, "enrollments", states);
    figures_json(total, &c->total);
    json_object_set_new(o, "total", total);
    for (size_t i = 0; i < c->n_steps; i++)
        json_array_append_new(steps, step_json(&c->steps[i]));
    json_object_set_new(o, "steps", steps);
    return o;
}

void *sched_report_json(const struct sched_report *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->n_campaigns; i++)
        json_array_append_new(list, campaign_json(&r->campaigns[i]));
    return json_pack("{s:o}", "campaigns", list);
}
