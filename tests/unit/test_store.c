/*
 * The store on a real sqlite file: migrations from empty, refusal of a newer
 * database, idempotency, visibility from a second connection, claiming due
 * messages, and state derivation from parts.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/store.h"
#include "tests/testutil.h"

static char db_path[700];
static char err[512];

static struct store *fresh_store(void)
{
    snprintf(db_path, sizeof db_path, "%s/sub/homing.db", testutil_tmpdir());
    struct store *st = store_open(db_path, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    return st;
}

static struct store_new_message msg(const char *to, const char *body)
{
    struct store_new_message m = { .to = to, .body = body, .encoding = "gsm7", .segments = 1,
                                   .source = "test", .expires_at = 1000000 };
    return m;
}

static int64_t enqueue(struct store *st, const struct store_new_message *m, int64_t now)
{
    int64_t id = 0;
    enum store_rc rc = store_enqueue(st, m, now, &id, err, sizeof err);
    ck_assert_msg(rc == STORE_OK, "enqueue: %s", err);
    return id;
}

/* One driver report, committed as the dispatcher commits a turn's (store_apply). */
static enum store_rc report_part(struct store *st, int64_t id, const struct store_part_update *p,
                                 int64_t now)
{
    struct store_update u = { .kind = STORE_UPDATE_PART, .msg_id = id, .part = *p };
    return store_apply(st, &u, 1, now, NULL, err, sizeof err);
}

static enum store_rc report_plan(struct store *st, int64_t id, int n, const char *route,
                                 int64_t now)
{
    struct store_update u = { .kind = STORE_UPDATE_PLAN, .msg_id = id, .n_parts = n,
                              .route = route };
    return store_apply(st, &u, 1, now, NULL, err, sizeof err);
}

static enum msg_state state_of(struct store *st, int64_t id)
{
    struct store_message *m;
    ck_assert_int_eq(store_message_get(st, id, &m, err, sizeof err), STORE_OK);
    enum msg_state s = m->state;
    store_message_free(m);
    return s;
}

START_TEST(migrates_an_empty_database)
{
    struct store *st = fresh_store();
    ck_assert_int_eq(store_schema_version(st), store_schema_latest());
    store_close(st);
    /* Reopening applies nothing new and keeps the data. */
    st = store_open(db_path, err, sizeof err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(store_schema_version(st), store_schema_latest());
    store_close(st);

    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = "
                     "'table' AND name IN ('messages', 'parts', 'inbound', 'optouts', 'contacts', "
                     "'campaigns', 'steps', 'enrollments', 'events', 'schema_version')", -1, &s,
                     NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(s, 0), 10);
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}
END_TEST

START_TEST(refuses_a_newer_database)
{
    store_close(fresh_store());
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 0)", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_ptr_null(store_open(db_path, err, sizeof err));
    ck_assert_msg(strstr(err, "schema version 999, newer than this homing") != NULL, "%s", err);
}
END_TEST

START_TEST(idempotency_key_returns_the_first_id)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "hello");
    m.idempotency_key = "order-42";
    int64_t first = enqueue(st, &m, 100), again = 0;
    ck_assert_int_eq(store_enqueue(st, &m, 101, &again, err, sizeof err), STORE_DUPLICATE);
    ck_assert_int_eq(again, first);
    m.body = "different";
    ck_assert_int_eq(store_enqueue(st, &m, 102, &again, err, sizeof err), STORE_CONFLICT);
    ck_assert_int_eq(again, first);
    ck_assert_ptr_nonnull(strstr(err, "order-42"));
    m.idempotency_key = NULL; /* no key: always a new message */
    ck_assert_int_ne(enqueue(st, &m, 103), enqueue(st, &m, 103));
    store_close(st);
}
END_TEST

