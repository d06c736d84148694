/*
 * Consent in the store, on a real sqlite file: a reply that is no keyword
 * ends enrollments only in campaigns that exit on reply (with ended_at and
 * an event each); an opt-out ends every enrollment and stamps ended_at; an
 * imported list suppresses queued messages, ends enrollments, keeps numbers
 * already opted out as they were, queues no reply and is audited; a long
 * message delivered incomplete still opts out when its first part says STOP,
 * and counts as a reply otherwise.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store.h"
#include "tests/testutil.h"

static char db_path[700];
static char err[512];

static struct store *fresh_store(void)
{
    snprintf(db_path, sizeof db_path, "%s/homing.db", testutil_tmpdir());
    struct store *st = store_open(db_path, err, sizeof err);
    ck_assert_msg(st != NULL, "store_open: %s", err);
    return st;
}

static void sql(const char *statement)
{
    sqlite3 *db;
    char *e = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_msg(sqlite3_exec(db, statement, NULL, NULL, &e) == SQLITE_OK, "%s: %s", statement,
                  e ? e : "");
    sqlite3_close(db);
}

/* One value (text) from the database; "" when no row or NULL. */
static const char *query(const char *statement)
{
    static char value[1024];
    sqlite3 *db;
    sqlite3_stmt *s;
    value[0] = '\0';
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, statement, -1, &s, NULL) == SQLITE_OK, "%s",
                  sqlite3_errmsg(db));
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(value, sizeof value, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return value;
}

/* Two active enrollments of `who`: in "winback" (exits on reply) and "news" (does not). */
static void enroll(const char *who)
{
    char text[600];
    snprintf(text, sizeof text,
             "INSERT OR IGNORE INTO contacts (recipient, created_at, updated_at) "
             "VALUES ('%s', 0, 0);"
             "INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, updated_at) "
             "VALUES ('%s', 'winback', 9000, 0, 0), ('%s', 'news', 9000, 0, 0);",
             who, who, who);
    sql(text);
}

static enum store_keyword classify(const char *text, char *word, size_t size, void *arg)
{
    (void)arg;
    bool stop = strcmp(text, "STOP") == 0;
    snprintf(word, size, "%s", stop ? "STOP" : "");
    return stop ? STORE_KW_OPTOUT : STORE_KW_NONE;
}

static bool exits_on_reply(const char *campaign, void *arg)
{
    (void)arg;
    return strcmp(campaign, "winback") == 0;
}

static const struct store_new_message reply = { .body = "You are unsubscribed",
                                                .encoding = "gsm7", .segments = 1,
                                                .source = "consent", .expires_at = 99999 };

static struct store_inbound_result receive(struct store *st, const char *from, const char *text,
                                           int64_t now)
{
    static const struct store_consent consent = {
        .classify = classify, .exits_on_reply = exits_on_reply,
        .reply = { NULL, &reply, NULL, NULL }, .confirm_again_after = 86400,
    };
    struct store_inbound_part p = { .sender = from, .text = text, .route = "carrier",
                                    .consent = &consent };
    struct store_inbound_result r;
    ck_assert_int_eq(store_inbound_add(st, &p, now, &r, err, sizeof err), STORE_OK);
    return r;
}

static int64_t enqueue(struct store *st, const char *to, int64_t now)
{
    struct store_new_message m = { .to = to, .body = "offer", .encoding = "gsm7",
                                   .segments = 1, .source = "test", .expires_at = 99999 };
    int64_t id;
    ck_assert_int_eq(store_enqueue(st, &m, now, &id, err, sizeof err), STORE_OK);
    return id;
}

