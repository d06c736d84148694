/*
 * store_outbox: webhook calls waiting to be made. A row is committed before
 * any attempt, claimed ("sending") while in flight, deleted when answered,
 * retried with backoff, and kept as failed after max_attempts; at start-up
 * rows left "sending" go back to pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store_priv.h"

/* --- outbox ---------------------------------------------------------------- */

enum store_rc store_outbox_add(struct store *st, const struct store_outbox_new *e, int64_t now,
                               int64_t *id, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OB_INSERT);
    sqlite3_bind_text(s, 1, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->url, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 4, e->body);
    sqlite3_bind_int64(s, 5, e->entity_id);
    sqlite3_bind_int64(s, 6, now);
    enum store_rc rc = STORE_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, err_size, "cannot add to the outbox");
    else if (id)
        *id = sqlite3_last_insert_rowid(st->db);
    store_release(st);
    return rc;
}

static bool read_due_rows(struct store *st, int64_t now, struct store_outbox_row *rows,
                          size_t max, size_t *n)
{
    sqlite3_stmt *s = store_stmt(st, ST_OB_DUE);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    int rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_outbox_row *r = &rows[(*n)++];
        r->id = sqlite3_column_int64(s, 0);
        r->kind = store_column_dup(s, 1);
        r->method = store_column_dup(s, 2);
        r->url = store_column_dup(s, 3);
        r->body = store_column_dup(s, 4);
        r->entity_id = sqlite3_column_int64(s, 5);
        r->attempts = sqlite3_column_int(s, 6);
        if (!r->kind || !r->method || !r->url)
            abort();
    }
    return *n == max || rc == SQLITE_DONE;
}

static enum store_rc outbox_claim_statements(struct store *st, int64_t now,
                                             struct store_outbox_row *rows, size_t max, size_t *n,
                                             char *err, size_t err_size)
{
    /* A read first: an idle outbox costs no write transaction per tick. */
    if (!read_due_rows(st, now, rows, max, n))
        return store_fail(st, err, err_size, "cannot read the outbox");
    sqlite3_reset(st->stmt[ST_OB_DUE]);
    if (*n == 0)
        return STORE_OK;
    bool ok = store_exec(st, "BEGIN IMMEDIATE");
    for (size_t i = 0; ok && i < *n; i++) {
        sqlite3_stmt *u = store_stmt(st, ST_OB_MARK);
        sqlite3_bind_int64(u, 1, rows[i].id);
        sqlite3_bind_int64(u, 2, now);
        ok = sqlite3_step(u) == SQLITE_DONE;
    }
    if (ok && store_exec(st, "COMMIT"))
        return STORE_OK;
    store_fail(st, err, err_size, "cannot claim outbox rows");
    store_rollback(st);
    for (size_t i = 0; i < *n; i++)
        store_outbox_row_clear(&rows[i]);
    *n = 0;
    return STORE_ERROR;
}

enum store_rc store_outbox_claim(struct store *st, int64_t now, struct store_outbox_row *rows,
                                 size_t max, size_t *n, char *err, size_t err_size)
{
    *n = 0;
    enum store_rc rc = outbox_claim_statements(st, now, rows, max, n, err, err_size);
    store_release(st);
    return rc;
}

void store_outbox_row_clear(struct store_outbox_row *row)
{
    free(row->kind);
    free(row->method);
    free(row->url);
    free(row->body);
    memset(row, 0, sizeof *row);
}

enum store_rc store_outbox_done(struct store *st, int64_t id, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OB_DELETE);
    sqlite3_bind_int64(s, 1, id);
    enum store_rc rc = sqlite3_step(s) == SQLITE_DONE
                           ? STORE_OK : store_fail(st, err, err_size, "cannot remove an outbox row");
    store_release(st);
    return rc;
}

enum store_rc store_outbox_retry(struct store *st, int64_t id, int64_t next_at, bool give_up,
                                 const char *error, int64_t now, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OB_RETRY);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, next_at);
    sqlite3_bind_int(s, 3, give_up);
    store_bind_text_or_null(s, 4, error);
    sqlite3_bind_int64(s, 5, now);
    enum store_rc rc = sqlite3_step(s) == SQLITE_DONE
                           ? STORE_OK : store_fail(st, err, err_size, "cannot reschedule an outbox row");
    store_release(st);
    return rc;
}

enum store_rc store_outbox_recover(struct store *st, int64_t now, int64_t *n,
                                   char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OB_RECOVER);
    sqlite3_bind_int64(s, 1, now);
    enum store_rc rc = STORE_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, err_size, "cannot recover the outbox");
    else
        *n = sqlite3_changes(st->db);
    store_release(st);
    return rc;
}

