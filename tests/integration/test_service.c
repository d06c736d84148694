/*
 * The real binary: `homing run` starts on a config in a temporary folder, a
 * SIGHUP with a broken file keeps it running on the old one, a good file is
 * taken, SIGTERM ends it with exit 0; the CLI sends and reads back through
 * the same database while the service runs.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700];

static const char *good_conf(const char *country)
{
    static char text[1024];
    snprintf(text, sizeof text, "database = \"%s/db/homing.db\";\nhttp = { listen = \"127.0.0.1:0\"; };\n"
             "defaults = { country = \"%s\"; };\nservice = { tick = \"1s\"; };\n", dir, country);
    return text;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s", testutil_tmpdir());
    snprintf(conf_path, sizeof conf_path, "%s", testutil_write_file(dir, "homing.conf",
                                                                    good_conf("IE")));
    snprintf(log_path, sizeof log_path, "%s/service.log", dir);
}

static pid_t start_service(void)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    pid_t pid = testutil_spawn(argv, log_path);
    ck_assert_int_gt(pid, 0);
    ck_assert_msg(testutil_wait_for_text(log_path, " ready", 10000), "service did not start");
    return pid;
}

/* Runs `homing ARGS... -c conf`; returns the exit code, output in *out. */
static int homing(char **out, char **err_out, const char *a1, const char *a2, const char *a3,
                  const char *a4)
{
    const char *argv[] = { testutil_program("homing"), a1, a2, a3, a4, NULL, NULL, NULL };
    int n = 1;
    while (argv[n])
        n++;
    argv[n] = "-c";
    argv[n + 1] = conf_path;
    return testutil_exec(argv, NULL, 20000, out, err_out);
}

START_TEST(sighup_with_broken_config_keeps_running_then_sigterm_exits_0)
{
    pid_t pid = start_service();
    ck_assert(testutil_wait_for_text(log_path, "no modem or SMPP bind is configured", 1000));
    char opened[64];
    snprintf(opened, sizeof opened, "schema_version=%d", store_schema_latest());
    ck_assert(testutil_wait_for_text(log_path, opened, 1000));

    testutil_write_file(dir, "homing.conf", "database = 42;\nbogus = true;\n");
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert(testutil_wait_for_text(log_path, "config reload rejected", 10000));
    ck_assert(testutil_wait_for_text(log_path, "homing.conf:2: bogus: unknown key", 1000));
    ck_assert_int_eq(kill(pid, 0), 0); /* still running */

    testutil_write_file(dir, "homing.conf", good_conf("GB"));
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert(testutil_wait_for_text(log_path, "config reloaded", 10000));

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(testutil_wait_exit(pid, 10000), 0);
    ck_assert(testutil_wait_for_text(log_path, "stopped cleanly", 1000));
}
END_TEST

START_TEST(sigint_also_stops_cleanly)
{
    pid_t pid = start_service();
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    ck_assert_int_eq(testutil_wait_exit(pid, 10000), 0);
}
END_TEST

START_TEST(run_refuses_a_broken_config_with_exit_2)
{
    testutil_write_file(dir, "homing.conf", "modems = ( { name = \"m1\"; port = \"/dev/x\"; } );\n"
                        "routes = ( { match = \"+\"; via = [ \"m2\" ]; } );\n");
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(homing(&out, &err, "run", NULL, NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(err, "homing.conf:2: routes[0].via[0]: no modem or SMPP bind "
                                      "is named 'm2'"));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "config", "check", NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(out, "routes[0].via[0]"));
    free(out);
    free(err);
}
END_TEST

START_TEST(cli_send_is_readable_while_the_service_runs)
{
    pid_t pid = start_service();
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(homing(&out, &err, "send", "087 123 4567", "Hello € {you}", "--json"), 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "send --json printed: %s", out);
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    ck_assert_int_gt(id, 0);
    json_decref(j);
    free(out);
    free(err);

    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    ck_assert_int_eq(homing(&out, &err, "show", idtext, "--json", NULL), 0);
    j = json_loads(out, 0, &jerr);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "+353871234567");
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "queued");
    ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "gsm7");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "segments")), 1);
    ck_assert(json_is_array(json_object_get(j, "parts")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "created_at")), "T"));
    json_decref(j);
    free(out);
    free(err);

    /* The running service sees the CLI's commit. */
    ck_assert(testutil_wait_for_text(log_path, "queue depth queued=1", 10000));

    ck_assert_int_eq(homing(&out, &err, "messages", "--state", "queued", "--json"), 0);
    j = json_loads(out, 0, &jerr);
    ck_assert_int_eq(json_array_size(j), 1);
    ck_assert_ptr_null(json_object_get(json_array_get(j, 0), "parts"));
    json_decref(j);
    free(out);
    free(err);

    ck_assert_int_eq(homing(&out, &err, "send", "12ab", "x", NULL), 2);
    ck_assert_ptr_nonnull(strstr(err, "'12ab' is not a phone number"));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "show", "999", NULL, NULL), 1);
    ck_assert_ptr_nonnull(strstr(err, "no message with id 999"));
    free(out);
    free(err);

    kill(pid, SIGTERM);
    ck_assert_int_eq(testutil_wait_exit(pid, 10000), 0);
}
END_TEST

