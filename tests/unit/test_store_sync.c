/*
 * When the store's commits reach the disk (gateway/store_sync.c), on a real
 * sqlite file. This program defines fdatasync() itself, so sqlite's calls to
 * it land here (the executable's definition comes first in symbol lookup):
 * each call is counted, and at each one a second connection tries to take
 * the write lock, to show the sync happens after sqlite has released it.
 */
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gateway/store.h"
#include "gateway/syncer.h"
#include "tests/testutil.h"

static atomic_int syncs; /* the syncer's thread counts too */
static int syncs_with_lock_free;
static sqlite3 *probe; /* a second connection, tried at each sync */

int fdatasync(int fd)
{
    syncs++;
    if (probe && sqlite3_exec(probe, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL) == SQLITE_OK)
        syncs_with_lock_free++;
    return (int)syscall(SYS_fdatasync, fd);
}

static char db_path[700];
static char err[512];

static struct store *open_with_probe(void)
{
    snprintf(db_path, sizeof db_path, "%s/sync.db", testutil_tmpdir());
    struct store *st = store_open(db_path, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    ck_assert_int_eq(sqlite3_open(db_path, &probe), SQLITE_OK);
    sqlite3_busy_timeout(probe, 0); /* a held lock is a failure at once, not a wait */
    return st;
}

static void close_probe(struct store *st)
{
    store_close(st);
    sqlite3_close(probe);
    probe = NULL;
}

/* Messages in the store, read through the store's own connection. */
static int count_messages(struct store *st)
{
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st), "SELECT count(*) FROM messages", -1,
                                        &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

static int64_t enqueue_one(struct store *st)
{
    struct store_new_message m = { .to = "+353871234567", .body = "hi", .encoding = "gsm7",
                                   .segments = 1, .source = "test", .expires_at = 1000000 };
    int64_t id = 0;
    ck_assert_msg(store_enqueue(st, &m, 100, &id, err, sizeof err) == STORE_OK, "%s", err);
    return id;
}

START_TEST(an_acceptance_is_synced_after_the_lock_is_released)
{
    struct store *st = open_with_probe();
    syncs = syncs_with_lock_free = 0;
    enqueue_one(st);
    ck_assert_int_ge(syncs, 1);
    ck_assert_int_eq(syncs_with_lock_free, syncs);
    close_probe(st);
}
END_TEST

START_TEST(a_claim_is_not_synced)
{
    struct store *st = open_with_probe();
    enqueue_one(st);
    syncs = 0;
    int64_t ids[4];
    size_t n = 0;
    ck_assert_int_eq(store_claim_due(st, 200, ids, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq((int)n, 1);
    ck_assert_int_eq(syncs, 0);
    close_probe(st);
}
END_TEST

static int deferred;

static void count_deferred(void *arg)
{
    (void)arg;
    deferred++;
}

START_TEST(reports_sync_themselves_unless_deferred)
{
    bool has_dlr[1];
    struct store *st = open_with_probe();
    int64_t id = enqueue_one(st);
    struct store_update u = { .kind = STORE_UPDATE_PLAN, .msg_id = id, .n_parts = 1,
                              .route = "sim" };
    syncs = deferred = 0;
    ck_assert_int_eq(store_apply(st, &u, 1, 201, has_dlr, err, sizeof err), STORE_OK);
    ck_assert_int_ge(syncs, 1);

    store_defer_report_syncs(st, count_deferred, NULL);
    u = (struct store_update){ .kind = STORE_UPDATE_PART, .msg_id = id,
                               .part = { .index = 0, .state = PART_SUBMITTED, .ref = "1" } };
    syncs = 0;
    ck_assert_int_eq(store_apply(st, &u, 1, 202, has_dlr, err, sizeof err), STORE_OK);
    ck_assert_int_eq(syncs, 0);
    ck_assert_int_eq(deferred, 1);
    /* Committed all the same: another connection sees it. */
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(probe, "SELECT state FROM parts WHERE message_id = ?",
                                        -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_int64(s, 1, id);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "submitted");
    sqlite3_finalize(s);
    /* An acceptance meanwhile still syncs itself (and so the reports with it). */
    enqueue_one(st);
    ck_assert_int_ge(syncs, 1);
    ck_assert_int_eq(deferred, 1);
    close_probe(st);
}
END_TEST

static atomic_int callbacks;

static void count_callback(void *arg)
{
    (void)arg;
    atomic_fetch_add(&callbacks, 1);
}

START_TEST(the_syncer_makes_unsynced_commits_durable)
{
    struct store *st = open_with_probe();
    sqlite3_close(probe);
    probe = NULL; /* fdatasync is called from the syncer's thread: no probing there */
    struct syncer *sy = syncer_start(db_path, count_callback, NULL, err, sizeof err);
    ck_assert_msg(sy != NULL, "%s", err);
    struct store_new_message m = { .to = "+353871234567", .body = "hi", .encoding = "gsm7",
                                   .segments = 1, .source = "test", .expires_at = 1000000 };
    struct store_enqueue_result r;
    syncs = 0;
    ck_assert_int_eq(store_enqueue_batch_unsynced(st, &m, 1, 100, &r, err, sizeof err), STORE_OK);
    ck_assert_int_eq(syncs, 0); /* committed, not synced */
    uint64_t gen = syncer_request(sy);
    ck_assert_uint_ge(gen, 1);
    for (int i = 0; i < 2000 && syncer_synced(sy, NULL) < gen; i++)
        usleep(1000);
    bool failed = true;
    ck_assert_uint_ge(syncer_synced(sy, &failed), gen);
    ck_assert(!failed);
    ck_assert_int_ge(syncs, 1);
    ck_assert_int_ge(atomic_load(&callbacks), 1);
    /* A lazy request is synced within its 10 ms, nobody else asking. */
    int before = atomic_load(&syncs);
    uint64_t done = syncer_synced(sy, NULL);
    syncer_request_lazy(sy);
    for (int i = 0; i < 2000 && syncer_synced(sy, NULL) == done; i++)
        usleep(1000);
    ck_assert_uint_gt(syncer_synced(sy, NULL), done);
    ck_assert_int_gt(atomic_load(&syncs), before);
    /* Stopping syncs what was asked for and not yet done. */
    uint64_t last = syncer_request(sy);
    ck_assert_uint_gt(last, gen);
    syncer_stop(sy);
    store_close(st);
}
END_TEST

/* http_commit commits a batch while the ones before it still wait for the disk. */
START_TEST(a_wait_returns_once_the_generation_is_on_disk)
{
    snprintf(db_path, sizeof db_path, "%s/wait.db", testutil_tmpdir());
    struct store *st = store_open(db_path, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    struct syncer *sy = syncer_start(db_path, count_callback, NULL, err, sizeof err);
    ck_assert_msg(sy != NULL, "%s", err);
    struct store_new_message m = { .to = "+353871234567", .body = "hi", .encoding = "gsm7",
                                   .segments = 1, .source = "test", .expires_at = 1000000 };
    struct store_enqueue_result r;
    uint64_t gens[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(store_enqueue_batch_unsynced(st, &m, 1, 100, &r, err, sizeof err),
                         STORE_OK);
        gens[i] = syncer_request(sy);
    }
    ck_assert_uint_lt(gens[0], gens[1]);
    ck_assert_uint_lt(gens[1], gens[2]);
    bool failed = true;
    ck_assert_uint_ge(syncer_wait(sy, gens[2], &failed), gens[2]);
    ck_assert(!failed);
    ck_assert_uint_ge(syncer_synced(sy, NULL), gens[2]);
    /* A generation already on disk: no wait. */
    ck_assert_uint_ge(syncer_wait(sy, gens[0], NULL), gens[2]);
    syncer_stop(sy);
    store_close(st);
}
END_TEST

static atomic_int releases;

static void count_release(void *arg)
{
    (void)arg;
    atomic_fetch_add(&releases, 1);
}

/* The HTTP thread does not wait for the write lock: it tries again on its release. */
START_TEST(a_try_does_not_wait_for_the_lock)
{
    struct store *st = open_with_probe();
    struct store_new_message m = { .to = "+353871234567", .body = "hi", .encoding = "gsm7",
                                   .segments = 1, .source = "test", .expires_at = 1000000 };
    struct store_enqueue_result r;
    bool busy = false;
    store_on_lock_released(count_release, NULL);
    ck_assert_int_eq(sqlite3_exec(probe, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(store_try_enqueue_batch_unsynced(st, &m, 1, 100, &r, &busy, err, sizeof err),
                     STORE_ERROR);
    ck_assert(busy);
    ck_assert_int_eq(sqlite3_exec(probe, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    int before = atomic_load(&releases);
    ck_assert_msg(store_try_enqueue_batch_unsynced(st, &m, 1, 100, &r, &busy, err, sizeof err) ==
                  STORE_OK, "%s", err);
    ck_assert(!busy);
    ck_assert_int_gt(atomic_load(&releases), before); /* its own commit released the lock */
    ck_assert_int_eq(count_messages(st), 1);
    store_on_lock_released(NULL, NULL);
    before = atomic_load(&releases);
    enqueue_one(st);
    ck_assert_int_eq(atomic_load(&releases), before); /* no listener, no call */
    close_probe(st);
}
END_TEST

START_TEST(the_syncer_needs_the_wal)
{
    snprintf(db_path, sizeof db_path, "%s/none.db", testutil_tmpdir());
    ck_assert_ptr_null(syncer_start(db_path, count_callback, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "none.db-wal") != NULL, "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_sync");
    TCase *t = tcase_create("sync");
    tcase_add_test(t, an_acceptance_is_synced_after_the_lock_is_released);
    tcase_add_test(t, a_claim_is_not_synced);
    tcase_add_test(t, reports_sync_themselves_unless_deferred);
    tcase_add_test(t, the_syncer_makes_unsynced_commits_durable);
    tcase_add_test(t, a_wait_returns_once_the_generation_is_on_disk);
    tcase_add_test(t, a_try_does_not_wait_for_the_lock);
    tcase_add_test(t, the_syncer_needs_the_wal);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
