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

/* Joins the stored parts in order; a missing part shows as " [...] ". */
static bool assemble_parts(struct store *st, const char *sender, unsigned ref, unsigned total,
                           char **text, char **route, int64_t *first_at)
{
    sqlite3_stmt *s = store_stmt(st, ST_INB_TEXTS);
    bind_concat_key(s, sender, ref, total);
    size_t len = 0;
    char *out = calloc(1, 1);
    unsigned expect = 1;
    *first_at = 0;
    while (out && sqlite3_step(s) == SQLITE_ROW) {
        unsigned seq = (unsigned)sqlite3_column_int(s, 0);
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

static enum store_rc complete_concat(struct store *st, const char *sender, const char *recipient,
                                     unsigned ref, unsigned total, bool complete, int64_t *id)
{
    char *text = NULL, *route = NULL;
    int64_t first_at;
    bool ok = assemble_parts(st, sender, ref, total, &text, &route, &first_at) &&
              insert_inbound(st, sender, recipient, text, route, first_at, complete, id);
    free(text);
    free(route);
    if (!ok)
        return STORE_ERROR;
    sqlite3_stmt *d = store_stmt(st, ST_INB_DROP);
    bind_concat_key(d, sender, ref, total);
    return sqlite3_step(d) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static enum store_rc add_part(struct store *st, const struct store_inbound_part *in, int64_t now,
                              int64_t *id)
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
    return complete_concat(st, in->sender, in->recipient, in->ref, in->total, true, id);
}

enum store_rc store_inbound_add(struct store *st, const struct store_inbound_part *in,
                                int64_t now, int64_t *inbound_id, char *err, size_t err_size)
{
    *inbound_id = 0;
    if (!store_exec(st, "BEGIN IMMEDIATE"))
        return store_fail(st, err, err_size, "cannot start a transaction");
    enum store_rc rc;
    if (in->concat && in->total > 1)
        rc = add_part(st, in, now, inbound_id);
    else
        rc = insert_inbound(st, in->sender, in->recipient, in->text, in->route, now, true,
                            inbound_id) ? STORE_OK : STORE_ERROR;
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

enum store_rc store_inbound_expire(struct store *st, int64_t before, int64_t now, int *n,
                                   int64_t *ids, char *err, size_t err_size)
{
    (void)now;
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
        int64_t id;
        bool ok = rc == STORE_OK && store_exec(st, "BEGIN IMMEDIATE") &&
                  complete_concat(st, keys[i].sender, NULL, keys[i].ref, keys[i].total, false,
                                  &id) == STORE_OK && store_exec(st, "COMMIT");
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
