/*
 * `homing report` through the real binary on a database written by the
 * store: the aligned table, --json, one campaign or all, a campaign dropped
 * from the configuration, an unknown campaign and bad usage (exit codes).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store.h"
#include "tests/testutil.h"

static char err[512];
static char conf_path[700];

static void sql(struct store *st, const char *q)
{
    char *msg = NULL;
    int rc = sqlite3_exec(store_handle(st), q, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", q, msg ? msg : "?");
}

static void enroll(struct store *st, int id, const char *campaign, const char *state)
{
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO contacts (recipient, created_at, updated_at) "
             "VALUES ('+3538710000%02d', 0, 0);"
             "INSERT INTO enrollments (id, recipient, campaign, current_step, state, "
             "created_at, updated_at) VALUES (%d, '+3538710000%02d', '%s', 1, '%s', 0, 0)",
             id, id, id, campaign, state);
    sql(st, q);
}

/* A campaign message with one part that ends `part` (PART_PENDING: left queued). */
static void message(struct store *st, int enrollment, const char *campaign, int step,
                    const char *variant, enum part_state part)
{
    char to[32];
    snprintf(to, sizeof to, "+3538710000%02d", enrollment);
    struct store_new_message m = { .to = to, .body = "hi", .encoding = "gsm7", .segments = 1,
                                   .source = "campaign", .expires_at = 1000000,
                                   .campaign = campaign, .step = step,
                                   .enrollment_id = enrollment, .variant = variant };
    int64_t id = 0;
    ck_assert_msg(store_enqueue(st, &m, 100, &id, err, sizeof err) == STORE_OK, "%s", err);
    if (part == PART_PENDING)
        return;
    struct store_update u[2] = {
        { .kind = STORE_UPDATE_PLAN, .msg_id = id, .n_parts = 1, .route = "m1" },
        { .kind = STORE_UPDATE_PART, .msg_id = id,
          .part = { .index = 0, .state = part, .ref = "m1:7" } },
    };
    ck_assert_msg(store_apply(st, u, 2, 200, NULL, err, sizeof err) == STORE_OK, "%s", err);
}

/*
 * winback: 4 enrolled; step 0 went to all 4 (2 delivered, 1 sent, 1 refused),
 * one replied and one opted out after it; step 1 (variant A) went to one, who
 * bought for 20. "old" is no longer configured.
 */
static void setup(void)
{
    const char *dir = testutil_tmpdir();
    char db[700], text[2048];
    snprintf(db, sizeof db, "%s/homing.db", dir);
    struct store *st = store_open(db, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    enroll(st, 1, "winback", "completed");
    message(st, 1, "winback", 0, NULL, PART_DELIVERED);
    message(st, 1, "winback", 1, "A", PART_DELIVERED);
    sql(st, "INSERT INTO conversions (recipient, value, at, source, enrollment_id, campaign, "
            "step, variant) VALUES ('+353871000001', 20, 300, 'cli', 1, 'winback', 1, 'A')");
    enroll(st, 2, "winback", "replied");
    message(st, 2, "winback", 0, NULL, PART_DELIVERED);
    enroll(st, 3, "winback", "opted_out");
    message(st, 3, "winback", 0, NULL, PART_SUBMITTED);
    enroll(st, 4, "winback", "active");
    message(st, 4, "winback", 0, NULL, PART_FAILED);
    enroll(st, 5, "old", "completed");
    message(st, 5, "old", 0, NULL, PART_DELIVERED);
    store_close(st);
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "campaigns = ( { name = \"winback\"; steps = (\n"
             "  { after = \"0d\"; text = \"Hi\"; },\n"
             "  { after = \"7d\"; variants = ( { name = \"A\"; text = \"a\"; weight = 1; },\n"
             "                                 { name = \"B\"; text = \"b\"; weight = 1; } ); }\n"
             "); } );\n", db);
    snprintf(conf_path, sizeof conf_path, "%s", testutil_write_file(dir, "homing.conf", text));
}

static int run(char **out, char **errs, const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = { testutil_program("homing"), "report", "-c", conf_path,
                           a1, a2, a3, NULL };
    return testutil_exec(argv, NULL, 20000, out, errs);
}

