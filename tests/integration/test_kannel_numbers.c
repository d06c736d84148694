/*
 * kannel_compat.numbers on a running `homing run` with defaults.country "SE":
 * Kannel passes `to` on as written, so its applications send 46701234567
 * (country code, no +) as well as 0701234567. Under each of the three values,
 * sendsms gets the +, 00, country-code-alone and national forms, and the test
 * checks the recipient the store holds, or Kannel's status and reply text on
 * refusal. /v1/messages and the CLI keep reading numbers nationally, and a
 * `from` of digits is stored as written. No modem: what matters is what is
 * accepted and stored, not that it is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

#define TOKEN "t0ken"

static char dir[512], conf_path[700], log_path[700], db_path[700];
static pid_t homing_pid;
static int port;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path });
}

static void start_homing(const char *numbers)
{
    char text[1024];
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "http = { listen = \"127.0.0.1:0\"; token = \"" TOKEN "\"; };\n"
             "defaults = { country = \"SE\"; timezone = \"Europe/Stockholm\"; };\n"
             "kannel_compat = { users = ( { username = \"app\"; password = \"pw\"; } );\n"
             "  numbers = \"%s\"; };\n", db_path, numbers);
    testutil_write_file(dir, "homing.conf", text);
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert(testutil_wait_for_text(log_path, "http listening on", 15000));
    port = harness_http_port(log_path);
}

static void stop_homing(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 20000), 0);
}

/* One sendsms case: `to` as the application writes it (URL-encoded; a space separates
 * receivers, so none is written with spaces). */
struct sendsms_case {
    const char *to;
    int status;                  /* 202, or 400 for a refusal */
    const char *says;            /* 202: the stored recipient; 400: part of the reply */
};

/* Sends case `i`'s number with a text that names it, then checks reply and store. */
static void check_case(const char *numbers, size_t i, const struct sendsms_case *c)
{
    char path[256], text[64], *body;
    snprintf(text, sizeof text, "%s-case-%zu", numbers, i);
    snprintf(path, sizeof path, "/cgi-bin/sendsms?username=app&password=pw&to=%s&text=%s", c->to,
             text);
    int status = harness_http(port, "GET", path, NULL, NULL, NULL, &body);
    ck_assert_msg(status == c->status, "%s: to=%s -> %d %s", numbers, c->to, status, body);
    const char *recipient =
        harness_query_text(db_path, "SELECT recipient FROM messages WHERE body = ?1", text);
    if (c->status == 202) {
        ck_assert_str_eq(body, "0: Accepted for delivery\n");
        ck_assert_msg(strcmp(recipient, c->says) == 0, "%s: to=%s stored as '%s', not '%s'",
                      numbers, c->to, recipient, c->says);
    } else {
        ck_assert_msg(strstr(body, c->says) && strstr(body, ", rejected\n"),
                      "%s: to=%s replied '%s', without '%s'", numbers, c->to, body, c->says);
        ck_assert_msg(*recipient == '\0', "%s: refused to=%s was stored", numbers, c->to);
    }
    free(body);
}

/* The forms every value reads alike: + and 00 are international everywhere. */
static void check_marked_forms(const char *numbers)
{
    const struct sendsms_case marked[] = {
        { "%2B46701234567", 202, "+46701234567" },
        { "%2B46-70-123-45-67", 202, "+46701234567" },
        { "0046701234567", 202, "+46701234567" },
        { "%2B447700900123", 202, "+447700900123" },
        { "00447700900123", 202, "+447700900123" },
    };
    for (size_t i = 0; i < sizeof marked / sizeof marked[0]; i++)
        check_case(numbers, 100 + i, &marked[i]);
}

static void check_cases(const char *numbers, const struct sendsms_case *cases, size_t n)
{
    check_marked_forms(numbers);
    for (size_t i = 0; i < n; i++)
        check_case(numbers, i, &cases[i]);
}