START_TEST(committed_message_is_visible_to_a_second_connection)
{
    struct store *writer = fresh_store();
    /* The reader is open before the write, as the service is when the CLI sends. */
    struct store *reader = store_open(db_path, err, sizeof err);
    ck_assert_ptr_nonnull(reader);
    int64_t counts[MSG_STATE_COUNT];
    ck_assert_int_eq(store_count_by_state(reader, counts, err, sizeof err), STORE_OK);
    ck_assert_int_eq(counts[MSG_QUEUED], 0);

    struct store_new_message m = msg("+447700900123", "Hi € there");
    int64_t id = enqueue(writer, &m, 500);
    struct store_message *got;
    ck_assert_int_eq(store_message_get(reader, id, &got, err, sizeof err), STORE_OK);
    ck_assert_str_eq(got->to, "+447700900123");
    ck_assert_str_eq(got->body, "Hi € there");
    ck_assert_int_eq(got->state, MSG_QUEUED);
    ck_assert_int_eq(got->created_at, 500);
    store_message_free(got);
    ck_assert_int_eq(store_count_by_state(reader, counts, err, sizeof err), STORE_OK);
    ck_assert_int_eq(counts[MSG_QUEUED], 1);
    store_close(reader);
    store_close(writer);
}
END_TEST