/* The line of `text` whose first word is `word` (a copy), or NULL. */
static char *line_starting(const char *text, const char *word, const char *after)
{
    const char *p = after ? strstr(text, after) : text;
    size_t n = strlen(word);
    while (p && *p) {
        const char *start = p;
        while (*start == ' ')
            start++;
        const char *end = strchr(p, '\n');
        if (strncmp(start, word, n) == 0 && start[n] == ' ')
            return strndup(p, end ? (size_t)(end - p) : strlen(p));
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The line's words after the first, joined by one space. */
static void squeeze(const char *line, char *out, size_t size)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    out[0] = 0;
    char *save = NULL;
    strtok_r(copy, " ", &save);
    for (char *w = strtok_r(NULL, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        strncat(out, w, size - strlen(out) - 1);
        strncat(out, " ", size - strlen(out) - 1);
    }
}

static void expect_row(const char *text, const char *label, const char *after, const char *want,
                       size_t width)
{
    char *line = line_starting(text, label, after);
    ck_assert_msg(line != NULL, "no row '%s' in:\n%s", label, text);
    char got[512];
    squeeze(line, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "row %s: '%s', want '%s'", label, got, want);
    ck_assert_msg(strlen(line) == width, "row %s is %zu wide, the header %zu", label,
                  strlen(line), width);
    free(line);
}

START_TEST(table_of_every_campaign)
{
    setup();
    char *out = NULL, *errs = NULL;
    ck_assert_int_eq(run(&out, &errs, NULL, NULL, NULL), 0);
    ck_assert_msg(strncmp(out, "winback\n", 8) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "enrollments: active 1, completed 1, converted 0, "
                                      "replied 1, opted_out 1, exited 0\n"));
    char *header = line_starting(out, "step", NULL);
    ck_assert_ptr_nonnull(header);
    size_t width = strlen(header);
    free(header);
    /* enrolled sent delivered rate failed replied rate converted rate value opted-out rate */
    expect_row(out, "0", NULL, "4 3 2 66.7% 1 1 33.3% 0 0.0% 0.00 1 33.3% ", width);
    expect_row(out, "1", NULL, "1 1 1 100.0% 0 0 0.0% 1 100.0% 20.00 0 0.0% ", width);
    expect_row(out, "total", NULL, "4 4 3 75.0% 1 1 25.0% 1 25.0% 20.00 1 25.0% ", width);
    /* Variants: A went once and converted, B never went (no rate). */
    ck_assert_ptr_nonnull(strstr(out, "variant"));
    char *a = line_starting(out, "1", "variant");
    ck_assert_ptr_nonnull(a);
    char got[256];
    squeeze(a, got, sizeof got);
    ck_assert_str_eq(got, "A 1 1 100.0% 20.00 ");
    free(a);
    ck_assert_ptr_nonnull(strstr(out, "\n  1      B                    0         0       -"));
    /* The dropped campaign follows, steps by index. */
    ck_assert_ptr_nonnull(strstr(out, "\nold (not in the configuration)\n"));
    expect_row(out, "0*", "\nold", "1 1 1 100.0% 0 0 0.0% 0 0.0% 0.00 0 0.0% ", width);
    ck_assert_str_eq(errs, "");
    free(out);
    free(errs);
}
END_TEST

START_TEST(json_of_one_campaign)
{
    setup();
    char *out = NULL, *errs = NULL;
    ck_assert_int_eq(run(&out, &errs, "winback", "--json", NULL), 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    json_t *list = json_object_get(j, "campaigns");
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *c = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "name")), "winback");
    ck_assert(json_is_true(json_object_get(c, "in_config")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(c, "enrollments"),
                                                        "replied")), 1);
    json_t *t = json_object_get(c, "total");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "enrolled")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "sent")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "delivered")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "failed")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "replied")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "converted")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "opted_out")), 1);
    ck_assert(json_real_value(json_object_get(t, "value")) == 20.0);
    ck_assert(json_real_value(json_object_get(t, "delivery_rate")) == 0.75);
    ck_assert(json_real_value(json_object_get(t, "conversion_rate")) == 0.25);
    json_t *steps = json_object_get(c, "steps");
    ck_assert_int_eq(json_array_size(steps), 2);
    json_t *s0 = json_array_get(steps, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "step")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "enrolled")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "sent")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "opted_out")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(s0, "variants")), 0);
    json_t *vs = json_object_get(json_array_get(steps, 1), "variants");
    ck_assert_int_eq(json_array_size(vs), 2);
    json_t *b = json_array_get(vs, 1);
    ck_assert_str_eq(json_string_value(json_object_get(b, "name")), "B");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "sent")), 0);
    ck_assert(json_is_null(json_object_get(b, "conversion_rate")));
    json_decref(j);
    free(out);
    free(errs);
    /* The campaign that left the configuration, by name. */
    ck_assert_int_eq(run(&out, &errs, "--json", "old", NULL), 0);
    j = json_loads(out, 0, &jerr);
    c = json_array_get(json_object_get(j, "campaigns"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "name")), "old");
    ck_assert(json_is_false(json_object_get(c, "in_config")));
    json_decref(j);
    free(out);
    free(errs);
}
END_TEST

START_TEST(errors_and_exit_codes)
{
    setup();
    char *out = NULL, *errs = NULL;
    ck_assert_int_eq(run(&out, &errs, "winbak", NULL, NULL), 1);
    ck_assert_str_eq(errs, "homing report: no campaign 'winbak'; campaigns: winback, old\n");
    ck_assert_str_eq(out, "");
    free(out);
    free(errs);
    ck_assert_int_eq(run(&out, &errs, "winback", "old", NULL), 2);
    ck_assert_ptr_nonnull(strstr(errs, "one campaign at most"));
    free(out);
    free(errs);
    ck_assert_int_eq(run(&out, &errs, "--bogus", NULL, NULL), 2);
    free(out);
    free(errs);
    ck_assert_int_eq(run(&out, &errs, "--help", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: homing report [CAMPAIGN] [--json]"));
    free(out);
    free(errs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report_cli");
    TCase *t = tcase_create("report_cli");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, table_of_every_campaign);
    tcase_add_test(t, json_of_one_campaign);
    tcase_add_test(t, errors_and_exit_codes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
