/*
 * A modem that goes silent in the middle of a send, against tools/modem-sim
 * with two modems: at default settings its message is delivered through the
 * other modem within 10 s, a warning names it, and it is used again once it
 * answers; a part whose PDU went out before the silence is sent again as a
 * counted possible duplicate; a STOP that arrives meanwhile suppresses every
 * message the silent modem held, and its confirmation goes by the other one;
 * a stop waits service.shutdown_grace for what is in flight, then names it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_log[700], sub_log[700], ctl_path[700];
static char db_path[700];
static pid_t sim_pid, homing_pid;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_log,
                                            .sub_log = sub_log });
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Both modems in one failover route, with the settings a user gets unless
 * `extra` (more keys for each modem) and `service` (the service group's
 * keys) say otherwise.
 */
static void start_all(const char *extra, const char *service)
{
    sim_pid = harness_start_modem_sim(dir, 2, ctl_path, sub_log, sim_log, NULL);
    char text[4096];
    snprintf(text, sizeof text,
             "database = \"%s\";\nhttp = { listen = \"127.0.0.1:0\"; };\n"
             "service = { %s };\n"
             "modems = (\n"
             "  { name = \"m1\"; port = \"%s/m1\"; %s },\n"
             "  { name = \"m2\"; port = \"%s/m2\"; %s }\n);\n"
             "routes = ( { match = \"+\"; via = [ \"m1\", \"m2\" ]; strategy = \"failover\"; } );\n",
             db_path, service, dir, extra, dir, extra);
    testutil_write_file(dir, "homing.conf", text);
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "modem=m1 ready", 15000), "m1 not ready");
    ck_assert_msg(testutil_wait_for_text(log_path, "modem=m2 ready", 15000), "m2 not ready");
}

static void stop_all(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 15000), 0);
    harness_stop(&sim_pid, 5000);
}

static const char *ctl(const char *cmd)
{
    return harness_ctl(ctl_path, cmd);
}

static const char *query(const char *sql, int64_t arg)
{
    return harness_query_id(db_path, sql, arg);
}

static bool wait_for_query(const char *sql, int64_t arg, const char *want, int timeout_ms)
{
    return harness_wait_for_query_id(db_path, sql, arg, want, timeout_ms);
}

#define STATE_OF "SELECT state FROM messages WHERE id = ?1"

/* Submits the simulator logged with this text (and from this modem, when given). */
static size_t count_submits(const char *text, const char *modem)
{
    json_t *list = harness_jsonl(sub_log);
    size_t n = 0, i;
    json_t *j;
    json_array_foreach(list, i, j) {
        const char *t = json_string_value(json_object_get(j, "text"));
        const char *m = json_string_value(json_object_get(j, "modem"));
        n += t && strstr(t, text) && (!modem || (m && strcmp(m, modem) == 0));
    }
    json_decref(list);
    return n;
}

/* The value of one /metrics line (its name and labels as written), or -1. */
static long metric(const char *line_start)
{
    char *body = NULL;
    ck_assert_int_eq(harness_http(harness_http_port(log_path), "GET", "/metrics", "change-me",
                                  NULL, NULL, &body), 200);
    const char *at = strstr(body, line_start);
    long v = at ? strtol(at + strlen(line_start), NULL, 10) : -1;
    free(body);
    return v;
}

START_TEST(silent_modem_fails_over_within_ten_seconds_at_defaults)
{
    start_all("", "");
    ctl("modem m1 hang-at cmgs"); /* m1 stops answering once it has its next AT+CMGS */
    int64_t t0 = mono_ms();
    int64_t id = harness_send(conf_path, "+353871234567", "while m1 is silent", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 10000));
    int64_t took = mono_ms() - t0;
    ck_assert_msg(took < 10000, "failover took %lld ms", (long long)took);
    fprintf(stderr, "failover to m2 took %lld ms\n", (long long)took);
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "m2");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 did not answer AT+CMGS (no prompt)",
                                     1000));
    /* Nothing had left m1: one copy, through m2, and no possible duplicate counted. */
    ck_assert_int_eq(count_submits("while m1 is silent", NULL), 1);
    ck_assert_int_eq(count_submits("while m1 is silent", "m2"), 1);
    ck_assert_int_eq(metric("homing_driver_unconfirmed_total{driver=\"m1\"} "), 0);
    ck_assert_int_eq(metric("homing_driver_up{driver=\"m1\",kind=\"modem\"} "), 0);

    /* It answers again: the recovery ladder brings it back and failover picks it first. */
    ctl("modem m1 unhang");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 answers again", 30000));
    ck_assert(testutil_wait_for_text(log_path, "recovery step", 1000));
    for (int i = 0; i < 100 && metric("homing_driver_up{driver=\"m1\",kind=\"modem\"} ") != 1; i++)
        usleep(100 * 1000);
    int64_t back = harness_send(conf_path, "+353871234567", "m1 answers again", NULL);
    ck_assert(wait_for_query(STATE_OF, back, "sent", 15000));
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", back), "m1");
    ck_assert_int_eq(count_submits("m1 answers again", "m1"), 1);
    stop_all();
}
END_TEST

