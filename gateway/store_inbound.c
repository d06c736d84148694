/*
 * store_inbound: received messages. A part of a long message waits in
 * inbound_parts until its siblings are in (duplicates ignored), then the
 * whole text becomes one inbound row in the same transaction; parts that
 * stop coming are delivered incomplete after reassembly_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store_priv.h"

/* --- inbound --------------------------------------------------------------- */

static void bind_concat_key(sqlite3_stmt *s, const char *sender, unsigned ref, unsigned total)
{
    sqlite3_bind_text(s, 1, sender, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, (int)ref);
    sqlite3_bind_int(s, 3, (int)total);
}

static bool insert_inbound(struct store *st, const char *sender, const char *recipient,
                           const char *text, const char *route, int64_t at, bool complete,
                           int64_t *id)
{
    sqlite3_stmt *s = store_stmt(st, ST_INB_INSERT);
    sqlite3_bind_text(s, 1, sender, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 2, recipient);
    sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, at);
    store_bind_text_or_null(s, 5, route);
    sqlite3_bind_int(s, 6, complete);
    if (sqlite3_step(s) != SQLITE_DONE)
        return false;
    *id = sqlite3_last_insert_rowid(st->db);
    return true;
}

/* --- consent --------------------------------------------------------------- */

/* An audit row: `actor` is the source (a route, "cli", "import"); "sms" if none. */
static bool add_event(struct store *st, int64_t now, const char *actor, const char *entity,
                      const char *entity_id, const char *action, const char *detail)
{
    sqlite3_stmt *e = store_stmt(st, ST_EVENT_ADD);
    sqlite3_bind_int64(e, 1, now);
    sqlite3_bind_text(e, 2, actor ? actor : "sms", -1, SQLITE_STATIC);
    sqlite3_bind_text(e, 3, entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(e, 4, entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(e, 5, action, -1, SQLITE_STATIC);
    store_bind_text_or_null(e, 6, detail);
    return sqlite3_step(e) == SQLITE_DONE;
}

static bool consent_event(struct store *st, int64_t now, const char *actor, const char *who,
                          const char *action, const char *detail)
{
    return add_event(st, now, actor, "consent", who, action, detail);
}

/* Was an opt-out confirmation sent to `who` since `since`? */
static bool confirmed_since(struct store *st, const char *who, int64_t since)
{
    sqlite3_stmt *s = store_stmt(st, ST_OPTOUT_CONFIRMED_AT);
    sqlite3_bind_text(s, 1, who, -1, SQLITE_STATIC);
    return sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > since;
}

static bool exec_recipient(struct store *st, enum stmt_id id, const char *who, int64_t now,
                           const char *why)
{
    sqlite3_stmt *s = store_stmt(st, id);
    sqlite3_bind_text(s, 1, who, -1, SQLITE_STATIC);
    if (id != ST_OPTOUT_DELETE)
        sqlite3_bind_int64(s, 2, now);
    if (why)
        sqlite3_bind_text(s, 3, why, -1, SQLITE_STATIC);
    return sqlite3_step(s) == SQLITE_DONE;
}

/* How a recipient's enrollments end: by opt-out (every campaign) or by a reply. */
struct enroll_exit {
    const char *state;           /* "opted_out" or "replied" */
    const char *reason;
    const char *actor;           /* the source, for the events */
    bool (*applies)(const char *campaign, void *arg); /* NULL: every campaign */
    void *arg;
};

static bool end_enrollment(struct store *st, int64_t id, const char *campaign,
                           const struct enroll_exit *x, int64_t now)
{
    char id_text[24], detail[200];
    sqlite3_stmt *u = store_stmt(st, ST_ENROLL_END);
    sqlite3_bind_int64(u, 1, id);
    sqlite3_bind_text(u, 2, x->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 3, x->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 4, now);
    if (sqlite3_step(u) != SQLITE_DONE)
        return false;
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    snprintf(detail, sizeof detail, "campaign %s: %s", campaign, x->reason);
    return add_event(st, now, x->actor, "enrollment", id_text, x->state, detail);
}

/*
 * Ends the active enrollments of `who` that x applies to, each with its own
 * event. They are read first and changed after, so no read runs over rows
 * being updated. *ended counts them.
 */
static bool end_enrollments(struct store *st, const char *who, const struct enroll_exit *x,
                            int64_t now, int *ended)
{
    struct { int64_t id; char *campaign; } *list = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = store_stmt(st, ST_ENROLL_ACTIVE);
    sqlite3_bind_text(s, 1, who, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *campaign = (const char *)sqlite3_column_text(s, 1);
        if (x->applies && !x->applies(campaign, x->arg))
            continue;
        if (n == cap && !(list = realloc(list, (cap = cap ? 2 * cap : 4) * sizeof *list)))
            abort();
        list[n].id = sqlite3_column_int64(s, 0);
        list[n++].campaign = store_column_dup(s, 1);
    }
    sqlite3_reset(s);
    bool ok = rc == SQLITE_DONE;
    for (size_t i = 0; i < n; i++) {
        ok = ok && end_enrollment(st, list[i].id, list[i].campaign, x, now);
        free(list[i].campaign);
    }
    free(list);
    if (ok)
        *ended += (int)n;
    return ok;
}

/* One opt-out to record: STOP, `optout add`, or a row of an import. */
struct optout_in {
    const char *who, *word;
    const char *actor;           /* route, "cli", "import" */
    int64_t at;                  /* when they opted out */
};

static bool record_optout(struct store *st, const struct optout_in *o, int64_t now,
                          struct store_inbound_result *res)
{
    char why[96];
    snprintf(why, sizeof why, "recipient opted out (%s)", o->word);
    sqlite3_stmt *s = store_stmt(st, ST_OPTOUT_PUT);
    sqlite3_bind_text(s, 1, o->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, o->word, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, o->at);
    sqlite3_bind_text(s, 4, o->actor ? o->actor : "sms", -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE ||
        !exec_recipient(st, ST_SUPPRESS_RECIPIENT, o->who, now, why))
        return false;
    res->suppressed += sqlite3_changes(st->db);
    struct enroll_exit x = { .state = "opted_out", .reason = why, .actor = o->actor };
    return end_enrollments(st, o->who, &x, now, &res->ended) &&
           consent_event(st, now, o->actor, o->who, "opt-out", o->word);
}

/* A reply that is no keyword ends enrollments in campaigns that exit on reply. */
static bool record_reply(struct store *st, const struct store_consent *c, const char *who,
                         const char *route, int64_t now, struct store_inbound_result *res)
{
    if (!c->exits_on_reply)
        return true;
    char why[64];
    snprintf(why, sizeof why, "recipient replied (inbound %lld)", (long long)res->id);
    struct enroll_exit x = { .state = "replied", .reason = why, .actor = route,
                             .applies = c->exits_on_reply, .arg = c->arg };
    return end_enrollments(st, who, &x, now, &res->ended);
}

/* Queues the reply for this keyword; an opt-out's at most once per period. */
static bool queue_reply(struct store *st, const struct store_consent *c, const char *who,
                        int64_t now, struct store_inbound_result *res)
{
    const struct store_new_message *tmpl = c->reply[res->keyword];
    if (!tmpl)
        return true;
    if (res->keyword == STORE_KW_OPTOUT && confirmed_since(st, who, now - c->confirm_again_after))
        return true; /* one confirmation, then silence */
    struct store_new_message m = *tmpl;
    char err[128];
    m.to = who;
    m.source = "consent";
    if (store_insert_message(st, &m, now, &res->reply_id, err, sizeof err) != STORE_OK)
        return false;
    return res->keyword != STORE_KW_OPTOUT ||
           exec_recipient(st, ST_OPTOUT_CONFIRM, who, now, NULL);
}

static bool apply_consent(struct store *st, const struct store_consent *c, const char *who,
                          const char *text, const char *route, int64_t now,
                          struct store_inbound_result *res)
{
    res->keyword = c->classify(text, res->word, sizeof res->word, c->arg);
    if (res->keyword == STORE_KW_NONE)
        return record_reply(st, c, who, route, now, res);
    sqlite3_stmt *k = store_stmt(st, ST_INB_KEYWORD);
    sqlite3_bind_int64(k, 1, res->id);
    sqlite3_bind_text(k, 2, res->word, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(k) == SQLITE_DONE;
    struct optout_in o = { .who = who, .word = res->word, .actor = route, .at = now };
    if (ok && res->keyword == STORE_KW_OPTOUT)
        ok = record_optout(st, &o, now, res);
    if (ok && res->keyword == STORE_KW_OPTIN)
        ok = exec_recipient(st, ST_OPTOUT_DELETE, who, now, NULL) &&
             consent_event(st, now, route, who, "opt-in", res->word);
    return ok && queue_reply(st, c, who, now, res);
}

/* Inserts a complete message, then applies its consent handling. */
static bool insert_complete(struct store *st, const struct store_inbound_part *in,
                            const char *text, const char *route, int64_t at, int64_t now,
                            struct store_inbound_result *res)
{
    if (!insert_inbound(st, in->sender, in->recipient, text, route, at, true, &res->id))
        return false;
    return !in->consent || apply_consent(st, in->consent, in->sender, text, route, now, res);
}

/* Joins the stored parts in order; a missing part shows as " [...] ". */
static bool assemble_parts(struct store *st, const char *sender, unsigned ref, unsigned total,
                           char **text, char **route, int64_t *first_at, bool *has_first)
{
    *has_first = false;
    sqlite3_stmt *s = store_stmt(st, ST_INB_TEXTS);
    bind_concat_key(s, sender, ref, total);
    size_t len = 0;
    char *out = calloc(1, 1);
    unsigned expect = 1;
    *first_at = 0;
    while (out && sqlite3_step(s) == SQLITE_ROW) {
        unsigned seq = (unsigned)sqlite3_column_int(s, 0);
        *has_first = *has_first || seq == 1;
        const char *piece = (const char *)sqlite3_column_text(s, 1);
        size_t add = strlen(piece) + (seq != expect ? 7 : 0);
        char *grown = realloc(out, len + add + 1);
        if (!grown)
            abort();
        out = grown;
        len += (size_t)snprintf(out + len, add + 1, "%s%s", seq != expect ? " [...] " : "", piece);
        expect = seq + 1;
        if (!*route)
            *route = store_column_dup(s, 2);
        if (!*first_at)
            *first_at = sqlite3_column_int64(s, 3);
    }
    *text = out;
    return out != NULL;
}

/*
 * A long message whose parts stopped coming is still a message from a
 * person: with its first part (where a keyword would be) it gets the
 * keyword handling, so "STOP ..." whose second part was lost still opts out;
 * without it, it is a reply.
 */
static bool insert_incomplete(struct store *st, const struct store_inbound_part *in,
                              const char *text, const char *route, int64_t at, bool has_first,
                              int64_t now, struct store_inbound_result *res)
{
    if (!insert_inbound(st, in->sender, in->recipient, text, route, at, false, &res->id))
        return false;
    if (!in->consent)
        return true;
    return has_first ? apply_consent(st, in->consent, in->sender, text, route, now, res)
                     : record_reply(st, in->consent, in->sender, route, now, res);
}

/*
 * Delivers the parts of (in->sender, in->ref, in->total) as one inbound row,
 * with the consent handling of in->consent: complete, or, when they timed
 * out, incomplete.
 */
static enum store_rc complete_concat(struct store *st, const struct store_inbound_part *in,
                                     bool complete, int64_t now, struct store_inbound_result *res)
{
    char *text = NULL, *route = NULL;
    int64_t first_at;
    bool has_first;
    bool ok = assemble_parts(st, in->sender, in->ref, in->total, &text, &route, &first_at,
                             &has_first) &&
              (complete ? insert_complete(st, in, text, route, first_at, now, res)
                        : insert_incomplete(st, in, text, route, first_at, has_first, now, res));
    free(text);
    free(route);
    if (!ok)
        return STORE_ERROR;
    sqlite3_stmt *d = store_stmt(st, ST_INB_DROP);
    bind_concat_key(d, in->sender, in->ref, in->total);
    return sqlite3_step(d) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static enum store_rc add_part(struct store *st, const struct store_inbound_part *in, int64_t now,
                              struct store_inbound_result *res)
{
    sqlite3_stmt *s = store_stmt(st, ST_INB_PART);
    bind_concat_key(s, in->sender, in->ref, in->total);
    sqlite3_bind_int(s, 4, (int)in->seq);
    sqlite3_bind_text(s, 5, in->text, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 6, in->route);
    sqlite3_bind_int64(s, 7, now);
    if (sqlite3_step(s) != SQLITE_DONE)
        return STORE_ERROR;
    sqlite3_stmt *c = store_stmt(st, ST_INB_COUNT);
    bind_concat_key(c, in->sender, in->ref, in->total);
    if (sqlite3_step(c) != SQLITE_ROW)
        return STORE_ERROR;
    if ((unsigned)sqlite3_column_int(c, 0) < in->total)
        return STORE_OK;
    return complete_concat(st, in, true, now, res);
}

enum store_rc store_inbound_add(struct store *st, const struct store_inbound_part *in,
                                int64_t now, struct store_inbound_result *res,
                                char *err, size_t err_size)
{
    memset(res, 0, sizeof *res);
    if (!store_exec(st, "BEGIN IMMEDIATE"))
        return store_fail(st, err, err_size, "cannot start a transaction");
    enum store_rc rc;
    if (in->concat && in->total > 1)
        rc = add_part(st, in, now, res);
    else
        rc = insert_complete(st, in, in->text, in->route, now, now, res) ? STORE_OK : STORE_ERROR;
    if (rc == STORE_OK && store_exec(st, "COMMIT")) {
        store_release(st);
        return STORE_OK;
    }
    store_fail(st, err, err_size, "cannot store the received message");
    store_rollback(st);
    store_release(st);
    return STORE_ERROR;
}

struct stale_key {
    char *sender;
    unsigned ref, total;
};

enum store_rc store_inbound_expire(struct store *st, int64_t before, int64_t now,
                                   const struct store_consent *consent, int *n, int64_t *ids,
                                   char *err, size_t err_size)
{
    struct stale_key keys[STORE_INBOUND_EXPIRE_MAX];
    int found = 0;
    *n = 0;
    sqlite3_stmt *s = store_stmt(st, ST_INB_STALE);
    sqlite3_bind_int64(s, 1, before);
    while (found < STORE_INBOUND_EXPIRE_MAX && sqlite3_step(s) == SQLITE_ROW) {
        keys[found].sender = store_column_dup(s, 0);
        keys[found].ref = (unsigned)sqlite3_column_int(s, 1);
        keys[found].total = (unsigned)sqlite3_column_int(s, 2);
        found++;
    }
    sqlite3_reset(s);
    enum store_rc rc = STORE_OK;
    for (int i = 0; i < found; i++) {
        struct store_inbound_result r = { 0 };
        struct store_inbound_part key = { .sender = keys[i].sender, .ref = keys[i].ref,
                                          .total = keys[i].total, .consent = consent };
        bool ok = rc == STORE_OK && store_exec(st, "BEGIN IMMEDIATE") &&
                  complete_concat(st, &key, false, now, &r) == STORE_OK &&
                  store_exec(st, "COMMIT");
        int64_t id = r.id;
        if (ok) {
            if (ids)
                ids[*n] = id;
            (*n)++;
        } else if (rc == STORE_OK) {
            rc = store_fail(st, err, err_size, "cannot deliver an incomplete message");
            store_rollback(st);
        }
        free(keys[i].sender);
    }
    store_release(st);
    return rc;
}

enum store_rc store_inbound_get(struct store *st, int64_t id, struct store_inbound *out,
                                char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = store_stmt(st, ST_INB_GET);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    enum store_rc out_rc = STORE_OK;
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(s, 0);
        out->sender = store_column_dup(s, 1);
        out->recipient = store_column_dup(s, 2);
        out->text = store_column_dup(s, 3);
        out->route = store_column_dup(s, 4);
        out->received_at = sqlite3_column_int64(s, 5);
        out->complete = sqlite3_column_int(s, 6) != 0;
    } else if (rc == SQLITE_DONE) {
        snprintf(err, err_size, "no inbound message with id %lld", (long long)id);
        out_rc = STORE_NOT_FOUND;
    } else {
        out_rc = store_fail(st, err, err_size, "cannot read the inbound message");
    }
    store_release(st);
    return out_rc;
}

void store_inbound_clear(struct store_inbound *in)
{
    free(in->sender);
    free(in->recipient);
    free(in->text);
    free(in->route);
    memset(in, 0, sizeof *in);
}

/* --- by hand, and lists ------------------------------------------------------ */

static enum store_rc in_transaction(struct store *st, bool ok_so_far, char *err, size_t err_size,
                                    const char *what)
{
    enum store_rc rc = STORE_OK;
    if (!ok_so_far || !store_exec(st, "COMMIT")) {
        rc = store_fail(st, err, err_size, what);
        store_rollback(st);
    }
    store_release(st);
    return rc;
}

enum store_rc store_consent_optout(struct store *st, const char *recipient, const char *keyword,
                                   const char *actor, int64_t now, int *suppressed,
                                   char *err, size_t err_size)
{
    struct store_inbound_result r = { 0 };
    struct optout_in o = { .who = recipient, .word = keyword, .actor = actor, .at = now };
    bool ok = store_exec(st, "BEGIN IMMEDIATE") && record_optout(st, &o, now, &r);
    *suppressed = r.suppressed;
    return in_transaction(st, ok, err, err_size, "cannot record the opt-out");
}

enum store_rc store_consent_optin(struct store *st, const char *recipient, const char *actor,
                                  int64_t now, char *err, size_t err_size)
{
    bool ok = store_exec(st, "BEGIN IMMEDIATE") &&
              exec_recipient(st, ST_OPTOUT_DELETE, recipient, now, NULL);
    bool found = ok && sqlite3_changes(st->db) > 0;
    ok = ok && (!found || consent_event(st, now, actor, recipient, "opt-in", "by hand"));
    enum store_rc rc = in_transaction(st, ok, err, err_size, "cannot remove the opt-out");
    if (rc == STORE_OK && !found) {
        snprintf(err, err_size, "%s has not opted out", recipient);
        return STORE_NOT_FOUND;
    }
    return rc;
}

/* An import keeps an existing opt-out as it was (its date and keyword are the record). */
static bool import_one(struct store *st, const struct store_optout_import *row, int64_t now,
                       struct store_import_result *res)
{
    sqlite3_stmt *f = store_stmt(st, ST_OPTOUT_FIND);
    sqlite3_bind_text(f, 1, row->recipient, -1, SQLITE_STATIC);
    int rc = sqlite3_step(f);
    if (rc == SQLITE_ROW) {
        res->already++;
        return true;
    }
    struct store_inbound_result r = { 0 };
    struct optout_in o = { .who = row->recipient, .word = row->keyword, .actor = "import",
                           .at = row->at };
    if (rc != SQLITE_DONE || !record_optout(st, &o, now, &r))
        return false;
    res->added++;
    res->suppressed += r.suppressed;
    res->ended += r.ended;
    return true;
}

enum store_rc store_consent_import(struct store *st, const struct store_optout_import *rows,
                                   size_t n, const char *what, int64_t now,
                                   struct store_import_result *res, char *err, size_t err_size)
{
    char detail[300];
    memset(res, 0, sizeof *res);
    bool ok = store_exec(st, "BEGIN IMMEDIATE");
    for (size_t i = 0; ok && i < n; i++)
        ok = import_one(st, &rows[i], now, res);
    snprintf(detail, sizeof detail, "%d added, %d already opted out", res->added, res->already);
    ok = ok && add_event(st, now, "import", "consent", what, "import", detail);
    enum store_rc rc = in_transaction(st, ok, err, err_size, "cannot import the opt-outs");
    if (rc != STORE_OK)
        memset(res, 0, sizeof *res);
    return rc;
}

enum store_rc store_optout_list(struct store *st,
                                void (*fn)(const struct store_optout *o, void *arg), void *arg,
                                char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OPTOUT_LIST);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_optout o = {
            .recipient = (const char *)sqlite3_column_text(s, 0),
            .keyword = (const char *)sqlite3_column_text(s, 1),
            .at = sqlite3_column_int64(s, 2),
            .source = (const char *)sqlite3_column_text(s, 3),
        };
        fn(&o, arg);
    }
    enum store_rc out = rc == SQLITE_DONE ? STORE_OK
                                          : store_fail(st, err, err_size, "cannot list opt-outs");
    store_release(st);
    return out;
}

enum store_rc store_inbound_list(struct store *st, int limit,
                                 void (*fn)(const struct store_inbound_row *r, void *arg),
                                 void *arg, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_INB_LIST);
    sqlite3_bind_int(s, 1, limit > 0 ? limit : 100);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_inbound_row r = {
            .id = sqlite3_column_int64(s, 0),
            .sender = (const char *)sqlite3_column_text(s, 1),
            .text = (const char *)sqlite3_column_text(s, 2),
            .route = (const char *)sqlite3_column_text(s, 3),
            .keyword = (const char *)sqlite3_column_text(s, 4),
            .received_at = sqlite3_column_int64(s, 5),
            .complete = sqlite3_column_int(s, 6) != 0,
        };
        fn(&r, arg);
    }
    enum store_rc out = rc == SQLITE_DONE ? STORE_OK
                                          : store_fail(st, err, err_size, "cannot list inbound");
    store_release(st);
    return out;
}
