/*
 * Enrollment and conversions against a store on disk: every refusal with
 * its reason (unknown campaign, bad vars, no consent, opted out, already
 * enrolled, reenroll_after, a template field missing), what a successful
 * enrollment writes, and a conversion's credit and the enrollments it ends.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_contacts.h"
#include "scheduler/sched_enroll.h"
#include "tests/testutil.h"

#define NOW 1790000000LL   /* 2026-09-21 */
#define DAY 86400

static struct conf *conf;
static struct store *st;

static void setup(void)
{
    const char *dir = testutil_tmpdir();
    char text[2048], path[600], err[256];
    setenv("TZ", "UTC", 1);   /* reasons print dates in local time */
    tzset();
    snprintf(text, sizeof text,
             "database = \"%s/homing.db\";\n"
             "campaigns = (\n"
             "  { name = \"winback\"; exit_on = [\"conversion\", \"reply\"]; reenroll_after = \"90d\";\n"
             "    attribution_window = \"7d\";\n"
             "    steps = ( { after = \"1h\"; text = \"Hi {name|there}, use {code}\"; },\n"
             "              { after = \"7d\"; variants = ( { name = \"A\"; text = \"A {name|you}\"; },\n"
             "                                            { name = \"B\"; text = \"B {city}\"; } ); } ); },\n"
             "  { name = \"open\"; consent_required = false; exit_on = [\"conversion\"];\n"
             "    steps = ( { text = \"Hello {name|there}\"; } ); },\n"
             "  { name = \"noexit\"; consent_required = false; exit_on = [\"reply\"];\n"
             "    steps = ( { text = \"x\"; } ); }\n"
             ");\n", dir);
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, "homing.conf", text));
    struct conf_errors errs = { 0 };
    conf = conf_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.lines[i]);
    conf_errors_free(&errs);
    ck_assert_ptr_nonnull(conf);
    st = store_open(conf->database, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    snprintf(path, sizeof path, "%s",
             testutil_write_file(dir, "c.csv",
                                 "phone,name,consent,code,city\n"
                                 "+353870000001,Zoë,yes,SAVE10,Cork\n"
                                 "+353870000002,Al,no,X,Cork\n"
                                 "+353870000003,Bo,,X,Cork\n"
                                 "+353870000004,Cy,yes,,\n"
                                 "+353870000005,Di,yes,Y,Galway\n"));
    struct sched_import imp = { .country = "IE", .now = NOW - DAY };
    ck_assert(sched_contacts_import(st, path, &imp, err, sizeof err));
    ck_assert_int_eq(imp.imported, 5);
}

static void teardown(void)
{
    store_close(st);
    conf_free(conf);
}

static enum sched_enroll_rc enroll(const char *campaign, const char *msisdn, const char *vars,
                                   int64_t now, struct sched_enroll_result *res)
{
    json_t *v = vars ? json_loads(vars, 0, NULL) : NULL;
    struct sched_enrollment e = { .campaign = campaign, .msisdn = msisdn, .vars = v,
                                  .source = "test", .now = now };
    enum sched_enroll_rc rc = sched_enroll(st, conf, &e, res);
    json_decref(v);
    return rc;
}

#define REFUSED(rc_want, needle, campaign, msisdn, vars, now) do { \
        struct sched_enroll_result r_; \
        ck_assert_int_eq(enroll(campaign, msisdn, vars, now, &r_), rc_want); \
        ck_assert_msg(strstr(r_.reason, needle), "reason '%s' lacks '%s'", r_.reason, needle); \
    } while (0)

/* One integer from SQL. */
static int64_t sql_int(const char *sql)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st), sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void sql(const char *text)
{
    ck_assert_int_eq(sqlite3_exec(store_handle(st), text, NULL, NULL, NULL), SQLITE_OK);
}

START_TEST(enrolled_with_its_first_step_due)
{
    struct sched_enroll_result r;
    ck_assert_int_eq(enroll("winback", "+353870000001", "{\"offer\": \"20%\", \"n\": 3}", NOW, &r),
                     SCHED_ENROLLED);
    ck_assert_int_gt(r.id, 0);
    ck_assert_int_eq(r.next_due_at, NOW + 3600);
    char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM enrollments WHERE id = %lld AND state = 'active' "
             "AND current_step = 0 AND next_due_at = %lld AND source = 'test' AND "
             "vars = '{\"n\":3,\"offer\":\"20%%\"}' AND created_at = %lld", (long long)r.id,
             NOW + 3600, NOW);
    ck_assert_int_eq(sql_int(q), 1);
    snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE entity = 'enrollment' AND "
             "entity_id = '%lld' AND action = 'enrolled' AND detail = 'winback'", (long long)r.id);
    ck_assert_int_eq(sql_int(q), 1);
}
END_TEST

