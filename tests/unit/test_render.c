/*
 * Campaign templates: fields, fallbacks, literal braces, numbers, UTF-8, and
 * every syntax error with its column.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/sched_render.h"
#include "tests/testutil.h"

static json_t *fields(void)
{
    return json_pack("{s:s, s:s, s:i, s:f, s:s, s:s, s:n}", "name", "Zoë", "code", "SAVE10",
                     "visits", 12, "spent", 12.5, "empty", "", "city", "Dún Laoghaire",
                     "nothing");
}

/* Renders and compares; fails the test with the error if rendering fails. */
static void expect(const char *tmpl, const char *want)
{
    json_t *f = fields();
    char err[256] = "";
    char *got = sched_render(tmpl, f, err, sizeof err);
    ck_assert_msg(got != NULL, "'%s': %s", tmpl, err);
    ck_assert_str_eq(got, want);
    free(got);
    json_decref(f);
}

static void expect_error(const char *tmpl, const char *needle)
{
    json_t *f = fields();
    char err[256] = "";
    char *got = sched_render(tmpl, f, err, sizeof err);
    ck_assert_msg(got == NULL, "'%s' rendered as '%s'", tmpl, got ? got : "");
    ck_assert_msg(strstr(err, needle), "'%s': error '%s' lacks '%s'", tmpl, err, needle);
    json_decref(f);
}

START_TEST(fields_are_filled)
{
    expect("Hi {name}, use {code}", "Hi Zoë, use SAVE10");
    expect("", "");
    expect("no fields at all", "no fields at all");
    expect("{name}{code}", "ZoëSAVE10");
    expect("{city}", "Dún Laoghaire");
}
END_TEST

START_TEST(fallbacks)
{
    expect("Hi {first|there}", "Hi there");
    expect("Hi {name|there}", "Hi Zoë");
    expect("Hi {empty|friend}", "Hi friend");      /* empty counts as missing */
    expect("Hi {nothing|friend}", "Hi friend");    /* null too */
    expect("[{first|}]", "[]");                    /* an empty fallback is allowed */
    expect("{first|a | b}", "a | b");
    expect("{first|Grüße}", "Grüße");
}
END_TEST

START_TEST(literal_braces)
{
    expect("{{name}}", "{name}");
    expect("a {{ b }} c", "a { b } c");
    expect("{{{name}}}", "{Zoë}");
}
END_TEST

START_TEST(numbers_as_written)
{
    expect("{visits} visits", "12 visits");
    expect("€{spent}", "€12.5");
}
END_TEST

START_TEST(missing_field_is_an_error)
{
    expect_error("Hi {first}", "the template needs {first} and the contact has no 'first'");
    expect_error("Hi {first}", "{first|fallback}");
    expect_error("{empty}", "no 'empty'");
    char err[256];
    ck_assert_ptr_null(sched_render("{name}", NULL, err, sizeof err));
}
END_TEST

START_TEST(syntax_errors_name_the_column)
{
    expect_error("Hi {name", "column 4: '{' is not closed");
    expect_error("Hi } there", "column 4: '}' with no '{'");
    expect_error("Hi {}", "column 4: empty field name");
    expect_error("Hi {|x}", "column 4: empty field name");
    expect_error("Hi {first name}", "column 10: ' ' cannot be part of a field name");
    expect_error("Hi {a{b}}", "column 4: '{' is not closed");
    expect_error("Grüße {x", "column 7: '{' is not closed"); /* characters, not bytes */
    expect_error("{x|fallback", "'{' is not closed");

    char err[256];
    ck_assert(sched_template_ok("Hi {name|there} {{ok}}", err, sizeof err));
    ck_assert(sched_template_ok("{anything_at.all-1}", err, sizeof err));
    ck_assert(!sched_template_ok("oops }", err, sizeof err));
    ck_assert_str_eq(err, "column 6: '}' with no '{' before it (write }} for a literal '}')");
    ck_assert(!sched_template_ok("x {", err, sizeof err));
    ck_assert_str_eq(err, "column 3: '{' is not closed (write {{ for a literal '{')");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("render");
    TCase *t = tcase_create("render");
    tcase_add_test(t, fields_are_filled);
    tcase_add_test(t, fallbacks);
    tcase_add_test(t, literal_braces);
    tcase_add_test(t, numbers_as_written);
    tcase_add_test(t, missing_field_is_an_error);
    tcase_add_test(t, syntax_errors_name_the_column);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
