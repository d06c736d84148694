/*
 * Campaign reports on a real database: every figure and rate of a campaign
 * whose enrollments went every way (delivered, failed, half sent, requeued
 * after a part went, expired, suppressed by an opt-out, replied before any
 * step went, converted with and without a value), its A/B variants, a
 * configured campaign with nothing yet (no division by zero), a campaign
 * dropped from the configuration, the all-campaigns view and its order, an
 * unknown campaign, and the JSON shape.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_report.h"
#include "tests/testutil.h"

static char err[1024];

static const char conf_text[] =
    "campaigns = (\n"
    "  { name = \"winback\"; steps = (\n"
    "      { after = \"0d\"; text = \"Hi\"; },\n"
    "      { after = \"7d\"; text = \"Again\"; },\n"
    "      { after = \"30d\"; variants = ( { name = \"A\"; text = \"a\"; weight = 1; },\n"
    "                                      { name = \"B\"; text = \"b\"; weight = 1; } ); }\n"
    "  ); },\n"
    "  { name = \"empty\"; steps = ( { after = \"0d\"; text = \"x\"; } ); }\n"
    ");\n";

struct fixture {
    struct store *st;
    struct conf *conf;
};

static void sql(struct store *st, const char *q)
{
    char *msg = NULL;
    int rc = sqlite3_exec(store_handle(st), q, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", q, msg ? msg : "?");
}

static void enroll(struct store *st, int id, const char *campaign, int current_step,
                   const char *state)
{
    char q[512];
    snprintf(q, sizeof q,
             "INSERT OR IGNORE INTO contacts (recipient, created_at, updated_at) "
             "VALUES ('+3538700000%02d', 0, 0);"
             "INSERT INTO enrollments (id, recipient, campaign, current_step, state, "
             "created_at, updated_at) VALUES (%d, '+3538700000%02d', '%s', %d, '%s', 0, 0)",
             id, id, id, campaign, current_step, state);
    sql(st, q);
}

/* A campaign message whose parts end in `parts` (n of them; n 0: left queued). */
static int64_t message(struct store *st, int enrollment, const char *campaign, int step,
                       const char *variant, const enum part_state *parts, int n)
{
    char to[32];
    snprintf(to, sizeof to, "+3538700000%02d", enrollment);
    struct store_new_message m = { .to = to, .body = "hi", .encoding = "gsm7",
                                   .segments = n ? n : 1, .source = "campaign",
                                   .expires_at = 1000000, .campaign = campaign, .step = step,
                                   .enrollment_id = enrollment, .variant = variant };
    int64_t id = 0;
    ck_assert_msg(store_enqueue(st, &m, 100, &id, err, sizeof err) == STORE_OK, "%s", err);
    if (n == 0)
        return id;
    struct store_update u[8] = { { .kind = STORE_UPDATE_PLAN, .msg_id = id, .n_parts = n,
                                   .route = "m1" } };
    for (int i = 0; i < n; i++) {
        u[1 + i].kind = STORE_UPDATE_PART;
        u[1 + i].msg_id = id;
        u[1 + i].part = (struct store_part_update){ .index = i, .state = parts[i], .ref = "m1:1" };
    }
    ck_assert_msg(store_apply(st, u, (size_t)n + 1, 200, NULL, err, sizeof err) == STORE_OK, "%s", err);
    return id;
}

static const enum part_state DELIVERED[] = { PART_DELIVERED };
static const enum part_state SENT[] = { PART_SUBMITTED };
static const enum part_state UNDELIVERED[] = { PART_UNDELIVERED };
static const enum part_state FAILED[] = { PART_FAILED };
static const enum part_state HALF_FAILED[] = { PART_SUBMITTED, PART_FAILED };
static const enum part_state HALF_SENT[] = { PART_SUBMITTED, PART_PENDING };

static void conversion(struct store *st, int enrollment, const char *campaign, const char *step,
                       const char *variant, const char *value)
{
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO conversions (recipient, value, at, source, enrollment_id, campaign, "
             "step, variant) VALUES ('+3538700000%02d', %s, 300, 'cli', %d, '%s', %s, %s)",
             enrollment, value, enrollment, campaign, step, variant);
    sql(st, q);
}

