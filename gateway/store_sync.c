/*
 * store_sync: when a commit reaches the disk, how a connection waits for a
 * busy database, and which connection checkpoints.
 *
 * The connection runs synchronous=NORMAL, and sqlite's WAL hook, which runs
 * after a commit has released the write lock, syncs the WAL file before
 * COMMIT returns to our caller. A caller still learns "committed" only once
 * the commit is on disk, exactly as with synchronous=FULL (the same
 * fdatasync of the same file); what changes is that the write lock is free
 * while this connection waits for the disk, so the service's other
 * connection (the HTTP thread's, or the dispatcher's) writes meanwhile
 * instead of queueing behind an fsync. A claim skips the sync
 * (store_claim_due: a claim lost to a crash only sends again).
 *
 * The hook replaces sqlite's automatic checkpoint: once the WAL holds
 * CHECKPOINT_FRAMES pages, a connection runs a PASSIVE checkpoint itself, as
 * sqlite would, or tells its checkpointer (store_set_checkpointer: the
 * service's syncer checkpoints on a thread of its own).
 *
 * The busy handler waits for the write lock on a condition variable that
 * every commit or rollback of this process signals, so a connection waiting
 * for the service's other connection tries again the moment the lock is
 * free (sqlite's own handler sleeps a whole millisecond or more at the first
 * retry); a lock held by another process is tried again every millisecond.
 */
#include "gateway/store_priv.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define CHECKPOINT_FRAMES 4000

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Ends of write transactions in this process: the busy handler waits for the next one. */
static pthread_mutex_t released_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released;
static pthread_once_t released_once = PTHREAD_ONCE_INIT;
static uint64_t n_released;
static void (*release_listener)(void *arg); /* store_on_lock_released */
static void *release_listener_arg;

/* The wait times out on the monotonic clock: a step of the wall clock does not stretch it. */
static void released_init(void)
{
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&released, &monotonic);
    pthread_condattr_destroy(&monotonic);
}

static void lock_released(void)
{
    pthread_once(&released_once, released_init);
    pthread_mutex_lock(&released_mu);
    n_released++;
    pthread_cond_broadcast(&released);
    if (release_listener) /* under the mutex: it cannot be removed while it runs */
        release_listener(release_listener_arg);
    pthread_mutex_unlock(&released_mu);
}

void store_on_lock_released(void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&released_mu);
    release_listener = fn;
    release_listener_arg = arg;
    pthread_mutex_unlock(&released_mu);
}

static void on_rollback(void *arg)
{
    (void)arg;
    lock_released();
}

/* Waits until a write transaction of this process ends, or 1 ms. */
static void wait_for_release(uint64_t seen)
{
    pthread_once(&released_once, released_init);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&released_mu);
    while (n_released == seen &&
           pthread_cond_timedwait(&released, &released_mu, &until) == 0) {
    }
    pthread_mutex_unlock(&released_mu);
}

static int on_busy(void *arg, int count)
{
    struct store *st = arg;
    int64_t now = mono_us();
    if (count == 0) {
        st->busy_since_us = now;
        pthread_mutex_lock(&released_mu);
        st->busy_seen = n_released;
        pthread_mutex_unlock(&released_mu);
    }
    if (now - st->busy_since_us >= (int64_t)st->busy_timeout_ms * 1000)
        return 0;
    wait_for_release(st->busy_seen);
    pthread_mutex_lock(&released_mu);
    st->busy_seen = n_released;
    pthread_mutex_unlock(&released_mu);
    return 1;
}

static int sync_wal(sqlite3 *db, const char *schema)
{
    sqlite3_file *wal = NULL;
    int rc = sqlite3_file_control(db, schema, SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    if (rc != SQLITE_OK)
        return rc;
    if (!wal || !wal->pMethods)
        return SQLITE_IOERR_FSYNC;
    return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
    struct store *st = arg;
    lock_released();
    if (!st->skip_sync) {
        int rc = sync_wal(db, schema);
        if (rc != SQLITE_OK)
            return rc; /* COMMIT reports the error: nobody is told "accepted" */
    }
    if (frames >= CHECKPOINT_FRAMES && st->checkpointer)
        st->checkpointer(st->checkpointer_arg);
    else if (frames >= CHECKPOINT_FRAMES)
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

bool store_sync_configure(struct store *st)
{
    sqlite3_wal_hook(st->db, on_wal_commit, st);
    sqlite3_rollback_hook(st->db, on_rollback, st);
    return store_exec(st, "PRAGMA synchronous = NORMAL");
}

void store_set_busy_timeout(struct store *st, int ms)
{
    st->busy_timeout_ms = ms;
    sqlite3_busy_handler(st->db, on_busy, st);
}

void store_set_cache_kib(struct store *st, int kib)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", kib);
    store_exec(st, sql);
}

void store_set_checkpointer(struct store *st, void (*checkpointer)(void *arg), void *arg)
{
    st->checkpointer = checkpointer;
    st->checkpointer_arg = arg;
}

void store_defer_report_syncs(struct store *st, void (*sync)(void *arg), void *arg)
{
    st->defer_sync = sync;
    st->defer_arg = arg;
}

void store_checkpoint(struct store *st)
{
    sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}
