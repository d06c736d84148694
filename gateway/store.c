/*
 * store: sqlite3 behind a narrow interface.
 *
 * The database runs in WAL mode, and a commit is on disk when sqlite3_step()
 * on COMMIT returns (store_sync.c: the WAL is synced after the write lock is
 * released); readers (the CLI) never wait for the writer. Writers take the lock up front (BEGIN IMMEDIATE) so a busy
 * database is met by the busy timeout at the start of a transaction rather
 * than by a failed upgrade from reader to writer midway.
 *
 * Every statement is prepared once at open time from the table below; no SQL
 * is ever built from values.
 */
#include "gateway/store_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/store_schema.h"


/* Shared by ST_GET_MSG, ST_LIST_MSGS and ST_CLAIM so that row_to_message() reads all three. */
#define MSG_COLUMNS \
    "id, recipient, sender, body, encoding, segments, route, state, attempts, " \
    "source, last_error, campaign, step, created_at, updated_at, sent_at, expires_at, route_forced, " \
    "dlr_url, dlr_mask"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_FIND_IDEM] = "SELECT id, recipient, body, coalesce(sender, '') FROM messages "
                     "WHERE idempotency_key = ?1",
    [ST_INSERT_MSG] = "INSERT INTO messages (recipient, sender, body, encoding, segments, route_forced, "
                      "state, next_attempt_at, expires_at, idempotency_key, source, created_at, "
                      "updated_at, dlr_url, dlr_mask, campaign, step, enrollment_id, variant) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?10, ?7, ?7, ?11, ?12, "
                      "?13, ?14, ?15, ?16)",
    /* INDEXED BY: the planner would rather walk every queued message by messages_due. */
    [ST_EXPIRE] = "UPDATE messages INDEXED BY messages_expiry SET state = 'expired', "
                  "updated_at = ?1, last_error = 'validity passed before it could be sent' "
                  "WHERE state = 'queued' AND expires_at <= ?1",
    /*
     * Expiry is the tick's job (store_expire_due); a claim only skips the
     * expired. RETURNING hands back the claimed rows as they now are, so
     * dispatch needs no read per message; their order is sqlite's, and
     * claim_rows() sorts them by the last column, the due time, then id.
     */
    [ST_CLAIM] = "UPDATE messages SET state = 'sending', updated_at = ?1 WHERE id IN "
                 "(SELECT id FROM messages WHERE state = 'queued' AND next_attempt_at <= ?1 "
                 "AND expires_at > ?1 ORDER BY next_attempt_at, id LIMIT ?2) "
                 "RETURNING " MSG_COLUMNS ", next_attempt_at",
    [ST_PARTS_OF_MSGS] = "SELECT message_id, part_index, state, ref, dlr_state, dlr_error, "
                         "submitted_at, done_at FROM parts "
                         "WHERE message_id IN (SELECT value FROM json_each(?1)) "
                         "ORDER BY message_id, part_index",
    /* ?10: the route of a part planned in the same write, for a new row only. */
    [ST_UPSERT_PART] =
        "INSERT INTO parts (message_id, part_index, route, ref, state, submitted_at, dlr_state, "
        "dlr_error, done_at) VALUES (?1, ?2, coalesce(?3, ?10), ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (message_id, part_index) DO UPDATE SET "
        "route = coalesce(?3, route), ref = coalesce(excluded.ref, ref), "
        "state = excluded.state, submitted_at = coalesce(submitted_at, excluded.submitted_at), "
        "dlr_state = coalesce(excluded.dlr_state, dlr_state), "
        "dlr_error = coalesce(excluded.dlr_error, dlr_error), done_at = excluded.done_at",
    /* A message's state and whether it has a dlr-url, with each of its parts' state. */
    [ST_MSG_PART_STATES] = "SELECT m.state, m.dlr_url IS NOT NULL, p.state FROM messages m "
                           "LEFT JOIN parts p ON p.message_id = m.id WHERE m.id = ?1",
    /* ?6, ?7: the route and segment count of a plan written with it, or NULL. */
    [ST_SET_MSG_STATE] = "UPDATE messages SET state = ?2, updated_at = ?3, "
                         "sent_at = CASE WHEN ?4 THEN coalesce(sent_at, ?3) ELSE sent_at END, "
                         "last_error = coalesce(?5, last_error), route = coalesce(?6, route), "
                         "segments = coalesce(?7, segments) WHERE id = ?1",
    [ST_GET_MSG] = "SELECT " MSG_COLUMNS " FROM messages WHERE id = ?1",
    [ST_GET_PARTS] = "SELECT part_index, state, ref, dlr_state, dlr_error, submitted_at, done_at "
                     "FROM parts WHERE message_id = ?1 ORDER BY part_index",
    [ST_LIST_MSGS] = "SELECT " MSG_COLUMNS " FROM messages "
                     "WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR recipient = ?2) "
                     "ORDER BY id DESC LIMIT ?3",
    [ST_COUNT_STATES] = "SELECT state, count(*) FROM messages GROUP BY state",
    [ST_CLOCK_WRITE] = "INSERT OR REPLACE INTO service_clock (id, virtual_ms, scale, wall_ms) "
                       "VALUES (1, ?1, ?2, ?3)",
    [ST_CLOCK_CLEAR] = "DELETE FROM service_clock",
    [ST_CLOCK_READ] = "SELECT virtual_ms, scale, wall_ms FROM service_clock WHERE id = 1",
    [ST_OPTOUT_FIND] = "SELECT keyword, received_at FROM optouts WHERE recipient = ?1",
    [ST_OPTOUTS_OF_MSGS] = "SELECT m.id, o.keyword FROM messages m "
                           "JOIN optouts o ON o.recipient = m.recipient "
                           "WHERE m.id IN (SELECT value FROM json_each(?1))",
    [ST_OPTOUT_CONFIRMED_AT] = "SELECT confirmed_at FROM optouts WHERE recipient = ?1 "
                               "AND confirmed_at IS NOT NULL",
    [ST_OPTOUT_PUT] = "INSERT INTO optouts (recipient, keyword, received_at, source) "
                      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (recipient) DO UPDATE SET "
                      "keyword = excluded.keyword, received_at = excluded.received_at, "
                      "source = excluded.source",
    [ST_OPTOUT_CONFIRM] = "UPDATE optouts SET confirmed_at = ?2 WHERE recipient = ?1",
    [ST_OPTOUT_DELETE] = "DELETE FROM optouts WHERE recipient = ?1",
    [ST_SUPPRESS_RECIPIENT] = "UPDATE messages SET state = 'suppressed', updated_at = ?2, "
                              "last_error = ?3 WHERE recipient = ?1 AND state = 'queued' "
                              "AND source <> 'consent'",
    [ST_ENROLL_ACTIVE] = "SELECT id, campaign FROM enrollments WHERE recipient = ?1 "
                         "AND state = 'active' ORDER BY id",
    [ST_ENROLL_END] = "UPDATE enrollments SET state = ?2, reason = ?3, updated_at = ?4, "
                      "ended_at = ?4 WHERE id = ?1 AND state = 'active'",
    [ST_EVENT_ADD] = "INSERT INTO events (at, actor, entity, entity_id, action, detail) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_INB_KEYWORD] = "UPDATE inbound SET keyword = ?2 WHERE id = ?1",
    [ST_RECEIPT_UNMATCHED] = "INSERT INTO receipts_unmatched (route, ref, recipient, state, detail, "
                             "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_OPTOUT_LIST] = "SELECT recipient, keyword, received_at, source FROM optouts "
                       "ORDER BY received_at DESC, recipient",
    [ST_INB_LIST] = "SELECT id, sender, text, route, keyword, received_at, complete FROM inbound "
                    "ORDER BY id DESC LIMIT ?1",
    [ST_PART_COUNTS] = "SELECT state, count(*) FROM parts GROUP BY state",
    [ST_OLDEST_QUEUED] = "SELECT coalesce(min(created_at), 0) FROM messages WHERE state = 'queued'",
    [ST_STATUS_CLEAR] = "DELETE FROM driver_status",
    [ST_STATUS_PUT] = "INSERT INTO driver_status (name, kind, up, state, signal_dbm, registration, "
                      "operator, in_flight, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_STATUS_LIST] = "SELECT name, kind, up, state, signal_dbm, registration, operator, "
                       "in_flight, updated_at FROM driver_status ORDER BY kind, name",
    [ST_RECOVER] = "UPDATE messages SET state = 'queued', next_attempt_at = ?1, updated_at = ?1, "
                   "last_error = 'interrupted by a stop: parts not confirmed by the modem or "
                   "SMSC are sent again' WHERE state = 'sending'",
    [ST_SUPPRESS] = "UPDATE messages SET state = 'suppressed', last_error = ?2, updated_at = ?3 "
                    "WHERE id = ?1",
    [ST_PLAN_PART] = "INSERT OR IGNORE INTO parts (message_id, part_index, route, state) "
                     "VALUES (?1, ?2, ?3, 'pending')",
    [ST_PLAN_MSG] = "UPDATE messages SET route = ?2, segments = ?3, updated_at = ?4 WHERE id = ?1",
    /* With the recipient's opt-out, unless the message is its confirmation. */
    [ST_ATTEMPTS] = "SELECT m.attempts, (SELECT o.keyword FROM optouts o WHERE o.recipient = "
                    "m.recipient AND m.source <> 'consent') FROM messages m WHERE m.id = ?1",
    [ST_REQUEUE] = "UPDATE messages SET state = ?2, next_attempt_at = ?3, attempts = ?4, "
                   "last_error = coalesce(?5, last_error), updated_at = ?6 WHERE id = ?1",
    [ST_FIND_PART] = "SELECT p.message_id, p.part_index FROM parts p "
                     "JOIN messages m ON m.id = p.message_id "
                     "WHERE p.route = ?1 AND p.ref = ?2 AND p.submitted_at >= ?4 "
                     "AND (?3 IS NULL OR substr(m.recipient, -8) = substr(?3, -8)) "
                     "ORDER BY p.submitted_at DESC, p.message_id DESC LIMIT 1",
    [ST_INB_PART] = "INSERT OR IGNORE INTO inbound_parts (sender, ref, total, seq, text, route, "
                    "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_INB_COUNT] = "SELECT count(*) FROM inbound_parts WHERE sender = ?1 AND ref = ?2 "
                     "AND total = ?3",
    [ST_INB_TEXTS] = "SELECT seq, text, route, received_at FROM inbound_parts "
                     "WHERE sender = ?1 AND ref = ?2 AND total = ?3 ORDER BY seq",
    [ST_INB_DROP] = "DELETE FROM inbound_parts WHERE sender = ?1 AND ref = ?2 AND total = ?3",
    [ST_INB_INSERT] = "INSERT INTO inbound (sender, recipient, text, received_at, route, complete) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_INB_STALE] = "SELECT sender, ref, total FROM inbound_parts GROUP BY sender, ref, total "
                     "HAVING min(received_at) < ?1 LIMIT 100",
    [ST_INB_GET] = "SELECT id, sender, recipient, text, route, received_at, complete "
                   "FROM inbound WHERE id = ?1",
    [ST_OB_INSERT] = "INSERT INTO outbox (kind, method, url, body, entity_id, next_attempt_at, "
                     "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
    [ST_OB_DUE] = "SELECT id, kind, method, url, body, entity_id, attempts FROM outbox "
                  "WHERE state = 'pending' AND next_attempt_at <= ?1 "
                  "ORDER BY next_attempt_at, id LIMIT ?2",
    [ST_OB_MARK] = "UPDATE outbox SET state = 'sending', updated_at = ?2 WHERE id = ?1",
    [ST_OB_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [ST_OB_RETRY] = "UPDATE outbox SET state = CASE WHEN ?3 THEN 'failed' ELSE 'pending' END, "
                    "attempts = attempts + 1, next_attempt_at = ?2, last_error = ?4, "
                    "updated_at = ?5 WHERE id = ?1",
    [ST_OB_RECOVER] = "UPDATE outbox SET state = 'pending', next_attempt_at = ?1, updated_at = ?1 "
                      "WHERE state = 'sending'",
    /* Prepared for the transactions of every loop turn (claims, reports): not parsed each time. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
};


static const char *const msg_state_names[MSG_STATE_COUNT] = {
    "queued", "sending", "sent", "delivered", "undelivered", "failed", "expired", "suppressed",
};
static const char *const part_state_names[PART_STATE_COUNT] = {
    "pending", "submitted", "delivered", "undelivered", "failed",
};

const char *store_msg_state_name(enum msg_state s)
{
    return (unsigned)s < MSG_STATE_COUNT ? msg_state_names[s] : "?";
}

bool store_msg_state_parse(const char *name, enum msg_state *out)
{
    for (int i = 0; i < MSG_STATE_COUNT; i++) {
        if (strcmp(name, msg_state_names[i]) == 0) {
            *out = (enum msg_state)i;
            return true;
        }
    }
    return false;
}

const char *store_part_state_name(enum part_state s)
{
    return (unsigned)s < PART_STATE_COUNT ? part_state_names[s] : "?";
}

enum part_state store_part_state_parse(const char *name)
{
    for (int i = 0; i < PART_STATE_COUNT; i++)
        if (name && strcmp(name, part_state_names[i]) == 0)
            return (enum part_state)i;
    return PART_PENDING;
}

enum msg_state store_derive_state(const enum part_state *parts, size_t n, enum msg_state current)
{
    size_t count[PART_STATE_COUNT] = { 0 };
    if (n == 0)
        return current;
    for (size_t i = 0; i < n; i++)
        count[parts[i]]++;
    if (count[PART_FAILED] > 0)
        return MSG_FAILED;
    if (count[PART_DELIVERED] == n)
        return MSG_DELIVERED;
    if (count[PART_DELIVERED] + count[PART_UNDELIVERED] == n)
        return MSG_UNDELIVERED;
    if (count[PART_PENDING] == n)
        return current;
    if (count[PART_PENDING] > 0)
        return MSG_SENDING;
    return MSG_SENT;
}

/* --- plumbing ------------------------------------------------------------ */

enum store_rc store_fail(struct store *st, char *err, size_t size, const char *what)
{
    snprintf(err, size, "%s: %s", what, st && st->db ? sqlite3_errmsg(st->db) : "no database");
    return STORE_ERROR;
}

bool store_exec(struct store *st, const char *sql)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

bool store_step_done(struct store *st, enum stmt_id id)
{
    return sqlite3_step(store_stmt(st, id)) == SQLITE_DONE;
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        store_exec(st, "ROLLBACK");
}

/*
 * Statements are prepared when first used, not all at open: each of the
 * service's connections uses a fraction of them, and a prepared statement
 * costs memory. Every one was prepared once at open (check_all), so a failure
 * here is the schema changed under us or memory ran out.
 */
static sqlite3_stmt *prepared(struct store *st, enum stmt_id id)
{
    if (!st->stmt[id] && sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                            &st->stmt[id], NULL) != SQLITE_OK) {
        fprintf(stderr, "homing: store: cannot prepare statement %d: %s\n", (int)id,
                sqlite3_errmsg(st->db));
        abort();
    }
    return st->stmt[id];
}

sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id)
{
    sqlite3_stmt *s = prepared(st, id);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (!st->used[id]) {
        st->used[id] = true;
        st->used_ids[st->n_used++] = id;
    }
    return s;
}

/*
 * A SELECT left mid-step keeps the connection's read snapshot open, and every
 * later read on the connection would share it, never seeing what the CLI
 * committed since. So each public call ends by resetting the statements it
 * used: only those, since resetting all sixty costs more than a typical call
 * on the send path.
 */
void store_release(struct store *st)
{
    for (int i = 0; i < st->n_used; i++) {
        sqlite3_reset(st->stmt[st->used_ids[i]]);
        st->used[st->used_ids[i]] = false;
    }
    st->n_used = 0;
}

void store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

char *store_column_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return v ? strdup((const char *)v) : NULL;
}

/* --- open and migrate ---------------------------------------------------- */

/* The directory of a database path is created if missing: "var/" in a fresh clone. */
static bool ensure_parent_dir(const char *path, char *err, size_t size)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return true;
    *slash = '\0';
    if (mkdir(dir, 0750) == 0 || errno == EEXIST)
        return true;
    snprintf(err, size, "cannot create the directory %s for the database: %s", dir,
             strerror(errno));
    return false;
}

static int read_version(struct store *st)
{
    sqlite3_stmt *s;
    int version = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1,
                           &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return version;
}