START_TEST(refusals_name_the_reason)
{
    REFUSED(SCHED_UNKNOWN_CAMPAIGN, "no campaign is named 'nope'", "nope", "+353870000001", NULL, NOW);
    REFUSED(SCHED_BAD_VARS, "vars must be an object", "winback", "+353870000001", "[1]", NOW);
    REFUSED(SCHED_BAD_VARS, "vars.x must be a string or a number", "winback", "+353870000001",
            "{\"x\": {\"y\": 1}}", NOW);
    REFUSED(SCHED_NO_CONSENT, "+353879999999 is not a contact: campaign winback needs recorded "
            "consent", "winback", "+353879999999", NULL, NOW);
    REFUSED(SCHED_NO_CONSENT, "+353870000002 has not consented (consent: no)", "winback",
            "+353870000002", NULL, NOW);
    REFUSED(SCHED_NO_CONSENT, "no consent is recorded for +353870000003", "winback",
            "+353870000003", NULL, NOW);
    REFUSED(SCHED_MISSING_FIELD, "step 1 of 2: the template needs {code} and the contact has "
            "no 'code'", "winback", "+353870000004", NULL, NOW);
    REFUSED(SCHED_MISSING_FIELD, "step 2 of 2, variant B: the template needs {city}",
            "winback", "+353870000004", "{\"code\": \"V1\"}", NOW);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM enrollments"), 0);
    struct sched_enroll_result r;   /* vars fill what the contact lacks */
    ck_assert_int_eq(enroll("winback", "+353870000004", "{\"code\": \"V1\", \"city\": \"Tuam\"}",
                            NOW, &r), SCHED_ENROLLED);
}
END_TEST

START_TEST(opted_out_names_the_date)
{
    char err[256];
    int suppressed;
    ck_assert_int_eq(store_consent_optout(st, "+353870000001", "STOP", "test", NOW - 3600,
                                          &suppressed, err, sizeof err), STORE_OK);
    REFUSED(SCHED_OPTED_OUT, "+353870000001 opted out on 2026-09-21T", "winback",
            "+353870000001", NULL, NOW);
    REFUSED(SCHED_OPTED_OUT, "(STOP)", "open", "+353870000001", NULL, NOW);
}
END_TEST

START_TEST(already_enrolled_and_reenroll_after)
{
    struct sched_enroll_result first, r;
    ck_assert_int_eq(enroll("winback", "+353870000001", NULL, NOW, &first), SCHED_ENROLLED);
    ck_assert_int_eq(enroll("winback", "+353870000001", NULL, NOW + 5, &r), SCHED_ALREADY_ENROLLED);
    ck_assert_int_eq(r.id, first.id);
    char want[128];
    snprintf(want, sizeof want, "already enrolled in winback (enrollment %lld, since 2026-09-21T",
             (long long)first.id);
    ck_assert_msg(strstr(r.reason, want), "%s", r.reason);
    /* Another campaign is another matter. */
    ck_assert_int_eq(enroll("open", "+353870000001", NULL, NOW, &r), SCHED_ENROLLED);

    struct sched_conversion c = { .msisdn = "+353870000001", .source = "test", .now = NOW + DAY };
    struct sched_convert_result cr;
    char err[256];
    ck_assert(sched_convert(st, conf, &c, &cr, err, sizeof err));
    REFUSED(SCHED_TOO_SOON, "left winback on 2026-09-22T", "winback", "+353870000001", NULL,
            NOW + 2 * DAY);
    REFUSED(SCHED_TOO_SOON, "it may be enrolled again from 2026-12-21T", "winback",
            "+353870000001", NULL, NOW + 2 * DAY);
    ck_assert_int_eq(enroll("winback", "+353870000001", NULL, NOW + 91 * DAY, &r), SCHED_ENROLLED);
    /* open has reenroll_after 90d too (the default). */
    REFUSED(SCHED_TOO_SOON, "left open", "open", "+353870000001", NULL, NOW + 2 * DAY);
}
END_TEST

START_TEST(without_consent_required_a_stranger_becomes_a_contact)
{
    struct sched_enroll_result r;
    ck_assert_int_eq(enroll("open", "+353879999999", NULL, NOW, &r), SCHED_ENROLLED);
    ck_assert_int_eq(r.next_due_at, NOW);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM contacts WHERE recipient = '+353879999999' "
                             "AND consent IS NULL"), 1);
    /* and a contact who said no may still get a campaign that does not ask for consent */
    ck_assert_int_eq(enroll("open", "+353870000002", NULL, NOW, &r), SCHED_ENROLLED);
}
END_TEST