START_TEST(claim_due_marks_sending_and_expires_the_stale)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "a");
    int64_t a = enqueue(st, &m, 100);
    m.expires_at = 150;
    int64_t stale = enqueue(st, &m, 100);
    m.expires_at = 1000000;
    int64_t later = enqueue(st, &m, 300);
    int64_t ids[8];
    size_t n;
    ck_assert_int_eq(store_claim_due(st, 200, ids, 8, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ids[0], a);
    ck_assert_int_eq(state_of(st, a), MSG_SENDING);
    ck_assert_int_eq(state_of(st, stale), MSG_QUEUED); /* skipped: expiry is the tick's */
    int64_t expired = 0;
    ck_assert_int_eq(store_expire_due(st, 200, &expired, err, sizeof err), STORE_OK);
    ck_assert_int_eq(expired, 1);
    ck_assert_int_eq(state_of(st, stale), MSG_EXPIRED);
    ck_assert_int_eq(state_of(st, later), MSG_QUEUED);
    ck_assert_int_eq(store_claim_due(st, 200, ids, 8, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 0);
    store_close(st);
}
END_TEST

/* The claim reads back what store_message_get() would, parts included, in due order. */
START_TEST(claim_returns_the_messages_with_their_parts_in_due_order)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "first");
    int64_t late = enqueue(st, &m, 150);
    m.body = "second";
    m.segments = 2;
    m.dlr_url = "http://127.0.0.1:9/dlr";
    int64_t early = enqueue(st, &m, 100);
    m = msg("+353870000000", "not yet due");
    int64_t future = enqueue(st, &m, 500);
    ck_assert_int_eq(report_plan(st, early, 2, "sim", 110), STORE_OK);
    struct store_part_update p1 = { .index = 1, .state = PART_SUBMITTED, .ref = "r1" };
    ck_assert_int_eq(report_part(st, early, &p1, 120), STORE_OK);
    ck_assert_int_eq(store_requeue(st, early, 130, "temporary", true, 5, 125, NULL, err,
                                   sizeof err), STORE_OK);
    struct store_message *got[4];
    size_t n = 0;
    ck_assert_int_eq(store_claim(st, 200, got, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(got[0]->id, early); /* due at 130, before the other's 150 */
    ck_assert_int_eq(got[1]->id, late);
    for (size_t i = 0; i < n; i++) {
        struct store_message *fresh;
        ck_assert_int_eq(store_message_get(st, got[i]->id, &fresh, err, sizeof err), STORE_OK);
        ck_assert_int_eq(got[i]->state, MSG_SENDING);
        ck_assert_int_eq(fresh->state, MSG_SENDING);
        ck_assert_str_eq(got[i]->body, fresh->body);
        ck_assert_int_eq(got[i]->segments, fresh->segments);
        ck_assert_int_eq(got[i]->attempts, fresh->attempts);
        ck_assert_int_eq(got[i]->updated_at, 200);
        ck_assert_int_eq(got[i]->n_parts, fresh->n_parts);
        for (size_t k = 0; k < fresh->n_parts; k++) {
            ck_assert_int_eq(got[i]->parts[k].index, fresh->parts[k].index);
            ck_assert_int_eq(got[i]->parts[k].state, fresh->parts[k].state);
        }
        store_message_free(fresh);
    }
    ck_assert_int_eq(got[0]->n_parts, 2);
    ck_assert_int_eq(got[0]->parts[1].state, PART_SUBMITTED);
    ck_assert_str_eq(got[0]->parts[1].ref, "r1");
    ck_assert_int_eq(got[0]->attempts, 1);
    ck_assert_str_eq(got[0]->dlr_url, "http://127.0.0.1:9/dlr");
    ck_assert_int_eq(got[1]->n_parts, 0);
    store_message_free(got[0]);
    store_message_free(got[1]);
    ck_assert_int_eq(state_of(st, future), MSG_QUEUED);
    ck_assert_int_eq(store_claim(st, 200, got, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 0);
    store_close(st);
}
END_TEST

/* A turn's reports and the next claim in one transaction: both land, the claim reads what it took. */
START_TEST(apply_claim_records_reports_and_claims)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "sent already");
    m.dlr_url = "http://127.0.0.1:9/dlr";
    int64_t sent = enqueue(st, &m, 100);
    m = msg("+353871234568", "next");
    int64_t next = enqueue(st, &m, 110);
    int64_t ids[4];
    size_t n = 0;
    ck_assert_int_eq(store_claim_due(st, 105, ids, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 1);
    struct store_update u[2] = {
        { .kind = STORE_UPDATE_PLAN, .msg_id = sent, .n_parts = 1, .route = "sim" },
        { .kind = STORE_UPDATE_PART, .msg_id = sent,
          .part = { .index = 0, .state = PART_SUBMITTED, .ref = "abc" } },
    };
    bool has_dlr[2] = { false, false };
    struct store_message *claimed[4];
    struct store_apply_claim ac = { .u = u, .n = 2, .has_dlr = has_dlr, .claimed = claimed,
                                    .max = 4 };
    ck_assert_msg(store_apply_claim(st, &ac, 200, err, sizeof err) == STORE_OK, "%s", err);
    ck_assert(has_dlr[1]);
    ck_assert_int_eq(ac.n_claimed, 1);
    ck_assert_int_eq(claimed[0]->id, next);
    ck_assert_int_eq(claimed[0]->state, MSG_SENDING);
    store_message_free(claimed[0]);
    struct store_message *got;
    ck_assert_int_eq(store_message_get(st, sent, &got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got->state, MSG_SENT);
    ck_assert_str_eq(got->route, "sim");
    ck_assert_int_eq(got->n_parts, 1);
    ck_assert_str_eq(got->parts[0].ref, "abc");
    store_message_free(got);
    ck_assert_int_eq(state_of(st, next), MSG_SENDING);
    /* Nothing due: the reports alone (max 0 claims nothing). */
    ac = (struct store_apply_claim){ .u = u + 1, .n = 1, .claimed = claimed, .max = 0 };
    ck_assert_int_eq(store_apply_claim(st, &ac, 210, err, sizeof err), STORE_OK);
    ck_assert_int_eq(ac.n_claimed, 0);
    store_close(st);
}
END_TEST

/* Every row of `table` as text, in key order. */
static char *dump_rows(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st), sql, -1, &s, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const unsigned char *v = sqlite3_column_text(s, c);
            len += (size_t)snprintf(out + len, cap - len, "%s|", v ? (const char *)v : "NULL");
            ck_assert_uint_lt(len, cap);
        }
        out[len++] = '\n';
    }
    sqlite3_finalize(s);
    return out;
}

static struct store *store_at(const char *name)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", testutil_tmpdir(), name);
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    return st;
}