/* /v1/messages reads national under every kannel_compat.numbers: 46701234567 is too long. */
static void check_api_reads_national(void)
{
    char *body;
    int status = harness_http(port, "POST", "/v1/messages", TOKEN, "application/json",
                              "{\"to\": \"46701234567\", \"text\": \"api\"}", &body);
    ck_assert_msg(status == 400 && strstr(body, "has 11 digits after the trunk prefix; numbers "
                                                "in SE have 7 to 9"), "%d %s", status, body);
    free(body);
    status = harness_http(port, "POST", "/v1/messages", TOKEN, "application/json",
                          "{\"to\": \"0701234567\", \"text\": \"api national\"}", &body);
    ck_assert_msg(status == 202, "%d %s", status, body);
    free(body);
    ck_assert_str_eq(harness_query_text(db_path, "SELECT recipient FROM messages WHERE body = ?1",
                                        "api national"), "+46701234567");
}

/* So does `homing send`. */
static void check_cli_reads_national(void)
{
    const char *argv[] = { testutil_program("homing"), "send", "-c", conf_path, "46701234567",
                           "cli", NULL };
    char *out = NULL, *err = NULL;
    int rc = testutil_exec(argv, NULL, 20000, &out, &err);
    ck_assert_msg(rc == 2 && strstr(err, "has 11 digits after the trunk prefix"), "exit %d: %s",
                  rc, err);
    free(out);
    free(err);
}

START_TEST(national_reads_digits_in_defaults_country)
{
    start_homing("national");
    const struct sendsms_case cases[] = {
        { "0701234567", 202, "+46701234567" },
        { "070-123.45.67", 202, "+46701234567" },
        { "701234567", 202, "+46701234567" },
        { "491234567", 202, "+46491234567" },
        { "46701234567", 400, "to: '46701234567' has 11 digits after the trunk prefix; numbers "
                              "in SE have 7 to 9" },
        { "447700900123", 400, "to: '447700900123' has 12 digits after the trunk prefix" },
    };
    check_cases("national", cases, sizeof cases / sizeof cases[0]);
    check_api_reads_national();
    stop_homing();
}
END_TEST

START_TEST(international_reads_digits_as_country_code_first)
{
    start_homing("international");
    const struct sendsms_case cases[] = {
        { "46701234567", 202, "+46701234567" },
        { "447700900123", 202, "+447700900123" },
        { "491234567", 202, "+491234567" },
        { "0701234567", 400, "to: '0701234567' read as international does not start with a "
                             "country calling code (kannel_compat.numbers is \"international\")" },
        { "4670123", 400, "to: '4670123' read as international is +46 70123, 5 digits after "
                          "the country code; numbers in SE have 7 to 9" },
        { "2421234567", 400, "starts with +242, whose numbering plan homing does not know" },
    };
    check_cases("international", cases, sizeof cases / sizeof cases[0]);
    check_api_reads_national();
    check_cli_reads_national();
    stop_homing();
}
END_TEST

START_TEST(auto_takes_the_valid_reading_and_refuses_two)
{
    start_homing("auto");
    const struct sendsms_case cases[] = {
        { "46701234567", 202, "+46701234567" },
        { "447700900123", 202, "+447700900123" },
        { "0701234567", 202, "+46701234567" },
        { "701234567", 202, "+46701234567" },
        { "491234567", 400, "to: '491234567' is ambiguous: national in SE it is +46491234567, "
                            "international it is +491234567 (DE); write it with + or 00, or set "
                            "kannel_compat.numbers to \"national\" or \"international\"" },
        { "12345", 400, "to: '12345' has 5 digits after the trunk prefix; numbers in SE have 7 "
                        "to 9 (or write it with +country code); read as international it is "
                        "+1 2345, 4 digits after the country code" },
    };
    check_cases("auto", cases, sizeof cases / sizeof cases[0]);
    check_api_reads_national();
    /* A `from` of digits is a sender id, stored as the application wrote it. */
    char *body;
    ck_assert_int_eq(harness_http(port, "GET", "/cgi-bin/sendsms?username=app&password=pw"
                                  "&to=46701234567&from=46700000000&text=from+digits", NULL, NULL,
                                  NULL, &body), 202);
    free(body);
    ck_assert_str_eq(harness_query_text(db_path, "SELECT sender FROM messages WHERE body = ?1",
                                        "from digits"), "46700000000");
    stop_homing();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kannel_numbers");
    TCase *t = tcase_create("sendsms");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, national_reads_digits_in_defaults_country);
    tcase_add_test(t, international_reads_digits_as_country_code_first);
    tcase_add_test(t, auto_takes_the_valid_reading_and_refuses_two);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