START_TEST(batches_commit_together)
{
    char err[256];
    struct sched_enroller *en = sched_enroller_new(st, conf, err, sizeof err);
    ck_assert_ptr_nonnull(en);
    struct sched_enroll_result r;
    struct sched_enrollment e = { .campaign = "open", .msisdn = "+353870000001", .now = NOW };
    ck_assert_int_eq(sched_enroller_add(en, &e, &r), SCHED_ENROLLED);
    ck_assert_int_eq(sched_enroller_add(en, &e, &r), SCHED_ALREADY_ENROLLED); /* same batch */
    e.msisdn = "+353870000005";
    ck_assert_int_eq(sched_enroller_add(en, &e, &r), SCHED_ENROLLED);
    ck_assert(sched_enroller_commit(en, err, sizeof err));
    e.msisdn = "+353870000004";
    ck_assert_int_eq(sched_enroller_add(en, &e, &r), SCHED_ENROLLED);
    sched_enroller_free(en);   /* not committed: rolled back */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM enrollments"), 2);
}
END_TEST

START_TEST(conversion_credits_the_last_step_and_ends_enrollments)
{
    struct sched_enroll_result w, o, n;
    ck_assert_int_eq(enroll("winback", "+353870000005", NULL, NOW, &w), SCHED_ENROLLED);
    ck_assert_int_eq(enroll("open", "+353870000005", NULL, NOW, &o), SCHED_ENROLLED);
    ck_assert_int_eq(enroll("noexit", "+353870000005", NULL, NOW, &n), SCHED_ENROLLED);
    /* What the engine does when step 2 (index 1, variant B) goes. */
    struct store_new_message m = { .to = "+353870000005", .body = "B Galway", .encoding = "gsm7",
                                   .segments = 1, .source = "campaign", .expires_at = NOW + DAY,
                                   .campaign = "winback", .step = 1, .enrollment_id = w.id,
                                   .variant = "B" };
    int64_t msg_id;
    char err[256], q[256];
    ck_assert_int_eq(store_enqueue(st, &m, NOW + 7 * DAY, &msg_id, err, sizeof err), STORE_OK);
    snprintf(q, sizeof q, "UPDATE enrollments SET current_step = 2, last_sent_at = %lld "
             "WHERE id = %lld", NOW + 7 * DAY, (long long)w.id);
    sql(q);

    struct sched_conversion c = { .msisdn = "+353870000005", .has_value = true, .value = 42.5,
                                  .source = "test", .now = NOW + 8 * DAY };
    struct sched_convert_result r;
    ck_assert(sched_convert(st, conf, &c, &r, err, sizeof err));
    ck_assert(r.credited);
    ck_assert_str_eq(r.campaign, "winback");
    ck_assert_int_eq(r.step, 1);
    ck_assert_str_eq(r.variant, "B");
    ck_assert_int_eq(r.message_id, msg_id);
    ck_assert_int_eq(r.enrollment_id, w.id);
    ck_assert_int_eq(r.n_ended, 2);
    ck_assert_int_eq(r.ended[0].id, w.id);
    ck_assert_int_eq(r.ended[1].id, o.id);
    snprintf(q, sizeof q, "SELECT count(*) FROM conversions WHERE id = %lld AND value = 42.5 AND "
             "campaign = 'winback' AND step = 1 AND variant = 'B' AND message_id = %lld AND "
             "enrollment_id = %lld", (long long)r.id, (long long)msg_id, (long long)w.id);
    ck_assert_int_eq(sql_int(q), 1);
    snprintf(q, sizeof q, "SELECT count(*) FROM enrollments WHERE state = 'converted' AND "
             "ended_at = %lld", NOW + 8 * DAY);
    ck_assert_int_eq(sql_int(q), 2);
    snprintf(q, sizeof q, "SELECT count(*) FROM enrollments WHERE id = %lld AND state = 'active'",
             (long long)n.id);
    ck_assert_int_eq(sql_int(q), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE action = 'converted'"), 2);

    /* A second conversion a week later is outside the window: recorded, not credited. */
    c.now = NOW + 15 * DAY;
    c.has_value = false;
    ck_assert(sched_convert(st, conf, &c, &r, err, sizeof err));
    ck_assert(!r.credited);
    ck_assert_int_eq(r.n_ended, 0);
    snprintf(q, sizeof q, "SELECT count(*) FROM conversions WHERE id = %lld AND value IS NULL "
             "AND campaign IS NULL AND step IS NULL", (long long)r.id);
    ck_assert_int_eq(sql_int(q), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("enroll");
    TCase *t = tcase_create("enroll");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, enrolled_with_its_first_step_due);
    tcase_add_test(t, refusals_name_the_reason);
    tcase_add_test(t, opted_out_names_the_date);
    tcase_add_test(t, already_enrolled_and_reenroll_after);
    tcase_add_test(t, without_consent_required_a_stranger_becomes_a_contact);
    tcase_add_test(t, batches_commit_together);
    tcase_add_test(t, conversion_credits_the_last_step_and_ends_enrollments);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