START_TEST(a_reply_ends_only_campaigns_that_exit_on_reply)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    struct store_inbound_result r = receive(st, "+353870000001", "yes please, how much?", 1000);
    ck_assert_int_eq(r.keyword, STORE_KW_NONE);
    ck_assert_int_eq(r.ended, 1);
    ck_assert_int_eq(r.reply_id, 0);
    ck_assert_str_eq(query("SELECT state || ',' || ended_at || ',' || updated_at || ',' || reason "
                           "FROM enrollments WHERE campaign = 'winback'"),
                     "replied,1000,1000,recipient replied (inbound 1)");
    ck_assert_str_eq(query("SELECT state || ',' || coalesce(ended_at, '-') FROM enrollments "
                           "WHERE campaign = 'news'"), "active,-");
    ck_assert_str_eq(query("SELECT actor || ',' || entity || ',' || entity_id || ',' || action "
                           "|| ',' || detail FROM events"),
                     "carrier,enrollment,1,replied,campaign winback: recipient replied "
                     "(inbound 1)");
    ck_assert_str_eq(query("SELECT count(*) FROM events"), "1");
    /* The reply is kept like any other received message, with no keyword. */
    ck_assert_str_eq(query("SELECT text || ',' || coalesce(keyword, '-') FROM inbound"),
                     "yes please, how much?,-");
    /* A second reply: nothing left to end in winback; news stays. */
    r = receive(st, "+353870000001", "hello?", 1100);
    ck_assert_int_eq(r.ended, 0);
    ck_assert_str_eq(query("SELECT count(*) FROM enrollments WHERE state = 'active'"), "1");
    store_close(st);
}
END_TEST

START_TEST(a_reply_from_someone_else_ends_nothing)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    struct store_inbound_result r = receive(st, "+353870000002", "who is this?", 1000);
    ck_assert_int_eq(r.ended, 0);
    ck_assert_str_eq(query("SELECT count(*) FROM enrollments WHERE state = 'active'"), "2");
    store_close(st);
}
END_TEST

START_TEST(an_opt_out_ends_every_enrollment_with_ended_at)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    int64_t queued = enqueue(st, "+353870000001", 900);
    struct store_inbound_result r = receive(st, "+353870000001", "STOP", 1000);
    ck_assert_int_eq(r.keyword, STORE_KW_OPTOUT);
    ck_assert_int_eq(r.ended, 2);
    ck_assert_int_eq(r.suppressed, 1);
    ck_assert_int_ne(r.reply_id, 0);
    ck_assert_str_eq(query("SELECT group_concat(state || ':' || ended_at, ' ') FROM enrollments"),
                     "opted_out:1000 opted_out:1000");
    char q[200];
    snprintf(q, sizeof q, "SELECT state FROM messages WHERE id = %lld", (long long)queued);
    ck_assert_str_eq(query(q), "suppressed");
    ck_assert_str_eq(query("SELECT group_concat(entity || ':' || action, ' ') FROM "
                           "(SELECT * FROM events ORDER BY id)"),
                     "enrollment:opted_out enrollment:opted_out consent:opt-out");
    store_close(st);
}
END_TEST

START_TEST(optout_by_hand_ends_enrollments_too)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    int suppressed;
    ck_assert_int_eq(store_consent_optout(st, "+353870000001", "MANUAL", "cli", 500, &suppressed,
                                          err, sizeof err), STORE_OK);
    ck_assert_str_eq(query("SELECT count(*) FROM enrollments WHERE state = 'opted_out' "
                           "AND ended_at = 500"), "2");
    ck_assert_str_eq(query("SELECT count(*) FROM events WHERE actor = 'cli'"), "3");
    store_close(st);
}
END_TEST

