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
 * The hook replaces sqlite's automatic checkpoint: a connection that does
 * checkpoints (all, unless store_set_checkpoints() says otherwise) runs a
 * PASSIVE one once the WAL holds CHECKPOINT_FRAMES pages, as sqlite would.
 *
 * The busy handler waits in steps of tens of microseconds at first: the
 * other writer is usually a connection of this same process holding the
 * lock for well under a millisecond, and sqlite's own handler sleeps a whole
 * millisecond or more at the first retry.
 */
#include "gateway/store_priv.h"

#include <time.h>

#define CHECKPOINT_FRAMES 4000

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int on_busy(void *arg, int count)
{
    struct store *st = arg;
    int64_t now = mono_us();
    if (count == 0)
        st->busy_since_us = now;
    if (now - st->busy_since_us >= (int64_t)st->busy_timeout_ms * 1000)
        return 0;
    long ns = count < 50 ? 20000L : count < 100 ? 200000L : 1000000L;
    nanosleep(&(struct timespec){ 0, ns }, NULL);
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
    if (!st->skip_sync) {
        int rc = sync_wal(db, schema);
        if (rc != SQLITE_OK)
            return rc; /* COMMIT reports the error: nobody is told "accepted" */
    }
    if (st->checkpoints && frames >= CHECKPOINT_FRAMES)
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

bool store_sync_configure(struct store *st)
{
    st->checkpoints = true;
    sqlite3_wal_hook(st->db, on_wal_commit, st);
    return store_exec(st, "PRAGMA synchronous = NORMAL");
}

void store_set_busy_timeout(struct store *st, int ms)
{
    st->busy_timeout_ms = ms;
    sqlite3_busy_handler(st->db, on_busy, st);
}

void store_set_checkpoints(struct store *st, bool on)
{
    st->checkpoints = on;
}

void store_defer_report_syncs(struct store *st, void (*sync)(void *arg), void *arg)
{
    st->defer_sync = sync;
    st->defer_arg = arg;
}

bool store_sync_now(struct store *st)
{
    return sync_wal(st->db, "main") == SQLITE_OK;
}

void store_checkpoint(struct store *st)
{
    sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}