/* winback, as the expected figures in the tests below count it. */
static void winback(struct store *st)
{
    enroll(st, 1, "winback", 3, "completed");   /* every step; converted on A without a value */
    message(st, 1, "winback", 0, NULL, DELIVERED, 1);
    message(st, 1, "winback", 1, NULL, DELIVERED, 1);
    message(st, 1, "winback", 2, "A", DELIVERED, 1);
    conversion(st, 1, "winback", "2", "'A'", "NULL");
    enroll(st, 2, "winback", 2, "replied");     /* replied after step 1 */
    message(st, 2, "winback", 0, NULL, DELIVERED, 1);
    message(st, 2, "winback", 1, NULL, SENT, 1);
    enroll(st, 3, "winback", 2, "opted_out");   /* STOP after step 0: step 1 suppressed */
    message(st, 3, "winback", 0, NULL, DELIVERED, 1);
    int64_t s = message(st, 3, "winback", 1, NULL, NULL, 0);
    ck_assert_int_eq(store_suppress(st, s, "opted out", 250, err, sizeof err), STORE_OK);
    enroll(st, 4, "winback", 3, "converted");   /* converted on B */
    message(st, 4, "winback", 0, NULL, DELIVERED, 1);
    message(st, 4, "winback", 1, NULL, DELIVERED, 1);
    message(st, 4, "winback", 2, "B", DELIVERED, 1);
    conversion(st, 4, "winback", "2", "'B'", "25");
    enroll(st, 5, "winback", 1, "active");      /* refused outright */
    message(st, 5, "winback", 0, NULL, FAILED, 1);
    enroll(st, 6, "winback", 1, "active");      /* one part went, the other was refused */
    message(st, 6, "winback", 0, NULL, HALF_FAILED, 2);
    enroll(st, 7, "winback", 3, "active");      /* step 1 expired, step 2 without receipt */
    message(st, 7, "winback", 0, NULL, DELIVERED, 1);
    int64_t e = message(st, 7, "winback", 1, NULL, NULL, 0);
    char q[128];
    snprintf(q, sizeof q, "UPDATE messages SET state = 'expired' WHERE id = %lld", (long long)e);
    sql(st, q);
    message(st, 7, "winback", 2, "A", SENT, 1);
    enroll(st, 8, "winback", 0, "replied");     /* replied before anything went */
    enroll(st, 9, "winback", 1, "converted");   /* converted after step 0 */
    message(st, 9, "winback", 0, NULL, DELIVERED, 1);
    conversion(st, 9, "winback", "0", "NULL", "10");
    enroll(st, 10, "winback", 1, "active");     /* step 0 still queued; converted, no step */
    message(st, 10, "winback", 0, NULL, NULL, 0);
    conversion(st, 10, "winback", "NULL", "NULL", "5");
    enroll(st, 11, "winback", 1, "exited");     /* the receipt said undelivered */
    message(st, 11, "winback", 0, NULL, UNDELIVERED, 1);
    enroll(st, 12, "winback", 1, "active");     /* a part went, then requeued for the other */
    int64_t h = message(st, 12, "winback", 0, NULL, HALF_SENT, 2);
    ck_assert_int_eq(store_requeue(st, h, 400, "busy", true, 5, 300, NULL, err, sizeof err),
                     STORE_OK);
}

/* "old" is in the database only: dropped from the configuration. */
static void old(struct store *st)
{
    enroll(st, 21, "old", 2, "completed");
    message(st, 21, "old", 0, NULL, DELIVERED, 1);
    message(st, 21, "old", 1, NULL, DELIVERED, 1);
    conversion(st, 21, "old", "1", "NULL", "7.5");
    enroll(st, 22, "old", 1, "opted_out");
    message(st, 22, "old", 0, NULL, DELIVERED, 1);
}

static struct fixture setup(void)
{
    const char *dir = testutil_tmpdir();
    char path[700];
    snprintf(path, sizeof path, "%s/homing.db", dir);
    struct fixture f;
    f.st = store_open(path, err, sizeof err);
    ck_assert_msg(f.st != NULL, "store_open: %s", err);
    struct conf_errors errs = { 0 };
    char cpath[700];
    snprintf(cpath, sizeof cpath, "%s", testutil_write_file(dir, "homing.conf", conf_text));
    f.conf = conf_load(cpath, &errs);
    ck_assert_msg(f.conf != NULL, "%s", errs.n ? errs.lines[0] : "conf_load");
    conf_errors_free(&errs);
    winback(f.st);
    old(f.st);
    return f;
}

static void teardown(struct fixture *f)
{
    store_close(f->st);
    conf_free(f->conf);
}

static struct sched_report *build(struct fixture *f, const char *campaign)
{
    struct sched_report *r = NULL;
    enum sched_report_rc rc = sched_report_build(f->st, f->conf, campaign, &r, err, sizeof err);
    ck_assert_msg(rc == SCHED_REPORT_OK, "%s", err);
    return r;
}

struct expect {
    int64_t enrolled, sent, delivered, failed, replied, converted, opted_out;
    double value;
};