/*
 * Applies one migration unless another process got there first: the version
 * is read again under the write lock, so processes opening a new database at
 * the same moment apply each migration exactly once.
 */
static bool apply_migration(struct store *st, const struct store_migration *m,
                            char *err, size_t size)
{
    sqlite3_stmt *s = NULL;
    if (!store_exec(st, "BEGIN IMMEDIATE"))
        goto fail;
    int current = read_version(st);
    if (current >= m->version) {
        st->version = current;
        store_rollback(st); /* nothing was written */
        return true;
    }
    bool ok = current >= 0 && store_exec(st, m->sql) &&
              sqlite3_prepare_v2(st->db, "INSERT INTO schema_version (version, applied_at) "
                                 "VALUES (?1, strftime('%s', 'now'))", -1, &s, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int(s, 1, m->version);
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    sqlite3_finalize(s);
    if (ok && store_exec(st, "COMMIT")) {
        st->version = m->version;
        return true;
    }
fail:
    snprintf(err, size, "migration %d (%s) failed: %s", m->version, m->what,
             sqlite3_errmsg(st->db));
    store_rollback(st);
    return false;
}

static bool migrate(struct store *st, const char *path, char *err, size_t size)
{
    if (!store_exec(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                  "applied_at INTEGER NOT NULL)")) {
        store_fail(st, err, size, "cannot create schema_version");
        return false;
    }
    st->version = read_version(st);
    if (st->version < 0) {
        store_fail(st, err, size, "cannot read schema_version");
        return false;
    }
    if (st->version > store_schema_latest()) {
        snprintf(err, size, "database %s has schema version %d, newer than this homing "
                 "understands (%d): upgrade homing, or point it at another database",
                 path, st->version, store_schema_latest());
        return false;
    }
    for (int i = 0; i < store_migration_count; i++) {
        if (store_migrations[i].version <= st->version)
            continue;
        if (!apply_migration(st, &store_migrations[i], err, size))
            return false;
    }
    return true;
}

static bool configure(struct store *st, char *err, size_t size)
{
    store_set_busy_timeout(st, STORE_BUSY_TIMEOUT_MS);
    sqlite3_stmt *s;
    bool wal = false;
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) == SQLITE_OK) {
        wal = sqlite3_step(s) == SQLITE_ROW &&
              strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
        sqlite3_finalize(s);
    }
    if (!wal) {
        store_fail(st, err, size, "cannot switch the database to WAL mode");
        return false;
    }
    /*
     * A 512 KiB page cache instead of sqlite's 2 MiB: the kernel's page cache
     * holds the file anyway, and measured under load (bench/queue.sh,
     * bench/scheduler.sh) the smaller one costs no throughput and 1.4 MiB
     * less resident memory, which counts on a Raspberry Pi.
     */
    /*
     * Temporary tables and indexes (IN lists, RETURNING, GROUP BY) in memory:
     * every query here sorts or collects a bounded set (lists are LIMITed and
     * indexed), temporary files on a Raspberry Pi's SD card are slow, and the
     * temporary file's pager cost the service about 0.3 MiB of peak memory
     * (bench/queue.sh's bind line: 7.3 MiB against 7.5-7.7).
     */
    if (!store_sync_configure(st) || !store_exec(st, "PRAGMA foreign_keys = ON") ||
        !store_exec(st, "PRAGMA cache_size = -512") ||
        !store_exec(st, "PRAGMA temp_store = MEMORY")) {
        store_fail(st, err, size, "cannot set synchronous, foreign_keys, cache_size or temp_store");
        return false;
    }
    return true;
}

/* Every statement compiles against this database (they are prepared again when first used). */
static bool check_all(struct store *st, char *err, size_t size)
{
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(st->db, stmt_sql[i], -1, &s, NULL);
        sqlite3_finalize(s);
        if (rc != SQLITE_OK) {
            store_fail(st, err, size, "cannot prepare a statement");
            return false;
        }
    }
    return true;
}

/*
 * Before sqlite's first use: no memory statistics. Nothing here reads them,
 * and keeping them takes a process-wide mutex on every one of sqlite's
 * allocations, which the Debian build (no lookaside) makes for most values.
 */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static struct store *open_connection(const char *path, bool statements, char *err,
                                     size_t err_size)
{
    if (!ensure_parent_dir(path, err, err_size))
        return NULL;
    struct store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    /* Each connection is used by one thread at a time: sqlite's own mutexes only cost. */
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "cannot open database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return NULL;
    }
    if (!configure(st, err, err_size) || !migrate(st, path, err, err_size) ||
        (statements && !check_all(st, err, err_size))) {
        store_close(st);
        return NULL;
    }
    return st;
}

struct store *store_open(const char *path, char *err, size_t err_size)
{
    return open_connection(path, true, err, err_size);
}

