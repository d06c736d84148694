/*
 * The campaign engine on a real database and a real configuration file:
 * steps in order, quiet hours, the cap, exits, variants, a failed batch
 * leaving nothing half done, and the cost of a tick.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_engine.h"
#include "scheduler/sched_tz.h"
#include "tests/testutil.h"

#define DAY 86400

static struct conf *conf;
static struct store *st;
static struct sched_engine *eng;

static const char conf_text[] =
    "database = \"%s/engine.db\";\n"
    "defaults = { country = \"IE\"; timezone = \"Europe/Dublin\"; validity = \"48h\"; };\n"
    "quiet_hours = { start = \"21:00\"; end = \"08:00\"; };\n"
    "frequency_cap = { messages = 3; per = \"30d\"; };\n"
    "campaigns = (\n"
    "  { name = \"winback\"; from = \"Shop\";\n"
    "    steps = ( { after = \"0d\"; text = \"Hi {name|there}, we miss you\"; },\n"
    "              { after = \"7d\"; text = \"Reminder for {name|you}: code {code|NONE}\"; },\n"
    "              { after = \"30d\"; from = \"enrollment\";\n"
    "                variants = ( { name = \"A\"; weight = 1; text = \"Last offer A\"; },\n"
    "                             { name = \"B\"; weight = 3; text = \"Last offer B\"; } ); } ); },\n"
    "  { name = \"capped\"; frequency_cap = { messages = 1; per = \"7d\"; };\n"
    "    steps = ( { after = \"0d\"; text = \"Another campaign\"; } ); },\n"
    "  { name = \"coded\"; consent_required = false;\n"
    "    steps = ( { after = \"0d\"; text = \"Your code is {code}\"; } ); }\n"
    ");\n";

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi };
    return (int64_t)timegm(&tm);
}

static void setup(void)
{
    char text[4096], err[512];
    const char *dir = testutil_tmpdir();
    snprintf(text, sizeof text, conf_text, dir);
    struct conf_errors errs = { 0 };
    conf = conf_load(testutil_write_file(dir, "homing.conf", text), &errs);
    ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
    conf_errors_free(&errs);
    st = store_open(conf->database, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    eng = sched_engine_new(st, conf, err, sizeof err);
    ck_assert_msg(eng != NULL, "%s", err);
}

static void teardown(void)
{
    sched_engine_free(eng);
    store_close(st);
    conf_free(conf);
    sched_tz_cache_free();
}

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
    char buf[2048], *err = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ck_assert_msg(sqlite3_exec(store_handle(st), buf, NULL, NULL, &err) == SQLITE_OK, "%s: %s",
                  buf, err);
}

/* The first column of the first row as text ("" for none or NULL). */
static const char *value(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *value(const char *fmt, ...)
{
    static char out[1024];
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s;
    ck_assert_msg(sqlite3_prepare_v2(store_handle(st), q, -1, &s, NULL) == SQLITE_OK, "%s", q);
    out[0] = '\0';
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

static long long num(const char *fmt, const char *arg)
{
    return atoll(value(fmt, arg));
}

static void contact(const char *phone, const char *name, const char *tz, const char *consent,
                    const char *attrs)
{
    sql("INSERT INTO contacts (recipient, name, timezone, consent, attributes, created_at, "
        "updated_at) VALUES ('%s', %s%s%s, %s%s%s, '%s', '%s', 0, 0)", phone,
        name ? "'" : "", name ? name : "NULL", name ? "'" : "", tz ? "'" : "", tz ? tz : "NULL",
        tz ? "'" : "", consent, attrs ? attrs : "{}");
}

static long long enroll(const char *phone, const char *campaign, int64_t at)
{
    sql("INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, updated_at) "
        "VALUES ('%s', '%s', %lld, %lld, %lld)", phone, campaign, (long long)at, (long long)at,
        (long long)at);
    return (long long)sqlite3_last_insert_rowid(store_handle(st));
}

static struct sched_tick_result tick(int64_t now)
{
    struct sched_tick_result r;
    char err[256];
    ck_assert_msg(sched_tick(eng, now, 1000000, &r, err, sizeof err) == STORE_OK, "%s", err);
    return r;
}

START_TEST(a_sequence_goes_step_by_step_and_completes)
{
    int64_t t0 = utc(2026, 1, 5, 10, 0);
    contact("+353871000001", "Aoife", NULL, "yes", NULL);
    long long id = enroll("+353871000001", "winback", t0);
    struct sched_tick_result r = tick(t0);
    ck_assert_int_eq(r.sent, 1);
    char want[256];
    snprintf(want, sizeof want, "Hi Aoife, we miss you|Shop|gsm7|campaign|enrollment:%lld:step:0|%lld|%lld",
             id, (long long)t0, (long long)(t0 + 2 * DAY));
    ck_assert_str_eq(value("SELECT body || '|' || sender || '|' || encoding || '|' || source || '|' "
                           "|| idempotency_key || '|' || created_at || '|' || expires_at "
                           "FROM messages WHERE enrollment_id = %lld AND step = 0", id), want);
    ck_assert_int_eq(num("SELECT current_step FROM enrollments WHERE recipient = '%s'", "+353871000001"), 1);
    ck_assert_int_eq(num("SELECT next_due_at FROM enrollments WHERE recipient = '%s'", "+353871000001"),
                     t0 + 7 * DAY);
    ck_assert_int_eq(tick(t0 + 6 * DAY).sent, 0);
    ck_assert_int_eq(tick(t0 + 7 * DAY).sent, 1);
    ck_assert_str_eq(value("SELECT body FROM messages WHERE step = %s", "1"), "Reminder for Aoife: code NONE");
    /* Step 3 counts from the enrollment: day 30. */
    ck_assert_int_eq(num("SELECT next_due_at FROM enrollments WHERE recipient = '%s'", "+353871000001"),
                     t0 + 30 * DAY);
    r = tick(t0 + 30 * DAY);
    ck_assert_int_eq(r.sent, 1);
    ck_assert_int_eq(r.completed, 1);
    snprintf(want, sizeof want, "completed %lld", (long long)(t0 + 30 * DAY));
    ck_assert_str_eq(value("SELECT state || ' ' || ended_at FROM enrollments WHERE recipient = '%s'",
                           "+353871000001"), want);
    ck_assert_str_eq(value("SELECT count(*) || count(DISTINCT step) FROM messages WHERE campaign = '%s'",
                           "winback"), "33");
    const char *variant = value("SELECT variant FROM messages WHERE step = %s", "2");
    ck_assert_msg(strcmp(variant, "A") == 0 || strcmp(variant, "B") == 0, "variant '%s'", variant);
    ck_assert_int_eq(tick(t0 + 90 * DAY).sent, 0);
}
END_TEST

START_TEST(quiet_hours_make_a_step_wait_for_the_morning)
{
    /* 23:00 in Dublin in summer is 22:00Z; the morning is 08:00 IST, 07:00Z. */
    int64_t night = utc(2026, 7, 1, 22, 0);
    contact("+353871000002", NULL, NULL, "yes", NULL);
    enroll("+353871000002", "winback", night);
    struct sched_tick_result r = tick(night);
    ck_assert_int_eq(r.sent, 0);
    ck_assert_int_eq(r.quiet, 1);
    ck_assert_int_eq(num("SELECT next_due_at FROM enrollments WHERE recipient = '%s'", "+353871000002"),
                     utc(2026, 7, 2, 7, 0));
    ck_assert_int_eq(tick(utc(2026, 7, 2, 6, 59)).sent, 0);
    ck_assert_int_eq(tick(utc(2026, 7, 2, 7, 0)).sent, 1);
    /* A contact in Tokyo: 22:00Z is 07:00 JST, quiet until 08:00 JST (23:00Z). */
    contact("+353871000003", NULL, "Asia/Tokyo", "yes", NULL);
    enroll("+353871000003", "winback", night);
    ck_assert_int_eq(tick(night).quiet, 1);
    ck_assert_int_eq(num("SELECT next_due_at FROM enrollments WHERE recipient = '%s'", "+353871000003"),
                     utc(2026, 7, 1, 23, 0));
}
END_TEST

START_TEST(the_cap_defers_a_second_campaign)
{
    int64_t t0 = utc(2026, 2, 2, 12, 0);
    contact("+353871000004", NULL, NULL, "yes", NULL);
    enroll("+353871000004", "winback", t0);
    ck_assert_int_eq(tick(t0).sent, 1);
    enroll("+353871000004", "capped", t0 + DAY);
    struct sched_tick_result r = tick(t0 + DAY);
    ck_assert_int_eq(r.capped, 1);
    ck_assert_int_eq(num("SELECT next_due_at FROM enrollments WHERE campaign = '%s'", "capped"),
                     t0 + 7 * DAY);
    ck_assert_int_eq(tick(t0 + 7 * DAY - 1).sent, 0);
    sql("UPDATE enrollments SET state = 'completed' WHERE campaign = 'winback'");
    ck_assert_int_eq(tick(t0 + 7 * DAY).sent, 1);
    ck_assert_int_eq(num("SELECT created_at FROM messages WHERE campaign = '%s'", "capped"), t0 + 7 * DAY);
}
END_TEST

START_TEST(opt_outs_consent_and_missing_campaigns_end_enrollments)
{
    int64_t t0 = utc(2026, 2, 2, 12, 0);
    contact("+353871000005", NULL, NULL, "yes", NULL);
    contact("+353871000006", NULL, NULL, "no", NULL);
    contact("+353871000007", NULL, NULL, "yes", NULL);
    contact("+353871000008", NULL, NULL, "no", "{\"code\": \"SAVE10\"}");
    contact("+353871000009", NULL, NULL, "no", NULL);
    sql("INSERT INTO optouts (recipient, keyword, received_at, source) "
        "VALUES ('+353871000005', 'STOP', 1, 'sms')");
    long long a = enroll("+353871000005", "winback", t0);
    enroll("+353871000006", "winback", t0);
    enroll("+353871000007", "gone", t0);
    enroll("+353871000008", "coded", t0);  /* no consent needed; has the code */
    enroll("+353871000009", "coded", t0);  /* no code: cannot be rendered */
    struct sched_tick_result r = tick(t0);
    ck_assert_int_eq(r.sent, 1);
    ck_assert_int_eq(r.ended, 4);
    ck_assert_str_eq(value("SELECT state || ': ' || reason FROM enrollments WHERE id = %lld", a),
                     "opted_out: recipient opted out (STOP)");
    ck_assert_str_eq(value("SELECT state || ': ' || reason FROM enrollments WHERE recipient = '%s'",
                           "+353871000006"),
                     "exited: the contact's consent is missing or was withdrawn");
    ck_assert_str_eq(value("SELECT reason FROM enrollments WHERE recipient = '%s'", "+353871000007"),
                     "campaign 'gone' is no longer configured");
    ck_assert(strstr(value("SELECT reason FROM enrollments WHERE recipient = '%s'", "+353871000009"),
                     "step 1 cannot be rendered") != NULL);
    ck_assert_str_eq(value("SELECT body FROM messages WHERE recipient = '%s'", "+353871000008"),
                     "Your code is SAVE10");
    ck_assert_int_eq(num("SELECT count(*) FROM events WHERE actor = '%s'", "scheduler"), 4);
    ck_assert_int_eq(num("SELECT count(*) FROM enrollments WHERE ended_at IS NULL AND state != '%s'",
                         "active"), 0);
}
END_TEST

START_TEST(variants_follow_their_weights_and_never_change)
{
    const struct conf_step *step = &conf->campaigns[0].steps[2];
    int b = 0;
    for (int64_t id = 1; id <= 8000; id++) {
        size_t v = sched_pick_variant(step, id, 2);
        ck_assert_int_eq(v, sched_pick_variant(step, id, 2));
        b += v == 1;
    }
    ck_assert_msg(b > 5700 && b < 6300, "B got %d of 8000 at weight 3:1", b);
}
END_TEST

/* A batch that fails half way leaves nothing: no message without its advance, no advance without its message. */
START_TEST(a_failed_batch_is_all_or_nothing)
{
    int64_t t0 = utc(2026, 3, 3, 12, 0);
    char phone[32];
    for (int i = 0; i < 50; i++) {
        snprintf(phone, sizeof phone, "+3538720%05d", i);
        contact(phone, NULL, NULL, "yes", NULL);
        enroll(phone, "winback", t0);
    }
    sql("CREATE TEMP TRIGGER crash BEFORE INSERT ON messages "
        "WHEN (SELECT count(*) FROM messages) >= 30 BEGIN SELECT RAISE(ABORT, 'disk gone'); END");
    struct sched_tick_result r;
    char err[256];
    ck_assert_int_eq(sched_tick(eng, t0, 1000, &r, err, sizeof err), STORE_ERROR);
    ck_assert_int_eq(num("SELECT count(*) FROM messages%s", ""), 0);
    ck_assert_int_eq(num("SELECT count(*) FROM enrollments WHERE current_step = %s", "0"), 50);
    sql("DROP TRIGGER crash");
    ck_assert_int_eq(tick(t0).sent, 50);
    ck_assert_int_eq(tick(t0 + 60).sent, 0);
    ck_assert_int_eq(num("SELECT count(DISTINCT idempotency_key) FROM messages%s", ""), 50);
}
END_TEST

static double seconds_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* Many enrolled, few due: the index keeps a tick cheap; then all become due at once. */
START_TEST(tick_cost_follows_what_is_due)
{
    int64_t t0 = utc(2026, 4, 6, 12, 0);
    int n = 10000;
    sql("BEGIN");
    for (int i = 0; i < n; i++) {
        sql("INSERT INTO contacts (recipient, name, consent, created_at, updated_at) "
            "VALUES ('+3538730%05d', 'N%d', 'yes', 0, 0)", i, i);
        sql("INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, updated_at) "
            "VALUES ('+3538730%05d', 'winback', %lld, 0, 0)", i, (long long)(t0 + DAY));
    }
    sql("COMMIT");
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(tick(t0 + i).sent, 0);
    double idle = seconds_since(&a) / 100;
    ck_assert_msg(idle < 0.001, "an idle tick over %d enrolled took %.3f ms", n, idle * 1e3);
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct sched_tick_result r = tick(t0 + DAY);
    double busy = seconds_since(&a);
    ck_assert_int_eq(r.sent, n);
    fprintf(stderr, "engine: idle tick %.3f ms with %d enrolled; %d due steps in %.2f s "
            "(sanitized build)\n", idle * 1e3, n, n, busy);
    ck_assert_msg(busy < 5.0, "%d due steps took %.2f s", n, busy);
    int64_t next;
    char err[256];
    ck_assert_int_eq(sched_next_due(eng, &next, err, sizeof err), STORE_OK);
    ck_assert_int_eq(next, t0 + 8 * DAY);
}
END_TEST

START_TEST(a_tick_stops_at_max_and_says_more)
{
    int64_t t0 = utc(2026, 4, 6, 12, 0);
    char phone[32], err[256];
    for (int i = 0; i < 30; i++) {
        snprintf(phone, sizeof phone, "+3538740%05d", i);
        contact(phone, NULL, NULL, "yes", NULL);
        enroll(phone, "winback", t0);
    }
    struct sched_tick_result r;
    ck_assert_int_eq(sched_tick(eng, t0, 20, &r, err, sizeof err), STORE_OK);
    ck_assert_int_eq(r.sent, 20);
    ck_assert(r.more);
    ck_assert_int_eq(sched_tick(eng, t0, 20, &r, err, sizeof err), STORE_OK);
    ck_assert_int_eq(r.sent, 10);
    ck_assert(!r.more);
    sql("UPDATE enrollments SET state = 'completed'");
    int64_t next;
    ck_assert_int_eq(sched_next_due(eng, &next, err, sizeof err), STORE_NOT_FOUND);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("engine");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_sequence_goes_step_by_step_and_completes);
    tcase_add_test(t, quiet_hours_make_a_step_wait_for_the_morning);
    tcase_add_test(t, the_cap_defers_a_second_campaign);
    tcase_add_test(t, opt_outs_consent_and_missing_campaigns_end_enrollments);
    tcase_add_test(t, variants_follow_their_weights_and_never_change);
    tcase_add_test(t, a_failed_batch_is_all_or_nothing);
    tcase_add_test(t, tick_cost_follows_what_is_due);
    tcase_add_test(t, a_tick_stops_at_max_and_says_more);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