/* The messages of batch_vs_apart, claimed, one with a part left from an earlier attempt. */
static void batch_setup(struct store *st)
{
    struct store_new_message m = msg("+353871234567", "one");
    for (int i = 0; i < 4; i++)
        enqueue(st, &m, 100);
    struct store_update early[] = {
        { .kind = STORE_UPDATE_PLAN, .msg_id = 3, .n_parts = 1, .route = "m1" },
        { .kind = STORE_UPDATE_PART, .msg_id = 3,
          .part = { .index = 0, .state = PART_PENDING, .error = "busy" } },
    };
    ck_assert_int_eq(store_apply(st, early, 2, 110, NULL, err, sizeof err), STORE_OK);
    int64_t ids[8];
    size_t n;
    ck_assert_int_eq(store_claim_due(st, 120, ids, 8, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 4);
}

/* A plan and its one part's result written together leave the rows they leave written apart. */
START_TEST(plan_and_part_in_one_batch_as_apart)
{
    struct store_update u[] = {
        { .kind = STORE_UPDATE_PLAN, .msg_id = 1, .n_parts = 1, .route = "sim" },
        { .kind = STORE_UPDATE_PLAN, .msg_id = 2, .n_parts = 1, .route = "sim" },
        { .kind = STORE_UPDATE_PLAN, .msg_id = 3, .n_parts = 1, .route = "sim" },
        { .kind = STORE_UPDATE_PLAN, .msg_id = 4, .n_parts = 2, .route = "sim" },
        { .kind = STORE_UPDATE_PART, .msg_id = 2,
          .part = { .index = 0, .state = PART_FAILED, .error = "rejected" } },
        { .kind = STORE_UPDATE_PART, .msg_id = 1,
          .part = { .index = 0, .state = PART_SUBMITTED, .ref = "r1" } },
        { .kind = STORE_UPDATE_PART, .msg_id = 3,
          .part = { .index = 0, .state = PART_SUBMITTED, .ref = "r3" } },
        { .kind = STORE_UPDATE_PART, .msg_id = 4,
          .part = { .index = 0, .state = PART_SUBMITTED, .ref = "r4" } },
        { .kind = STORE_UPDATE_PART, .msg_id = 99,
          .part = { .index = 0, .state = PART_SUBMITTED, .ref = "gone" } },
    };
    size_t n = sizeof u / sizeof u[0];
    struct store *together = store_at("together.db"), *apart = store_at("apart.db");
    batch_setup(together);
    batch_setup(apart);
    bool dlr_together[16], dlr_apart[16];
    ck_assert_int_eq(store_apply(together, u, n, 200, dlr_together, err, sizeof err), STORE_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(store_apply(apart, &u[i], 1, 200, &dlr_apart[i], err, sizeof err),
                         STORE_OK);
    const char *queries[] = { "SELECT * FROM messages ORDER BY id",
                              "SELECT * FROM parts ORDER BY message_id, part_index" };
    for (int q = 0; q < 2; q++) {
        char *a = dump_rows(together, queries[q]), *b = dump_rows(apart, queries[q]);
        ck_assert_str_eq(a, b);
        if (q == 1) /* message 3 keeps the route of its first part: m1 */
            ck_assert_ptr_nonnull(strstr(a, "3|0|m1|r3|submitted|"));
        free(a);
        free(b);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(dlr_together[i], dlr_apart[i]);
    ck_assert_int_eq(state_of(together, 1), MSG_SENT);
    ck_assert_int_eq(state_of(together, 2), MSG_FAILED);
    ck_assert_int_eq(state_of(together, 4), MSG_SENDING);
    store_close(together);
    store_close(apart);
}
END_TEST

START_TEST(parts_drive_the_message_state)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "long");
    m.segments = 2;
    int64_t id = enqueue(st, &m, 100);
    struct store_part_update p0 = { .index = 0, .state = PART_PENDING, .route = "m1" };
    struct store_part_update p1 = { .index = 1, .state = PART_PENDING, .route = "m1" };
    ck_assert_int_eq(report_part(st, id, &p0, 101), STORE_OK);
    ck_assert_int_eq(report_part(st, id, &p1, 101), STORE_OK);
    ck_assert_int_eq(state_of(st, id), MSG_QUEUED);
    p0.state = PART_SUBMITTED;
    p0.ref = "m1:17";
    ck_assert_int_eq(report_part(st, id, &p0, 102), STORE_OK);
    ck_assert_int_eq(state_of(st, id), MSG_SENDING);
    p1.state = PART_SUBMITTED;
    p1.ref = "m1:18";
    ck_assert_int_eq(report_part(st, id, &p1, 103), STORE_OK);
    ck_assert_int_eq(state_of(st, id), MSG_SENT);
    p0 = (struct store_part_update){ .index = 0, .state = PART_DELIVERED };
    p1 = (struct store_part_update){ .index = 1, .state = PART_DELIVERED };
    ck_assert_int_eq(report_part(st, id, &p0, 110), STORE_OK);
    ck_assert_int_eq(state_of(st, id), MSG_SENT);
    ck_assert_int_eq(report_part(st, id, &p1, 111), STORE_OK);

    struct store_message *got;
    ck_assert_int_eq(store_message_get(st, id, &got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got->state, MSG_DELIVERED);
    ck_assert_int_eq(got->sent_at, 103);
    ck_assert_int_eq(got->n_parts, 2);
    ck_assert_str_eq(got->parts[0].ref, "m1:17"); /* a receipt keeps the reference */
    ck_assert_str_eq(got->parts[1].receipt, "delivered");
    ck_assert_int_eq(got->parts[1].done_at, 111);
    store_message_free(got);

    struct store_part_update bad = { .index = 0, .state = PART_FAILED };
    /* A report about a message that is gone is skipped, and nothing is written. */
    ck_assert_int_eq(report_part(st, 424242, &bad, 1), STORE_OK);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st), "SELECT count(*) FROM parts "
                                        "WHERE message_id = 424242", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    store_close(st);
}
END_TEST

START_TEST(a_failed_part_fails_the_message_with_its_reason)
{
    struct store *st = fresh_store();
    struct store_new_message m = msg("+353871234567", "x");
    int64_t id = enqueue(st, &m, 100);
    struct store_part_update p = { .index = 0, .state = PART_FAILED, .route = "carrier",
                                   .error = "ESME_RINVDSTADR: invalid destination" };
    ck_assert_int_eq(report_part(st, id, &p, 101), STORE_OK);
    struct store_message *got;
    ck_assert_int_eq(store_message_get(st, id, &got, err, sizeof err), STORE_OK);
    ck_assert_int_eq(got->state, MSG_FAILED);
    ck_assert_str_eq(got->last_error, "ESME_RINVDSTADR: invalid destination");
    store_message_free(got);
    store_close(st);
}
END_TEST

START_TEST(derive_state_table)
{
    enum part_state all_pending[] = { PART_PENDING, PART_PENDING };
    enum part_state mixed[] = { PART_SUBMITTED, PART_PENDING };
    enum part_state submitted[] = { PART_SUBMITTED, PART_DELIVERED };
    enum part_state delivered[] = { PART_DELIVERED, PART_DELIVERED };
    enum part_state undelivered[] = { PART_DELIVERED, PART_UNDELIVERED };
    enum part_state failed[] = { PART_DELIVERED, PART_FAILED };
    ck_assert_int_eq(store_derive_state(NULL, 0, MSG_QUEUED), MSG_QUEUED);
    ck_assert_int_eq(store_derive_state(all_pending, 2, MSG_SENDING), MSG_SENDING);
    ck_assert_int_eq(store_derive_state(all_pending, 2, MSG_QUEUED), MSG_QUEUED);
    ck_assert_int_eq(store_derive_state(mixed, 2, MSG_QUEUED), MSG_SENDING);
    ck_assert_int_eq(store_derive_state(submitted, 2, MSG_SENDING), MSG_SENT);
    ck_assert_int_eq(store_derive_state(delivered, 2, MSG_SENT), MSG_DELIVERED);
    ck_assert_int_eq(store_derive_state(undelivered, 2, MSG_SENT), MSG_UNDELIVERED);
    ck_assert_int_eq(store_derive_state(failed, 2, MSG_SENT), MSG_FAILED);
}
END_TEST

static void count_rows(const struct store_message *m, void *arg)
{
    (void)m;
    (*(int *)arg)++;
}

START_TEST(list_filters_by_state_and_recipient)
{
    struct store *st = fresh_store();
    struct store_new_message a = msg("+353871111111", "a"), b = msg("+353872222222", "b");
    enqueue(st, &a, 1);
    enqueue(st, &a, 2);
    int64_t bid = enqueue(st, &b, 3);
    struct store_part_update p = { .index = 0, .state = PART_FAILED, .error = "x" };
    report_part(st, bid, &p, 4);
    int n = 0;
    struct store_filter f = { .to = "+353871111111" };
    ck_assert_int_eq(store_messages_list(st, &f, count_rows, &n, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 2);
    n = 0;
    f = (struct store_filter){ .has_state = true, .state = MSG_FAILED };
    store_messages_list(st, &f, count_rows, &n, err, sizeof err);
    ck_assert_int_eq(n, 1);
    n = 0;
    f = (struct store_filter){ .limit = 1 };
    store_messages_list(st, &f, count_rows, &n, err, sizeof err);
    ck_assert_int_eq(n, 1);
    store_close(st);
}
END_TEST

START_TEST(state_names_round_trip)
{
    for (int i = 0; i < MSG_STATE_COUNT; i++) {
        enum msg_state s;
        ck_assert(store_msg_state_parse(store_msg_state_name((enum msg_state)i), &s));
        ck_assert_int_eq(s, i);
    }
    enum msg_state s;
    ck_assert(!store_msg_state_parse("lost", &s));
}
END_TEST

/* Several processes opening one new database at once: each migration applies once. */
START_TEST(concurrent_first_opens_all_succeed)
{
    char path[600];
    snprintf(path, sizeof path, "%s/race.db", testutil_tmpdir());
    pid_t kids[6];
    for (int i = 0; i < 6; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            char why[256];
            struct store *st = store_open(path, why, sizeof why);
            if (st)
                store_close(st);
            else
                fprintf(stderr, "child %d: %s\n", i, why);
            _exit(st ? 0 : 1);
        }
    }
    for (int i = 0; i < 6; i++) {
        int status = 0;
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char why[256];
    struct store *st = store_open(path, why, sizeof why);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(store_schema_version(st), store_schema_latest());
    store_close(st);
}
END_TEST

START_TEST(a_claim_reads_the_optouts_of_its_batch)
{
    struct store *st = fresh_store();
    struct store_new_message a = msg("+353871000001", "a"), b = msg("+353871000002", "b");
    enqueue(st, &a, 10);
    int64_t b_id = enqueue(st, &b, 10);
    a.body = "a again";
    enqueue(st, &a, 10);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO optouts (recipient, keyword, received_at, source) "
                                  "VALUES ('+353871000001', 'STOP', 20, 'test')", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    size_t n = 0;
    /* The claim reads each claimed message's opt-out in one query for the batch. */
    struct store_message *got[4];
    ck_assert_int_eq(store_claim(st, 10, got, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        if (got[i]->id == b_id)
            ck_assert_ptr_null(got[i]->optout_keyword);
        else
            ck_assert_str_eq(got[i]->optout_keyword, "STOP");
        store_message_free(got[i]);
    }
    store_close(st);
}
END_TEST

START_TEST(open_reports_an_unusable_path)
{
    ck_assert_ptr_null(store_open("/proc/homing-cannot/x/homing.db", err, sizeof err));
    ck_assert_msg(strstr(err, "/proc/homing-cannot") != NULL, "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("store");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, migrates_an_empty_database);
    tcase_add_test(t, refuses_a_newer_database);
    tcase_add_test(t, idempotency_key_returns_the_first_id);
    tcase_add_test(t, committed_message_is_visible_to_a_second_connection);
    tcase_add_test(t, claim_due_marks_sending_and_expires_the_stale);
    tcase_add_test(t, claim_returns_the_messages_with_their_parts_in_due_order);
    tcase_add_test(t, apply_claim_records_reports_and_claims);
    tcase_add_test(t, plan_and_part_in_one_batch_as_apart);
    tcase_add_test(t, parts_drive_the_message_state);
    tcase_add_test(t, a_failed_part_fails_the_message_with_its_reason);
    tcase_add_test(t, derive_state_table);
    tcase_add_test(t, list_filters_by_state_and_recipient);
    tcase_add_test(t, state_names_round_trip);
    tcase_add_test(t, a_claim_reads_the_optouts_of_its_batch);
    tcase_add_test(t, open_reports_an_unusable_path);
    tcase_add_test(t, concurrent_first_opens_all_succeed);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