struct store *store_open_for_checkpoints(const char *path, char *err, size_t err_size)
{
    return open_connection(path, false, err, err_size);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

int store_schema_version(const struct store *st)
{
    return st->version;
}

struct sqlite3 *store_handle(struct store *st)
{
    return st->db;
}

int store_schema_latest(void)
{
    return store_migrations[store_migration_count - 1].version;
}

/* --- messages ------------------------------------------------------------ */

static enum store_rc check_idempotency(struct store *st, const struct store_new_message *m,
                                       int64_t *id, char *err, size_t size)
{
    sqlite3_stmt *s = store_stmt(st, ST_FIND_IDEM);
    sqlite3_bind_text(s, 1, m->idempotency_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    if (rc != SQLITE_ROW)
        return store_fail(st, err, size, "cannot look up the idempotency key");
    *id = sqlite3_column_int64(s, 0);
    bool same = strcmp((const char *)sqlite3_column_text(s, 1), m->to) == 0 &&
                strcmp((const char *)sqlite3_column_text(s, 2), m->body) == 0 &&
                strcmp((const char *)sqlite3_column_text(s, 3), m->from ? m->from : "") == 0;
    if (same)
        return STORE_DUPLICATE;
    snprintf(err, size, "idempotency key '%s' was already used for message %lld with a "
             "different recipient, sender or text", m->idempotency_key, (long long)*id);
    return STORE_CONFLICT;
}

enum store_rc store_insert_message(struct store *st, const struct store_new_message *m,
                                    int64_t now, int64_t *id, char *err, size_t size)
{
    sqlite3_stmt *s = store_stmt(st, ST_INSERT_MSG);
    sqlite3_bind_text(s, 1, m->to, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 2, m->from);
    sqlite3_bind_text(s, 3, m->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, m->encoding, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, m->segments);
    store_bind_text_or_null(s, 6, m->route);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, m->expires_at);
    store_bind_text_or_null(s, 9, m->idempotency_key);
    sqlite3_bind_text(s, 10, m->source, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 11, m->dlr_url);
    sqlite3_bind_int(s, 12, m->dlr_mask);
    if (m->campaign) {
        sqlite3_bind_text(s, 13, m->campaign, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 14, m->step);
        sqlite3_bind_int64(s, 15, m->enrollment_id);
        store_bind_text_or_null(s, 16, m->variant);
    }
    if (sqlite3_step(s) != SQLITE_DONE)
        return store_fail(st, err, size, "cannot insert the message");
    *id = sqlite3_last_insert_rowid(st->db);
    return STORE_OK;
}

static enum store_rc enqueue_one(struct store *st, const struct store_new_message *m,
                                 int64_t now, struct store_enqueue_result *r)
{
    enum store_rc rc = STORE_NOT_FOUND;
    r->error[0] = '\0';
    if (m->idempotency_key)
        rc = check_idempotency(st, m, &r->id, r->error, sizeof r->error);
    if (rc == STORE_NOT_FOUND)
        rc = store_insert_message(st, m, now, &r->id, r->error, sizeof r->error);
    r->rc = rc;
    return rc;
}

static enum store_rc enqueue_batch_statements(struct store *st, const struct store_new_message *msgs,
                                              size_t n, int64_t now,
                                              struct store_enqueue_result *res,
                                              char *err, size_t err_size)
{
    if (!store_exec(st, "BEGIN IMMEDIATE"))
        return store_fail(st, err, err_size, "cannot start a transaction");
    for (size_t i = 0; i < n; i++) {
        if (enqueue_one(st, &msgs[i], now, &res[i]) == STORE_ERROR) {
            snprintf(err, err_size, "%s", res[i].error);
            store_rollback(st);
            return STORE_ERROR;
        }
    }
    if (store_exec(st, "COMMIT"))
        return STORE_OK;
    store_fail(st, err, err_size, "cannot commit the messages");
    store_rollback(st);
    return STORE_ERROR;
}

static enum store_rc expire_due_statements(struct store *st, int64_t now, int64_t *n,
                                           char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_EXPIRE);
    sqlite3_bind_int64(s, 1, now);
    if (sqlite3_step(s) != SQLITE_DONE)
        return store_fail(st, err, err_size, "cannot expire messages");
    *n = sqlite3_changes(st->db);
    return STORE_OK;
}

/* A part's result to write, with the one-part plan of its message when they go together. */
struct part_write {
    int64_t msg_id;
    const struct store_part_update *part;
    const struct store_update *plan;   /* NULL, or a PLAN with n_parts 1 */
    bool has_dlr;                      /* out: the message has a dlr-url */
};

/*
 * `plan`: NULL, or a one-part plan of the same message written with this
 * result. Returns sqlite's step result.
 */
static int upsert_part(struct store *st, int64_t msg_id, const struct store_part_update *u,
                        const struct store_update *plan, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, ST_UPSERT_PART);
    if (plan)
        sqlite3_bind_text(s, 10, plan->route, -1, SQLITE_STATIC);
    bool final = u->state == PART_DELIVERED || u->state == PART_UNDELIVERED ||
                 u->state == PART_FAILED;
    sqlite3_bind_int64(s, 1, msg_id);
    sqlite3_bind_int(s, 2, u->index);
    store_bind_text_or_null(s, 3, u->route);
    store_bind_text_or_null(s, 4, u->ref);
    sqlite3_bind_text(s, 5, store_part_state_name(u->state), -1, SQLITE_STATIC);
    if (u->state == PART_SUBMITTED)
        sqlite3_bind_int64(s, 6, now);
    if (u->receipt)
        sqlite3_bind_text(s, 7, u->receipt, -1, SQLITE_STATIC);
    else if (u->state == PART_DELIVERED || u->state == PART_UNDELIVERED)
        sqlite3_bind_text(s, 7, store_part_state_name(u->state), -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 8, u->error);
    if (final)
        sqlite3_bind_int64(s, 9, now);
    return sqlite3_step(s);
}

/*
 * Reads the message's state with its parts' and writes the state they imply
 * (and `plan`'s route) onto it. False with *found false: no such message.
 */
static bool rederive(struct store *st, struct part_write *w, bool *found, int64_t now)
{
    enum part_state states[256];
    size_t n = 0;
    enum msg_state current = MSG_QUEUED;
    sqlite3_stmt *s = store_stmt(st, ST_MSG_PART_STATES);
    sqlite3_bind_int64(s, 1, w->msg_id);
    int rc;
    for (*found = false; (rc = sqlite3_step(s)) == SQLITE_ROW; *found = true) {
        if (!*found) {
            store_msg_state_parse((const char *)sqlite3_column_text(s, 0), &current);
            w->has_dlr = sqlite3_column_int(s, 1) != 0;
        }
        if (sqlite3_column_type(s, 2) != SQLITE_NULL && n < sizeof states / sizeof states[0])
            states[n++] = store_part_state_parse((const char *)sqlite3_column_text(s, 2));
    }
    if (rc != SQLITE_DONE || !*found)
        return false;
    enum msg_state next = store_derive_state(states, n, current);
    sqlite3_stmt *u = store_stmt(st, ST_SET_MSG_STATE);
    sqlite3_bind_int64(u, 1, w->msg_id);
    sqlite3_bind_text(u, 2, store_msg_state_name(next), -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 3, now);
    sqlite3_bind_int(u, 4, next != MSG_QUEUED && next != MSG_SENDING && next != MSG_FAILED);
    store_bind_text_or_null(u, 5, w->part->error);
    if (w->plan) {
        sqlite3_bind_text(u, 6, w->plan->route, -1, SQLITE_STATIC);
        sqlite3_bind_int(u, 7, w->plan->n_parts);
    }
    return sqlite3_step(u) == SQLITE_DONE;
}