START_TEST(an_import_suppresses_ends_and_sends_nothing)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    enqueue(st, "+353870000001", 900);
    enqueue(st, "+353870000001", 901);
    enqueue(st, "+353870000003", 902);
    /* Already opted out earlier: kept as it was. */
    ck_assert_int_eq(store_consent_optout(st, "+353870000002", "STOP", "carrier", 100, &(int){ 0 },
                                          err, sizeof err), STORE_OK);
    struct store_optout_import rows[] = {
        { .recipient = "+353870000001", .keyword = "IMPORT", .at = 700 },
        { .recipient = "+353870000002", .keyword = "IMPORT", .at = 800 },
        { .recipient = "+353870000001", .keyword = "AGAIN", .at = 750 },
    };
    struct store_import_result r;
    ck_assert_int_eq(store_consent_import(st, rows, 3, "list.csv", 1000, &r, err, sizeof err),
                     STORE_OK);
    ck_assert_int_eq(r.added, 1);
    ck_assert_int_eq(r.already, 2);
    ck_assert_int_eq(r.suppressed, 2);
    ck_assert_int_eq(r.ended, 2);
    ck_assert_str_eq(query("SELECT keyword || ',' || received_at || ',' || source FROM optouts "
                           "WHERE recipient = '+353870000001'"), "IMPORT,700,import");
    ck_assert_str_eq(query("SELECT keyword || ',' || received_at || ',' || source FROM optouts "
                           "WHERE recipient = '+353870000002'"), "STOP,100,carrier");
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE state = 'suppressed'"), "2");
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE source = 'consent'"), "0");
    ck_assert_str_eq(query("SELECT count(*) FROM enrollments WHERE state = 'opted_out' "
                           "AND ended_at = 1000"), "2");
    ck_assert_str_eq(query("SELECT detail FROM events WHERE action = 'import' AND actor = "
                           "'import' AND entity_id = 'list.csv'"),
                     "1 added, 2 already opted out");
    ck_assert_str_eq(query("SELECT count(*) FROM events WHERE actor = 'import'"), "4");
    /* The dispatch-time check sees an imported opt-out like any other. */
    char kw[32];
    int64_t at;
    ck_assert_int_eq(store_optout_find(st, "+353870000001", kw, sizeof kw, &at, err, sizeof err),
                     STORE_OK);
    ck_assert_str_eq(kw, "IMPORT");
    ck_assert_int_eq(at, 700);
    store_close(st);
}
END_TEST

static const struct store_consent *rules(void)
{
    static const struct store_consent consent = {
        .classify = classify, .exits_on_reply = exits_on_reply,
        .reply = { NULL, &reply, NULL, NULL }, .confirm_again_after = 86400,
    };
    return &consent;
}

static void part(struct store *st, const char *from, unsigned ref, unsigned seq, const char *text,
                 int64_t now)
{
    struct store_inbound_part p = { .sender = from, .text = text, .route = "m1", .concat = true,
                                    .ref = ref, .total = 2, .seq = seq, .consent = rules() };
    struct store_inbound_result r;
    ck_assert_int_eq(store_inbound_add(st, &p, now, &r, err, sizeof err), STORE_OK);
    ck_assert_int_eq(r.id, 0);
}

START_TEST(an_incomplete_message_still_counts)
{
    struct store *st = fresh_store();
    enroll("+353870000001");
    enroll("+353870000002");
    /* Its first part came: the keyword is in it, so STOP holds though part 2 was lost. */
    part(st, "+353870000001", 7, 1, "STOP", 1000);
    /* Only its second part came: no keyword can be read, but it is a reply. */
    part(st, "+353870000002", 8, 2, "and that is all", 1000);
    int n = 0;
    int64_t ids[STORE_INBOUND_EXPIRE_MAX];
    ck_assert_int_eq(store_inbound_expire(st, 1500, 2000, rules(), &n, ids, err, sizeof err),
                     STORE_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(query("SELECT keyword || ',' || received_at FROM optouts WHERE recipient = "
                           "'+353870000001'"), "STOP,2000");
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE source = 'consent' AND "
                           "recipient = '+353870000001'"), "1");
    ck_assert_str_eq(query("SELECT group_concat(state, ' ') FROM enrollments WHERE recipient = "
                           "'+353870000001'"), "opted_out opted_out");
    ck_assert_str_eq(query("SELECT group_concat(campaign || ':' || state, ' ') FROM (SELECT * "
                           "FROM enrollments WHERE recipient = '+353870000002' ORDER BY id)"),
                     "winback:replied news:active");
    ck_assert_str_eq(query("SELECT group_concat(coalesce(keyword, '-') || ':' || complete, ' ') "
                           "FROM (SELECT * FROM inbound ORDER BY sender)"), "STOP:0 -:0");
    ck_assert_str_eq(query("SELECT count(*) FROM inbound_parts"), "0");
    store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("consent_store");
    TCase *t = tcase_create("store");
    tcase_add_test(t, a_reply_ends_only_campaigns_that_exit_on_reply);
    tcase_add_test(t, a_reply_from_someone_else_ends_nothing);
    tcase_add_test(t, an_opt_out_ends_every_enrollment_with_ended_at);
    tcase_add_test(t, optout_by_hand_ends_enrollments_too);
    tcase_add_test(t, an_import_suppresses_ends_and_sends_nothing);
    tcase_add_test(t, an_incomplete_message_still_counts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
