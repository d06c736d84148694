/*
 * store_priv: what the files of the store share (store.c, store_inbound.c,
 * store_outbox.c). Internal: nothing outside gateway/store*.c includes it.
 * Every statement is prepared once at open time from the table in store.c.
 */
#ifndef HOMING_STORE_PRIV_H
#define HOMING_STORE_PRIV_H

#include <sqlite3.h>

#include "gateway/store.h"

enum stmt_id {
    ST_FIND_IDEM, ST_INSERT_MSG, ST_EXPIRE, ST_CLAIM, ST_PARTS_OF_MSGS,
    ST_UPSERT_PART, ST_MSG_PART_STATES, ST_SET_MSG_STATE,
    ST_GET_MSG, ST_GET_PARTS, ST_LIST_MSGS, ST_COUNT_STATES,
    ST_CLOCK_WRITE, ST_CLOCK_CLEAR, ST_CLOCK_READ,
    ST_OPTOUT_FIND, ST_OPTOUTS_OF_MSGS, ST_OPTOUT_CONFIRMED_AT, ST_OPTOUT_PUT, ST_OPTOUT_CONFIRM,
    ST_OPTOUT_DELETE, ST_SUPPRESS_RECIPIENT, ST_ENROLL_ACTIVE, ST_ENROLL_END, ST_EVENT_ADD,
    ST_INB_KEYWORD, ST_RECEIPT_UNMATCHED, ST_OPTOUT_LIST, ST_INB_LIST, ST_PART_COUNTS,
    ST_OLDEST_QUEUED, ST_STATUS_CLEAR, ST_STATUS_PUT, ST_STATUS_LIST,
    ST_RECOVER, ST_SUPPRESS, ST_PLAN_PART, ST_PLAN_MSG, ST_REQUEUE, ST_ATTEMPTS, ST_FIND_PART,
    ST_INB_PART, ST_INB_COUNT, ST_INB_TEXTS, ST_INB_DROP, ST_INB_INSERT, ST_INB_STALE,
    ST_INB_GET, ST_OB_INSERT, ST_OB_DUE, ST_OB_MARK, ST_OB_DELETE, ST_OB_RETRY, ST_OB_RECOVER,
    ST_BEGIN, ST_COMMIT,
    ST_COUNT
};

#define STORE_BUSY_TIMEOUT_MS 5000 /* the CLI's wait; the service sets less */

struct store {
    sqlite3 *db;
    int version;
    sqlite3_stmt *stmt[ST_COUNT];
    int busy_timeout_ms;
    int64_t busy_since_us;   /* when the current wait for the lock began */
    uint64_t busy_seen;      /* write transactions ended in this process when it last looked */
    bool skip_sync;          /* the next commit need not reach the disk (claims) */
    void (*checkpointer)(void *arg); /* store_set_checkpointer(); NULL: checkpoints itself */
    void *checkpointer_arg;
    void (*defer_sync)(void *arg); /* store_defer_report_syncs() */
    void *defer_arg;
    /* Statements handed out since the last store_release(): only these need a reset. */
    bool used[ST_COUNT];
    enum stmt_id used_ids[ST_COUNT];
    int n_used;
};

/* Sets synchronous, the WAL hook and the busy handler (store_sync.c). */
bool store_sync_configure(struct store *st);
/* Writes "what: <sqlite's message>" into err; returns STORE_ERROR. */
enum store_rc store_fail(struct store *st, char *err, size_t size, const char *what);
bool store_exec(struct store *st, const char *sql);
/* Steps prepared statement `id` (no parameters) to its end: BEGIN, COMMIT. */
bool store_step_done(struct store *st, enum stmt_id id);
void store_rollback(struct store *st);
/* The prepared statement `id`, reset and unbound (and noted for store_release). */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id);
/* Resets every statement used since the last call: at the end of each public call (see store.c). */
void store_release(struct store *st);
void store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v);
char *store_column_dup(sqlite3_stmt *s, int i);
enum part_state store_part_state_parse(const char *name);
/* Inserts a queued message inside the caller's transaction. */
enum store_rc store_insert_message(struct store *st, const struct store_new_message *m,
                                   int64_t now, int64_t *id, char *err, size_t err_size);

#endif