/*
 * One part's update and its message's new state, inside the caller's
 * transaction. The part is written first: with foreign keys on (store_open),
 * a part of a message that does not exist is refused, and no row is left.
 */
static enum store_rc record_part_rows(struct store *st, struct part_write *w, int64_t now,
                                      char *err, size_t err_size)
{
    bool found = true;
    int rc = upsert_part(st, w->msg_id, w->part, w->plan, now);
    if (rc == SQLITE_CONSTRAINT && sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
        found = false;
    else if (rc == SQLITE_DONE && rederive(st, w, &found, now))
        return STORE_OK;
    if (found)
        return store_fail(st, err, err_size, "cannot record the part");
    snprintf(err, err_size, "no message with id %lld", (long long)w->msg_id);
    return STORE_NOT_FOUND;
}

static struct store_message *row_to_message(sqlite3_stmt *s)
{
    struct store_message *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->id = sqlite3_column_int64(s, 0);
    m->to = store_column_dup(s, 1);
    m->from = store_column_dup(s, 2);
    m->body = store_column_dup(s, 3);
    m->encoding = store_column_dup(s, 4);
    m->segments = sqlite3_column_int(s, 5);
    m->route = store_column_dup(s, 6);
    store_msg_state_parse((const char *)sqlite3_column_text(s, 7), &m->state);
    m->attempts = sqlite3_column_int(s, 8);
    m->source = store_column_dup(s, 9);
    m->last_error = store_column_dup(s, 10);
    m->campaign = store_column_dup(s, 11);
    m->step = sqlite3_column_int(s, 12);
    m->created_at = sqlite3_column_int64(s, 13);
    m->updated_at = sqlite3_column_int64(s, 14);
    m->sent_at = sqlite3_column_int64(s, 15);
    m->expires_at = sqlite3_column_int64(s, 16);
    m->route_forced = store_column_dup(s, 17);
    m->dlr_url = store_column_dup(s, 18);
    m->dlr_mask = sqlite3_column_int(s, 19);
    return m;
}

/* Appends the part in columns col.. of s (part_index, state, ref, dlr_state, dlr_error, submitted_at, done_at). */
static void add_part(struct store_message *m, sqlite3_stmt *s, int col)
{
    struct store_part *grown = realloc(m->parts, (m->n_parts + 1) * sizeof *grown);
    if (!grown)
        abort();
    m->parts = grown;
    struct store_part *p = &m->parts[m->n_parts++];
    p->index = sqlite3_column_int(s, col);
    p->state = store_part_state_parse((const char *)sqlite3_column_text(s, col + 1));
    p->ref = store_column_dup(s, col + 2);
    p->receipt = store_column_dup(s, sqlite3_column_type(s, col + 3) != SQLITE_NULL ? col + 3
                                                                                 : col + 4);
    p->submitted_at = sqlite3_column_int64(s, col + 5);
    p->done_at = sqlite3_column_int64(s, col + 6);
}

static bool read_parts(struct store *st, struct store_message *m)
{
    sqlite3_stmt *s = store_stmt(st, ST_GET_PARTS);
    sqlite3_bind_int64(s, 1, m->id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        add_part(m, s, 0);
    return rc == SQLITE_DONE;
}

/* The ids as a JSON array, for json_each(): one statement serves any batch size. */
/* Writes v in decimal at p; returns the end. */
static char *put_int(char *p, int64_t v)
{
    char digits[20];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* Written by hand: snprintf per id was a visible share of a claim. */
static char *ids_json(const int64_t *ids, size_t n)
{
    size_t cap = 3 + n * 21; /* "[", up to 20 characters and a comma each, "]", NUL */
    char *text = malloc(cap), *p = text;
    if (!text)
        abort();
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        p = put_int(p, ids[i]);
    }
    *p++ = ']';
    *p = '\0';
    return text;
}

/* A claimed row, with the due time it was claimed at (for the order). */
struct claimed {
    struct store_message *m;
    int64_t due;
};

static int by_due(const void *a, const void *b)
{
    const struct claimed *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->m->id < y->m->id ? -1 : x->m->id > y->m->id;
}

/* Marks the due messages sending and reads them back, in order of due time. */
static bool claim_rows(struct store *st, int64_t now, struct store_message **out, size_t max,
                       size_t *n)
{
    struct claimed rows[STORE_CLAIM_MAX];
    sqlite3_stmt *s = store_stmt(st, ST_CLAIM);
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        rows[*n].m = row_to_message(s);
        rows[(*n)++].due = sqlite3_column_int64(s, 20);
    }
    qsort(rows, *n, sizeof rows[0], by_due);
    for (size_t i = 0; i < *n; i++)
        out[i] = rows[i].m;
    return rc == SQLITE_DONE;
}

static struct store_message *find_claimed(struct store_message **msgs, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (msgs[i]->id == id)
            return msgs[i];
    return NULL;
}

/* The opt-outs of the claimed messages' recipients, one query for all. */
static bool claim_optouts(struct store *st, struct store_message **msgs, size_t n,
                          const char *json)
{
    sqlite3_stmt *s = store_stmt(st, ST_OPTOUTS_OF_MSGS);
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_message *m = find_claimed(msgs, n, sqlite3_column_int64(s, 0));
        if (m && !m->optout_keyword)
            m->optout_keyword = store_column_dup(s, 1);
    }
    sqlite3_reset(s); /* before json goes */
    return rc == SQLITE_DONE;
}

/*
 * The parts of the claimed messages (those sent on an earlier attempt) and
 * their recipients' opt-outs: one query each for the batch.
 */
static bool claim_parts(struct store *st, struct store_message **msgs, size_t n)
{
    int64_t ids[STORE_CLAIM_MAX];
    for (size_t i = 0; i < n; i++)
        ids[i] = msgs[i]->id;
    char *json = ids_json(ids, n);
    sqlite3_stmt *s = store_stmt(st, ST_PARTS_OF_MSGS);
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_message *m = find_claimed(msgs, n, sqlite3_column_int64(s, 0));
        if (m)
            add_part(m, s, 1);
    }
    sqlite3_reset(s); /* before json goes */
    bool ok = rc == SQLITE_DONE && claim_optouts(st, msgs, n, json);
    free(json);
    return ok;
}

static enum store_rc claim_statements(struct store *st, int64_t now, struct store_message **out,
                                      size_t max, size_t *n, char *err, size_t err_size)
{
    *n = 0;
    if (max > STORE_CLAIM_MAX)
        max = STORE_CLAIM_MAX;
    if (!store_step_done(st, ST_BEGIN))
        return store_fail(st, err, err_size, "cannot start a transaction");
    bool ok = claim_rows(st, now, out, max, n) && (*n == 0 || claim_parts(st, out, *n));
    if (ok && store_step_done(st, ST_COMMIT))
        return STORE_OK;
    store_fail(st, err, err_size, "cannot claim due messages");
    store_rollback(st);
    for (size_t i = 0; i < *n; i++)
        store_message_free(out[i]);
    *n = 0;
    return STORE_ERROR;
}