START_TEST(part_written_before_the_silence_is_a_counted_possible_duplicate)
{
    start_all("send_timeout = \"3s\";", "");
    ctl("modem m1 hang-at pdu"); /* the SMS leaves m1, its +CMGS never comes back */
    int64_t id = harness_send(conf_path, "+353871234567", "maybe twice", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 15000));
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "m2");
    ck_assert(testutil_wait_for_text(log_path, "as a possible duplicate", 1000));
    ck_assert_int_eq(count_submits("maybe twice", "m1"), 1);
    ck_assert_int_eq(count_submits("maybe twice", "m2"), 1);
    ck_assert_int_eq(metric("homing_driver_unconfirmed_total{driver=\"m1\"} "), 1);
    ck_assert_int_eq(metric("homing_driver_unconfirmed_total{driver=\"m2\"} "), 0);
    ck_assert_int_eq(atoi(query("SELECT attempts FROM messages WHERE id = ?1", id)), 0);
    stop_all();
}
END_TEST

#define WHO "+353871234599"

START_TEST(stop_while_the_only_outbound_modem_is_silent_suppresses_all_it_held)
{
    start_all("", "");
    ctl("modem m1 hang-at cmgs");
    /* Three messages that may only go by m1: one in its AT+CMGS, one waiting in it, one queued. */
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof text, "offer %d", i + 1);
        ids[i] = harness_send(conf_path, WHO, text, "m1");
    }
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE state = 'sending' AND ?1", 1,
                             "2", 5000));
    int64_t t0 = mono_ms();
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE state = 'queued' AND ?1", 1), "1");
    ctl("modem m2 sms " WHO " STOP");
    for (int i = 0; i < 3; i++)
        ck_assert_msg(wait_for_query(STATE_OF, ids[i], "suppressed", 10000),
                      "offer %d is %s", i + 1, query(STATE_OF, ids[i]));
    ck_assert(wait_for_query("SELECT state FROM messages WHERE source = 'consent' AND ?1", 1,
                             "sent", 10000));
    int64_t took = mono_ms() - t0;
    ck_assert_msg(took < 10000, "the confirmation took %lld ms", (long long)took);
    ck_assert_str_eq(query("SELECT route FROM messages WHERE source = 'consent' AND ?1", 1), "m2");
    ck_assert_int_eq(count_submits("offer", NULL), 0);
    ck_assert_int_eq(count_submits("You are unsubscribed", "m2"), 1);
    stop_all();
}
END_TEST

START_TEST(stop_waits_the_shutdown_grace_and_names_what_is_in_flight)
{
    start_all("prompt_timeout = \"60s\";", "shutdown_grace = \"2s\";");
    ctl("modem m1 hang-at cmgs");
    int64_t id = harness_send(conf_path, "+353871234567", "in flight at the stop", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sending", 5000));
    sleep(1); /* m1 has the AT+CMGS: it waits for a prompt that never comes */
    int64_t t0 = mono_ms();
    kill(homing_pid, SIGTERM);
    int status = testutil_wait_exit(homing_pid, 15000);
    int64_t took = mono_ms() - t0;
    homing_pid = 0;
    ck_assert_int_eq(status, 0);
    ck_assert_msg(took >= 1800 && took < 6000, "the stop took %lld ms", (long long)took);
    ck_assert(testutil_wait_for_text(log_path, "waiting up to 2s for parts in flight", 100));
    ck_assert(testutil_wait_for_text(log_path, "shutdown grace of 2s over with 1 message in "
                                     "flight", 100));
    char named[64];
    snprintf(named, sizeof named, "msg=%lld still in flight on driver=m1", (long long)id);
    ck_assert(testutil_wait_for_text(log_path, named, 100));
    harness_stop(&sim_pid, 5000);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("silent_modem");
    TCase *t = tcase_create("silent");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, silent_modem_fails_over_within_ten_seconds_at_defaults);
    tcase_add_test(t, part_written_before_the_silence_is_a_counted_possible_duplicate);
    tcase_add_test(t, stop_while_the_only_outbound_modem_is_silent_suppresses_all_it_held);
    tcase_add_test(t, stop_waits_the_shutdown_grace_and_names_what_is_in_flight);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