static void check_counts(const char *what, const struct sched_report_counts *c,
                         struct expect e)
{
    ck_assert_msg(c->enrolled == e.enrolled, "%s enrolled %lld", what, (long long)c->enrolled);
    ck_assert_msg(c->sent == e.sent, "%s sent %lld", what, (long long)c->sent);
    ck_assert_msg(c->delivered == e.delivered, "%s delivered %lld", what,
                  (long long)c->delivered);
    ck_assert_msg(c->failed == e.failed, "%s failed %lld", what, (long long)c->failed);
    ck_assert_msg(c->replied == e.replied, "%s replied %lld", what, (long long)c->replied);
    ck_assert_msg(c->converted == e.converted, "%s converted %lld", what,
                  (long long)c->converted);
    ck_assert_msg(c->opted_out == e.opted_out, "%s opted_out %lld", what,
                  (long long)c->opted_out);
    ck_assert_msg(fabs(c->value - e.value) < 1e-9, "%s value %f", what, c->value);
}

#define RATE_EQ(got, want) ck_assert_msg(fabs((got) - (want)) < 1e-9, "rate %f, want %f", (got), (want))

START_TEST(every_figure_per_step_and_in_total)
{
    struct fixture f = setup();
    struct sched_report *r = build(&f, "winback");
    ck_assert_int_eq(r->n_campaigns, 1);
    const struct sched_report_campaign *c = &r->campaigns[0];
    ck_assert_str_eq(c->name, "winback");
    ck_assert(c->in_config);
    ck_assert_int_eq(c->n_steps, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(c->steps[i].index, i);
        ck_assert(c->steps[i].in_config);
    }
    check_counts("step 0", &c->steps[0].c, (struct expect){ 11, 9, 6, 2, 0, 1, 1, 10.0 });
    check_counts("step 1", &c->steps[1].c, (struct expect){ 5, 3, 2, 1, 1, 0, 0, 0.0 });
    check_counts("step 2", &c->steps[2].c, (struct expect){ 3, 3, 2, 0, 0, 2, 0, 25.0 });
    /* The total counts the reply before any step and the conversion credited to no step. */
    check_counts("total", &c->total, (struct expect){ 12, 15, 10, 3, 2, 4, 1, 40.0 });
    const int64_t states[SCHED_ENR_STATE_COUNT] = { 5, 1, 2, 2, 1, 1 };
    for (int i = 0; i < SCHED_ENR_STATE_COUNT; i++)
        ck_assert_msg(c->states[i] == states[i], "%s: %lld",
                      sched_enroll_state_name((enum sched_enroll_state)i),
                      (long long)c->states[i]);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(rates_are_of_the_messages_sent)
{
    RATE_EQ(sched_report_rate(6, 8), 0.75);
    ck_assert(sched_report_rate(0, 0) < 0);
    ck_assert(sched_report_rate(3, 0) < 0);
    struct fixture f = setup();
    struct sched_report *r = build(&f, "winback");
    json_t *j = sched_report_json(r);
    json_t *c = json_array_get(json_object_get(j, "campaigns"), 0);
    json_t *s0 = json_array_get(json_object_get(c, "steps"), 0);
    RATE_EQ(json_real_value(json_object_get(s0, "delivery_rate")), 6.0 / 9);
    RATE_EQ(json_real_value(json_object_get(s0, "reply_rate")), 0.0);
    RATE_EQ(json_real_value(json_object_get(s0, "conversion_rate")), 1.0 / 9);
    RATE_EQ(json_real_value(json_object_get(s0, "optout_rate")), 1.0 / 9);
    json_t *s1 = json_array_get(json_object_get(c, "steps"), 1);
    RATE_EQ(json_real_value(json_object_get(s1, "delivery_rate")), 2.0 / 3);
    RATE_EQ(json_real_value(json_object_get(s1, "reply_rate")), 1.0 / 3);
    json_t *t = json_object_get(c, "total");
    RATE_EQ(json_real_value(json_object_get(t, "delivery_rate")), 10.0 / 15);
    RATE_EQ(json_real_value(json_object_get(t, "reply_rate")), 2.0 / 15);
    RATE_EQ(json_real_value(json_object_get(t, "conversion_rate")), 4.0 / 15);
    RATE_EQ(json_real_value(json_object_get(t, "optout_rate")), 1.0 / 15);
    RATE_EQ(json_real_value(json_object_get(t, "value")), 40.0);
    json_decref(j);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(variants_convert_at_their_own_rate)
{
    struct fixture f = setup();
    struct sched_report *r = build(&f, "winback");
    const struct sched_report_campaign *c = &r->campaigns[0];
    ck_assert_int_eq(c->steps[0].n_variants, 0);
    ck_assert_int_eq(c->steps[1].n_variants, 0);
    const struct sched_report_step *s = &c->steps[2];
    ck_assert_int_eq(s->n_variants, 2);
    ck_assert_str_eq(s->variants[0].name, "A");
    ck_assert_int_eq(s->variants[0].sent, 2);
    ck_assert_int_eq(s->variants[0].converted, 1);
    RATE_EQ(s->variants[0].value, 0.0);
    ck_assert_str_eq(s->variants[1].name, "B");
    ck_assert_int_eq(s->variants[1].sent, 1);
    ck_assert_int_eq(s->variants[1].converted, 1);
    RATE_EQ(s->variants[1].value, 25.0);
    json_t *j = sched_report_json(r);
    json_t *vs = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "campaigns"), 0),
                                       "steps"), 2), "variants");
    ck_assert_int_eq(json_array_size(vs), 2);
    RATE_EQ(json_real_value(json_object_get(json_array_get(vs, 0), "conversion_rate")), 0.5);
    RATE_EQ(json_real_value(json_object_get(json_array_get(vs, 1), "conversion_rate")), 1.0);
    json_decref(j);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(every_campaign_in_order)
{
    struct fixture f = setup();
    sql(f.st, "INSERT INTO contacts (recipient, created_at, updated_at) VALUES ('+35387999', 0, 0);"
              "INSERT INTO enrollments (recipient, campaign, state, created_at, updated_at) "
              "VALUES ('+35387999', 'abandoned', 'exited', 0, 0)");
    struct sched_report *r = build(&f, NULL);
    ck_assert_int_eq(r->n_campaigns, 4);
    /* Configured ones in config order, then the database's by name. */
    ck_assert_str_eq(r->campaigns[0].name, "winback");
    ck_assert_str_eq(r->campaigns[1].name, "empty");
    ck_assert_str_eq(r->campaigns[2].name, "abandoned");
    ck_assert_str_eq(r->campaigns[3].name, "old");
    ck_assert(r->campaigns[1].in_config);
    ck_assert(!r->campaigns[2].in_config && !r->campaigns[3].in_config);
    /* The same figures as the campaign alone. */
    check_counts("winback", &r->campaigns[0].total,
                 (struct expect){ 12, 15, 10, 3, 2, 4, 1, 40.0 });
    ck_assert_int_eq(r->campaigns[2].n_steps, 0);
    ck_assert_int_eq(r->campaigns[2].total.enrolled, 1);
    ck_assert_int_eq(r->campaigns[2].states[SCHED_ENR_EXITED], 1);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(an_empty_campaign_has_no_rates)
{
    struct fixture f = setup();
    struct sched_report *r = build(&f, "empty");
    ck_assert_int_eq(r->n_campaigns, 1);
    const struct sched_report_campaign *c = &r->campaigns[0];
    ck_assert_int_eq(c->n_steps, 1);
    check_counts("empty step", &c->steps[0].c, (struct expect){ 0 });
    check_counts("empty total", &c->total, (struct expect){ 0 });
    json_t *j = sched_report_json(r);
    json_t *jc = json_array_get(json_object_get(j, "campaigns"), 0);
    const char *rates[] = { "delivery_rate", "reply_rate", "conversion_rate", "optout_rate" };
    for (size_t i = 0; i < 4; i++) {
        ck_assert(json_is_null(json_object_get(json_object_get(jc, "total"), rates[i])));
        ck_assert(json_is_null(
            json_object_get(json_array_get(json_object_get(jc, "steps"), 0), rates[i])));
    }
    json_decref(j);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(a_campaign_dropped_from_config_is_reported_by_index)
{
    struct fixture f = setup();
    struct sched_report *r = build(&f, "old");
    ck_assert_int_eq(r->n_campaigns, 1);
    const struct sched_report_campaign *c = &r->campaigns[0];
    ck_assert(!c->in_config);
    ck_assert_int_eq(c->n_steps, 2);
    ck_assert(!c->steps[0].in_config && !c->steps[1].in_config);
    check_counts("old 0", &c->steps[0].c, (struct expect){ 2, 2, 2, 0, 0, 0, 1, 0.0 });
    check_counts("old 1", &c->steps[1].c, (struct expect){ 1, 1, 1, 0, 0, 1, 0, 7.5 });
    check_counts("old", &c->total, (struct expect){ 2, 3, 3, 0, 0, 1, 1, 7.5 });
    sched_report_free(r);
    /* Without any configuration at all, too. */
    struct sched_report *r2 = NULL;
    ck_assert_int_eq(sched_report_build(f.st, NULL, "winback", &r2, err, sizeof err),
                     SCHED_REPORT_OK);
    ck_assert_int_eq(r2->campaigns[0].n_steps, 3);
    ck_assert_int_eq(r2->campaigns[0].steps[2].n_variants, 2);
    sched_report_free(r2);
    teardown(&f);
}
END_TEST

START_TEST(a_step_or_variant_only_in_the_data_follows_the_configured_ones)
{
    struct fixture f = setup();
    enroll(f.st, 30, "winback", 5, "completed");
    message(f.st, 30, "winback", 4, NULL, DELIVERED, 1);
    message(f.st, 30, "winback", 2, "0-old", DELIVERED, 1);
    struct sched_report *r = build(&f, "winback");
    const struct sched_report_campaign *c = &r->campaigns[0];
    ck_assert_int_eq(c->n_steps, 4);
    ck_assert_int_eq(c->steps[3].index, 4);
    ck_assert(!c->steps[3].in_config);
    ck_assert_int_eq(c->steps[3].c.delivered, 1);
    ck_assert_int_eq(c->steps[2].n_variants, 3);
    ck_assert_str_eq(c->steps[2].variants[0].name, "A");
    ck_assert_str_eq(c->steps[2].variants[2].name, "0-old");
    ck_assert(!c->steps[2].variants[2].in_config);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

START_TEST(an_unknown_campaign_names_those_that_exist)
{
    struct fixture f = setup();
    struct sched_report *r = (struct sched_report *)1;
    ck_assert_int_eq(sched_report_build(f.st, f.conf, "winbak", &r, err, sizeof err),
                     SCHED_REPORT_UNKNOWN);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err, "no campaign 'winbak'; campaigns: winback, empty, old");
    teardown(&f);
}
END_TEST

START_TEST(an_empty_database_has_no_campaigns)
{
    char path[700];
    snprintf(path, sizeof path, "%s/empty.db", testutil_tmpdir());
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_ptr_nonnull(st);
    struct sched_report *r = NULL;
    ck_assert_int_eq(sched_report_build(st, NULL, "x", &r, err, sizeof err),
                     SCHED_REPORT_UNKNOWN);
    ck_assert_str_eq(err, "no campaign 'x'; there are no campaigns");
    ck_assert_int_eq(sched_report_build(st, NULL, NULL, &r, err, sizeof err), SCHED_REPORT_OK);
    ck_assert_int_eq(r->n_campaigns, 0);
    sched_report_free(r);
    store_close(st);
}
END_TEST

START_TEST(the_json_shape_is_stable)
{
    struct fixture f = setup();
    struct sched_report *r = build(&f, "empty");
    json_t *j = sched_report_json(r);
    char *text = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
    const char *want =
        "{\"campaigns\":[{\"name\":\"empty\",\"in_config\":true,\"enrollments\":{\"active\":0,"
        "\"completed\":0,\"converted\":0,\"replied\":0,\"opted_out\":0,\"exited\":0},"
        "\"total\":{\"enrolled\":0,\"sent\":0,\"delivered\":0,\"failed\":0,\"replied\":0,"
        "\"converted\":0,\"value\":0.0,\"opted_out\":0,\"delivery_rate\":null,"
        "\"reply_rate\":null,\"conversion_rate\":null,\"optout_rate\":null},"
        "\"steps\":[{\"step\":0,\"in_config\":true,\"enrolled\":0,\"sent\":0,\"delivered\":0,"
        "\"failed\":0,\"replied\":0,\"converted\":0,\"value\":0.0,\"opted_out\":0,"
        "\"delivery_rate\":null,\"reply_rate\":null,\"conversion_rate\":null,"
        "\"optout_rate\":null,\"variants\":[]}]}]}";
    ck_assert_str_eq(text, want);
    free(text);
    json_decref(j);
    sched_report_free(r);
    teardown(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *t = tcase_create("report");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, every_figure_per_step_and_in_total);
    tcase_add_test(t, rates_are_of_the_messages_sent);
    tcase_add_test(t, variants_convert_at_their_own_rate);
    tcase_add_test(t, every_campaign_in_order);
    tcase_add_test(t, an_empty_campaign_has_no_rates);
    tcase_add_test(t, a_campaign_dropped_from_config_is_reported_by_index);
    tcase_add_test(t, a_step_or_variant_only_in_the_data_follows_the_configured_ones);
    tcase_add_test(t, an_unknown_campaign_names_those_that_exist);
    tcase_add_test(t, an_empty_database_has_no_campaigns);
    tcase_add_test(t, the_json_shape_is_stable);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