static enum store_rc message_get_statements(struct store *st, int64_t id, struct store_message **out,
                                char *err, size_t err_size)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(st, ST_GET_MSG);
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        snprintf(err, err_size, "no message with id %lld", (long long)id);
        return STORE_NOT_FOUND;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, err, err_size, "cannot read the message");
    struct store_message *m = row_to_message(s);
    if (!read_parts(st, m)) {
        store_message_free(m);
        return store_fail(st, err, err_size, "cannot read the message's parts");
    }
    *out = m;
    return STORE_OK;
}

void store_message_free(struct store_message *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_parts; i++) {
        free(m->parts[i].ref);
        free(m->parts[i].receipt);
    }
    free(m->parts);
    free(m->to);
    free(m->from);
    free(m->body);
    free(m->encoding);
    free(m->route);
    free(m->source);
    free(m->last_error);
    free(m->campaign);
    free(m->route_forced);
    free(m->dlr_url);
    free(m->optout_keyword);
    free(m);
}

static enum store_rc messages_list_statements(struct store *st, const struct store_filter *f,
                                  void (*fn)(const struct store_message *m, void *arg), void *arg,
                                  char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_LIST_MSGS);
    if (f->has_state)
        sqlite3_bind_text(s, 1, store_msg_state_name(f->state), -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 2, f->to);
    sqlite3_bind_int(s, 3, f->limit > 0 ? f->limit : 100);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_message *m = row_to_message(s);
        fn(m, arg);
        store_message_free(m);
    }
    if (rc != SQLITE_DONE)
        return store_fail(st, err, err_size, "cannot list messages");
    return STORE_OK;
}

static enum store_rc count_by_state_statements(struct store *st, int64_t counts[MSG_STATE_COUNT],
                                   char *err, size_t err_size)
{
    memset(counts, 0, sizeof(int64_t) * MSG_STATE_COUNT);
    sqlite3_stmt *s = store_stmt(st, ST_COUNT_STATES);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum msg_state state;
        if (store_msg_state_parse((const char *)sqlite3_column_text(s, 0), &state))
            counts[state] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE)
        return store_fail(st, err, err_size, "cannot count messages");
    return STORE_OK;
}

enum store_rc store_enqueue(struct store *st, const struct store_new_message *m, int64_t now,
                            int64_t *id, char *err, size_t err_size)
{
    struct store_enqueue_result r;
    enum store_rc rc = enqueue_batch_statements(st, m, 1, now, &r, err, err_size);
    store_release(st);
    if (rc != STORE_OK)
        return rc;
    *id = r.id;
    if (r.rc == STORE_CONFLICT)
        snprintf(err, err_size, "%s", r.error);
    return r.rc;
}

/*
 * A group commit that does not wait for the disk (the syncer syncs it), and
 * with `busy` set, not for the write lock either: when another connection
 * holds it, *busy says so and nothing is written.
 */
static enum store_rc enqueue_unsynced(struct store *st, const struct store_new_message *msgs,
                                      size_t n, int64_t now, struct store_enqueue_result *res,
                                      bool *busy, char *err, size_t err_size)
{
    int timeout_ms = st->busy_timeout_ms;
    if (busy)
        st->busy_timeout_ms = 0; /* BEGIN IMMEDIATE fails at once when the lock is held */
    st->skip_sync = true;
    enum store_rc rc = enqueue_batch_statements(st, msgs, n, now, res, err, err_size);
    st->skip_sync = false;
    st->busy_timeout_ms = timeout_ms;
    if (busy)
        *busy = rc == STORE_ERROR && sqlite3_get_autocommit(st->db) &&
                (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY;
    store_release(st);
    return rc;
}

enum store_rc store_try_enqueue_batch_unsynced(struct store *st,
                                               const struct store_new_message *msgs, size_t n,
                                               int64_t now, struct store_enqueue_result *res,
                                               bool *busy, char *err, size_t err_size)
{
    return enqueue_unsynced(st, msgs, n, now, res, busy, err, err_size);
}

enum store_rc store_enqueue_batch_unsynced(struct store *st, const struct store_new_message *msgs,
                                           size_t n, int64_t now,
                                           struct store_enqueue_result *res, char *err,
                                           size_t err_size)
{
    return enqueue_unsynced(st, msgs, n, now, res, NULL, err, err_size);
}

enum store_rc store_optout_find(struct store *st, const char *recipient, char *kw,
                                size_t kw_size, int64_t *at, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_OPTOUT_FIND);
    sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    enum store_rc out = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        snprintf(kw, kw_size, "%s", (const char *)sqlite3_column_text(s, 0));
        *at = sqlite3_column_int64(s, 1);
        out = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out = store_fail(st, err, err_size, "cannot read the opt-outs");
    }
    store_release(st);
    return out;
}

enum store_rc store_claim(struct store *st, int64_t now, struct store_message **out, size_t max,
                          size_t *n, char *err, size_t err_size)
{
    /*
     * The claim commits without waiting for the disk. A claim lost to a
     * crash leaves its messages `queued`, and they are sent again, just as a
     * durable claim's `sending` messages are resubmitted at the next start;
     * the next synced commit (the parts' results, an acceptance) syncs the
     * WAL, this claim included.
     */
    *n = 0;
    st->skip_sync = true;
    enum store_rc rc = claim_statements(st, now, out, max, n, err, err_size);
    st->skip_sync = false;
    store_release(st);
    return rc;
}

enum store_rc store_claim_due(struct store *st, int64_t now, int64_t *ids, size_t max,
                              size_t *n, char *err, size_t err_size)
{
    struct store_message *msgs[STORE_CLAIM_MAX];
    enum store_rc rc = store_claim(st, now, msgs, max, n, err, err_size);
    for (size_t i = 0; i < *n; i++) {
        ids[i] = msgs[i]->id;
        store_message_free(msgs[i]);
    }
    return rc;
}

enum store_rc store_message_get(struct store *st, int64_t id, struct store_message **out,
                                char *err, size_t err_size)
{
    enum store_rc rc = message_get_statements(st, id, out, err, err_size);
    store_release(st);
    return rc;
}

enum store_rc store_messages_list(struct store *st, const struct store_filter *f,
                                  void (*fn)(const struct store_message *m, void *arg), void *arg,
                                  char *err, size_t err_size)
{
    enum store_rc rc = messages_list_statements(st, f, fn, arg, err, err_size);
    store_release(st);
    return rc;
}

enum store_rc store_count_by_state(struct store *st, int64_t counts[MSG_STATE_COUNT],
                                   char *err, size_t err_size)
{
    enum store_rc rc = count_by_state_statements(st, counts, err, err_size);
    store_release(st);
    return rc;
}

enum store_rc store_expire_due(struct store *st, int64_t now, int64_t *n,
                               char *err, size_t err_size)
{
    enum store_rc rc = expire_due_statements(st, now, n, err, err_size);
    store_release(st);
    return rc;
}

enum store_rc store_clock_write(struct store *st, const struct store_clock *c,
                                char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_CLOCK_WRITE);
    sqlite3_bind_int64(s, 1, c->virtual_ms);
    sqlite3_bind_double(s, 2, c->scale);
    sqlite3_bind_int64(s, 3, c->wall_ms);
    enum store_rc rc = sqlite3_step(s) == SQLITE_DONE ? STORE_OK
                                                      : store_fail(st, err, err_size, "cannot write the clock");
    store_release(st);
    return rc;
}