START_TEST(cli_follows_the_service_clock_under_time_scale)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, "--time-scale",
                           "3600", "--start-at", "2030-01-01T00:00:00Z", NULL };
    pid_t pid = testutil_spawn(argv, log_path);
    ck_assert(testutil_wait_for_text(log_path, " ready", 10000));
    ck_assert(testutil_wait_for_text(log_path, "clock runs 3600x real time", 1000));
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(homing(&out, &err, "send", "+353871234567", "tick tock", NULL), 0);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", atoll(out));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "show", idtext, "--json", NULL), 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_ptr_nonnull(j);
    /* Within the first hours of 2030 on the service clock, whatever the machine's zone. */
    const char *created = json_string_value(json_object_get(j, "created_at"));
    ck_assert_msg(strncmp(created, "2030-01-01", 10) == 0 || strncmp(created, "2029-12-31", 10) == 0,
                  "created_at %s is not on the service clock", created);
    json_decref(j);
    free(out);
    free(err);
    kill(pid, SIGTERM);
    ck_assert_int_eq(testutil_wait_exit(pid, 10000), 0);
}
END_TEST

START_TEST(optout_by_hand_suppresses_and_refuses)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(homing(&out, &err, "send", "0870000042", "queued before", NULL), 0);
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "optout", "add", "0870000042", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "+353870000042 opted out; 1 queued message suppressed"));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "send", "+353870000042", "after", NULL), 1);
    ck_assert_ptr_nonnull(strstr(err, "+353870000042 opted out (MANUAL"));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "optout", "list", "--json", NULL), 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "msisdn")),
                     "+353870000042");
    ck_assert_ptr_nonnull(json_object_get(json_array_get(j, 0), "at"));
    json_decref(j);
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "optout", "remove", "+353870000042", NULL), 0);
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "send", "+353870000042", "welcome back", NULL), 0);
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "optout", "remove", "+353870000042", NULL), 1);
    ck_assert_ptr_nonnull(strstr(err, "has not opted out"));
    free(out);
    free(err);
}
END_TEST

START_TEST(help_and_version)
{
    char *out = NULL, *err = NULL;
    const char *argv[] = { testutil_program("homing"), "--version", NULL };
    ck_assert_int_eq(testutil_exec(argv, NULL, 5000, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "homing "));
    free(out);
    free(err);
    const char *cmds[] = { "run", "config", "send", "messages", "show", "status", "optout",
                           "inbound", "segments", "pdu", "modems" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *hargv[] = { testutil_program("homing"), cmds[i], "--help", NULL };
        ck_assert_int_eq(testutil_exec(hargv, NULL, 5000, &out, &err), 0);
        ck_assert_msg(strstr(out, "usage: homing ") != NULL, "%s --help: %s", cmds[i], out);
        free(out);
        free(err);
    }
    const char *bad[] = { testutil_program("homing"), "frobnicate", NULL };
    ck_assert_int_eq(testutil_exec(bad, NULL, 5000, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "no command 'frobnicate'"));
    free(out);
    free(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("service");
    TCase *t = tcase_create("service");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, sighup_with_broken_config_keeps_running_then_sigterm_exits_0);
    tcase_add_test(t, sigint_also_stops_cleanly);
    tcase_add_test(t, run_refuses_a_broken_config_with_exit_2);
    tcase_add_test(t, cli_send_is_readable_while_the_service_runs);
    tcase_add_test(t, cli_follows_the_service_clock_under_time_scale);
    tcase_add_test(t, optout_by_hand_suppresses_and_refuses);
    tcase_add_test(t, help_and_version);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