enum store_rc store_clock_clear(struct store *st, char *err, size_t err_size)
{
    enum store_rc rc = sqlite3_step(store_stmt(st, ST_CLOCK_CLEAR)) == SQLITE_DONE
                           ? STORE_OK : store_fail(st, err, err_size, "cannot clear the clock");
    store_release(st);
    return rc;
}

enum store_rc store_clock_read(struct store *st, struct store_clock *c, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_CLOCK_READ);
    int step = sqlite3_step(s);
    enum store_rc rc = STORE_NOT_FOUND;
    if (step == SQLITE_ROW) {
        c->virtual_ms = sqlite3_column_int64(s, 0);
        c->scale = sqlite3_column_double(s, 1);
        c->wall_ms = sqlite3_column_int64(s, 2);
        rc = STORE_OK;
    } else if (step != SQLITE_DONE) {
        rc = store_fail(st, err, err_size, "cannot read the clock");
    }
    store_release(st);
    return rc;
}

/* --- dispatch support ------------------------------------------------------ */

static bool plan_parts_rows(struct store *st, int64_t msg_id, int n, const char *route,
                            int64_t now)
{
    bool ok = true;
    for (int i = 0; ok && i < n; i++) {
        sqlite3_stmt *s = store_stmt(st, ST_PLAN_PART);
        sqlite3_bind_int64(s, 1, msg_id);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, route, -1, SQLITE_STATIC);
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    sqlite3_stmt *u = store_stmt(st, ST_PLAN_MSG);
    sqlite3_bind_int64(u, 1, msg_id);
    sqlite3_bind_text(u, 2, route, -1, SQLITE_STATIC);
    sqlite3_bind_int(u, 3, n);
    sqlite3_bind_int64(u, 4, now);
    return ok && sqlite3_step(u) == SQLITE_DONE;
}

/* Group commit of drivers' reports: see store_apply() in store.h. */
/*
 * Where the result of part 0 of a one-part plan u[i] is in the batch (the
 * next report about its message), or n: the two are then written together,
 * saving the plan's own insert and update (the final rows are the same).
 */
static size_t joins_plan(const struct store_update *u, size_t n, size_t i)
{
    if (u[i].kind != STORE_UPDATE_PLAN || u[i].n_parts != 1)
        return n;
    for (size_t j = i + 1; j < n; j++)
        if (u[j].msg_id == u[i].msg_id)
            return u[j].kind == STORE_UPDATE_PART && u[j].part.index == 0 ? j : n;
    return n;
}

/* Plan u[i] and the result u[j] of its one part, as one write. */
static enum store_rc plan_with_part(struct store *st, const struct store_update *u, size_t i,
                                    size_t j, int64_t now, bool *has_dlr, char *err,
                                    size_t err_size)
{
    struct part_write w = { .msg_id = u[j].msg_id, .part = &u[j].part, .plan = &u[i] };
    enum store_rc rc = record_part_rows(st, &w, now, err, err_size);
    if (has_dlr)
        has_dlr[j] = w.has_dlr;
    if (rc != STORE_NOT_FOUND)
        return rc;
    /* No such message: the plan alone decides, as when written apart (its insert fails). */
    return plan_parts_rows(st, u[i].msg_id, 1, u[i].route, now)
               ? STORE_OK : store_fail(st, err, err_size, "cannot record the parts");
}

/* The reports' rows, inside the caller's transaction. */
static enum store_rc apply_rows(struct store *st, const struct store_update *u, size_t n,
                                int64_t now, bool *has_dlr, char *err, size_t err_size)
{
    bool *joined = calloc(n ? n : 1, sizeof *joined);
    if (!joined)
        abort();
    enum store_rc rc = STORE_OK;
    for (size_t i = 0; rc != STORE_ERROR && i < n; i++) {
        size_t j = joins_plan(u, n, i);
        struct part_write w = { .msg_id = u[i].msg_id, .part = &u[i].part };
        if (joined[i])
            continue;
        if (j < n) {
            joined[j] = true;
            rc = plan_with_part(st, u, i, j, now, has_dlr, err, err_size);
        } else if (u[i].kind == STORE_UPDATE_PLAN) {
            rc = plan_parts_rows(st, u[i].msg_id, u[i].n_parts, u[i].route, now)
                     ? STORE_OK : store_fail(st, err, err_size, "cannot record the parts");
        } else {
            rc = record_part_rows(st, &w, now, err, err_size);
        }
        if (has_dlr && !joined[i])
            has_dlr[i] = w.has_dlr;
    }
    free(joined);
    return rc == STORE_ERROR ? rc : STORE_OK;
}

/* Reports, then (max > 0) a claim, in one transaction. */
static enum store_rc apply_claim_statements(struct store *st, struct store_apply_claim *ac,
                                            int64_t now, char *err, size_t err_size)
{
    ac->n_claimed = 0;
    if (!store_step_done(st, ST_BEGIN))
        return store_fail(st, err, err_size, "cannot start a transaction");
    enum store_rc rc = apply_rows(st, ac->u, ac->n, now, ac->has_dlr, err, err_size);
    size_t max = ac->max < STORE_CLAIM_MAX ? ac->max : STORE_CLAIM_MAX;
    if (rc == STORE_OK && max > 0 &&
        !(claim_rows(st, now, ac->claimed, max, &ac->n_claimed) &&
          (ac->n_claimed == 0 || claim_parts(st, ac->claimed, ac->n_claimed))))
        rc = store_fail(st, err, err_size, "cannot claim due messages");
    if (rc == STORE_OK && store_step_done(st, ST_COMMIT))
        return STORE_OK;
    if (rc == STORE_OK)
        rc = store_fail(st, err, err_size, "cannot commit the reports");
    store_rollback(st);
    for (size_t i = 0; i < ac->n_claimed; i++)
        store_message_free(ac->claimed[i]);
    ac->n_claimed = 0;
    return rc;
}

enum store_rc store_apply(struct store *st, const struct store_update *u, size_t n, int64_t now,
                          bool *has_dlr, char *err, size_t err_size)
{
    struct store_apply_claim ac = { .u = u, .n = n, .has_dlr = has_dlr };
    return n ? store_apply_claim(st, &ac, now, err, err_size) : STORE_OK;
}

/* Reports commit unsynced when another thread syncs them (store_defer_report_syncs()). */
enum store_rc store_apply_claim(struct store *st, struct store_apply_claim *ac, int64_t now,
                                char *err, size_t err_size)
{
    st->skip_sync = st->defer_sync != NULL;
    enum store_rc rc = apply_claim_statements(st, ac, now, err, err_size);
    st->skip_sync = false;
    store_release(st);
    if (rc == STORE_OK && ac->n && st->defer_sync)
        st->defer_sync(st->defer_arg);
    return rc;
}

static enum store_rc requeue_statements(struct store *st, int64_t msg_id, int64_t next_at,
                                        const char *error, bool count_attempt, int max_attempts,
                                        int64_t now, enum msg_state *state_out,
                                        char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_ATTEMPTS);
    sqlite3_bind_int64(s, 1, msg_id);
    if (sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, err_size, "no message with id %lld", (long long)msg_id);
        return STORE_NOT_FOUND;
    }
    int attempts = sqlite3_column_int(s, 0) + (count_attempt ? 1 : 0);
    const char *optout = (const char *)sqlite3_column_text(s, 1);
    enum msg_state state = count_attempt && attempts >= max_attempts ? MSG_FAILED : MSG_QUEUED;
    char reason[600];
    if (optout) {
        /* Given back unsent after its recipient opted out: it never goes. */
        state = MSG_SUPPRESSED;
        snprintf(reason, sizeof reason, "recipient opted out (%s) while it waited to be sent",
                 optout);
    } else if (state == MSG_FAILED) {
        snprintf(reason, sizeof reason, "gave up after %d attempts: %s", attempts,
                 error ? error : "temporary errors");
    }
    sqlite3_stmt *u = store_stmt(st, ST_REQUEUE);
    sqlite3_bind_int64(u, 1, msg_id);
    sqlite3_bind_text(u, 2, store_msg_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 3, next_at);
    sqlite3_bind_int(u, 4, attempts);
    store_bind_text_or_null(u, 5, state == MSG_QUEUED ? error : reason);
    sqlite3_bind_int64(u, 6, now);
    if (sqlite3_step(u) != SQLITE_DONE)
        return store_fail(st, err, err_size, "cannot requeue the message");
    if (state_out)
        *state_out = state;
    return STORE_OK;
}

enum store_rc store_requeue(struct store *st, int64_t msg_id, int64_t next_at, const char *error,
                            bool count_attempt, int max_attempts, int64_t now,
                            enum msg_state *state_out, char *err, size_t err_size)
{
    enum store_rc rc = requeue_statements(st, msg_id, next_at, error, count_attempt,
                                          max_attempts, now, state_out, err, err_size);
    store_release(st);
    return rc;
}

enum store_rc store_find_part(struct store *st, const char *route, const char *ref,
                              const char *recipient, int64_t since, int64_t *msg_id, int *index,
                              char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_FIND_PART);
    sqlite3_bind_text(s, 1, route, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ref, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 3, recipient);
    sqlite3_bind_int64(s, 4, since);
    int rc = sqlite3_step(s);
    enum store_rc out = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        *msg_id = sqlite3_column_int64(s, 0);
        *index = sqlite3_column_int(s, 1);
        out = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out = store_fail(st, err, err_size, "cannot look up the part");
    } else {
        snprintf(err, err_size, "no part sent by %s with reference %s", route, ref);
    }
    store_release(st);
    return out;
}

enum store_rc store_recover(struct store *st, int64_t now, int64_t *n, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_RECOVER);
    sqlite3_bind_int64(s, 1, now);
    enum store_rc rc = STORE_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_fail(st, err, err_size, "cannot requeue interrupted messages");
    else
        *n = sqlite3_changes(st->db);
    store_release(st);
    return rc;
}

/* --- driver status ---------------------------------------------------------- */

static bool put_status(struct store *st, const struct store_driver_status *r, int64_t now)
{
    sqlite3_stmt *s = store_stmt(st, ST_STATUS_PUT);
    sqlite3_bind_text(s, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, r->up);
    sqlite3_bind_text(s, 4, r->state ? r->state : "", -1, SQLITE_STATIC);
    if (r->signal_dbm)
        sqlite3_bind_int(s, 5, r->signal_dbm);
    store_bind_text_or_null(s, 6, r->registration);
    store_bind_text_or_null(s, 7, r->operator_name && *r->operator_name ? r->operator_name : NULL);
    sqlite3_bind_int(s, 8, r->in_flight);
    sqlite3_bind_int64(s, 9, now);
    return sqlite3_step(s) == SQLITE_DONE;
}

enum store_rc store_driver_status_write(struct store *st, const struct store_driver_status *rows,
                                        size_t n, int64_t wall_now, char *err, size_t err_size)
{
    bool ok = store_exec(st, "BEGIN IMMEDIATE") && sqlite3_step(store_stmt(st, ST_STATUS_CLEAR)) == SQLITE_DONE;
    for (size_t i = 0; ok && i < n; i++)
        ok = put_status(st, &rows[i], wall_now);
    ok = ok && store_exec(st, "COMMIT");
    enum store_rc rc = STORE_OK;
    if (!ok) {
        rc = store_fail(st, err, err_size, "cannot write the driver status");
        store_rollback(st);
    }
    store_release(st);
    return rc;
}

enum store_rc store_driver_status_list(struct store *st,
                                       void (*fn)(const struct store_driver_status *row, void *arg),
                                       void *arg, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_STATUS_LIST);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_driver_status r = {
            .name = (const char *)sqlite3_column_text(s, 0),
            .kind = (const char *)sqlite3_column_text(s, 1),
            .up = sqlite3_column_int(s, 2) != 0,
            .state = (const char *)sqlite3_column_text(s, 3),
            .signal_dbm = sqlite3_column_int(s, 4),
            .registration = (const char *)sqlite3_column_text(s, 5),
            .operator_name = (const char *)sqlite3_column_text(s, 6),
            .in_flight = sqlite3_column_int(s, 7),
            .updated_at = sqlite3_column_int64(s, 8),
        };
        fn(&r, arg);
    }
    enum store_rc out = rc == SQLITE_DONE ? STORE_OK : store_fail(st, err, err_size, "cannot read the driver status");
    store_release(st);
    return out;
}

enum store_rc store_part_counts(struct store *st, int64_t counts[PART_STATE_COUNT],
                                int64_t *oldest_queued, char *err, size_t err_size)
{
    memset(counts, 0, sizeof(int64_t) * PART_STATE_COUNT);
    sqlite3_stmt *s = store_stmt(st, ST_PART_COUNTS);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        counts[store_part_state_parse((const char *)sqlite3_column_text(s, 0))] += sqlite3_column_int64(s, 1);
    sqlite3_stmt *o = store_stmt(st, ST_OLDEST_QUEUED);
    bool ok = rc == SQLITE_DONE && sqlite3_step(o) == SQLITE_ROW;
    if (ok)
        *oldest_queued = sqlite3_column_int64(o, 0);
    enum store_rc out = ok ? STORE_OK : store_fail(st, err, err_size, "cannot count parts");
    store_release(st);
    return out;
}

enum store_rc store_suppress(struct store *st, int64_t msg_id, const char *why, int64_t now,
                             char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_SUPPRESS);
    sqlite3_bind_int64(s, 1, msg_id);
    sqlite3_bind_text(s, 2, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    enum store_rc rc = sqlite3_step(s) == SQLITE_DONE ? STORE_OK
                                                      : store_fail(st, err, err_size, "cannot suppress");
    store_release(st);
    return rc;
}


enum store_rc store_receipt_unmatched(struct store *st, const char *route, const char *ref,
                                      const char *recipient, const char *state,
                                      const char *detail, int64_t now, char *err, size_t err_size)
{
    sqlite3_stmt *s = store_stmt(st, ST_RECEIPT_UNMATCHED);
    sqlite3_bind_text(s, 1, route, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ref, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 3, recipient);
    sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
    store_bind_text_or_null(s, 5, detail);
    sqlite3_bind_int64(s, 6, now);
    enum store_rc rc = sqlite3_step(s) == SQLITE_DONE
                           ? STORE_OK : store_fail(st, err, err_size, "cannot keep the receipt");
    store_release(st);
    return rc;
}
