/*
 * `homing run` against tools/modem-sim with two modems: what goes out arrives
 * decoded as sent (the simulator's own log), status reports mark parts
 * delivered, received messages are stored (reassembled, swept from the SIM at
 * start), a PIN is entered once, +CMS errors are retried, and a hung or
 * unplugged modem's work moves to the other one without loss or duplicates.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void start_sim(const char *pin)
{
    const char *extra[] = { pin ? "--pin" : NULL, pin, NULL };
    sim_pid = harness_start_modem_sim(dir, 2, ctl_path, sub_log, sim_log, extra);
}

/* Writes the config: both modems, fast timeouts so failures show within seconds. */
static void write_conf(const char *pin)
{
    char text[4096];
    snprintf(text, sizeof text,
             "database = \"%s\";\nretry = { backoff = \"1s\"; attempts = 6; };\n"
             "http = { listen = \"127.0.0.1:0\"; };\n"
             "modems = (\n"
             "  { name = \"m1\"; port = \"%s/m1\"; pin = \"%s\"; sends_per_minute = 600;\n"
             "    send_timeout = \"3s\"; poll = \"1s\"; },\n"
             "  { name = \"m2\"; port = \"%s/m2\"; pin = \"%s\"; sends_per_minute = 600;\n"
             "    send_timeout = \"3s\"; poll = \"1s\"; }\n);\n"
             "routes = ( { match = \"+\"; via = [ \"m1\", \"m2\" ]; strategy = \"failover\"; } );\n",
             db_path, dir, pin ? pin : "", dir, pin ? pin : "");
    testutil_write_file(dir, "homing.conf", text);
}

static void start_homing(void)
{
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

/* One control command; returns the answer line (static). */
static const char *ctl(const char *cmd)
{
    return harness_ctl(ctl_path, cmd);
}

static int64_t send_msg(const char *to, const char *text, const char *route)
{
    return harness_send(conf_path, to, text, route);
}

/* A single value from the database, as text ("" when no row). */
static const char *query(const char *sql, int64_t arg)
{
    return harness_query_id(db_path, sql, arg);
}

static bool wait_for_query(const char *sql, int64_t arg, const char *want, int timeout_ms)
{
    return harness_wait_for_query_id(db_path, sql, arg, want, timeout_ms);
}

#define STATE_OF "SELECT state FROM messages WHERE id = ?1"

/* The submits the simulator logged, as a JSON array. */
static json_t *submits(void)
{
    return harness_jsonl(sub_log);
}

static size_t count_submits_with(const char *key, const char *value)
{
    json_t *list = submits();
    size_t n = 0, i;
    json_t *j;
    json_array_foreach(list, i, j) {
        const char *v = json_string_value(json_object_get(j, key));
        n += v && strcmp(v, value) == 0;
    }
    json_decref(list);
    return n;
}

START_TEST(sends_arrive_as_sent_and_receipts_mark_them)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    int64_t one = send_msg("+353871234567", "Hello € [world]", NULL);
    char long_text[400];
    snprintf(long_text, sizeof long_text, "%s", "Long message: ");
    while (strlen(long_text) < 200)
        strcat(long_text, "GSM only: Ää Öö Üü Ññ ");
    int64_t two = send_msg("0871234568", long_text, NULL);
    ck_assert(wait_for_query(STATE_OF, one, "sent", 15000));
    ck_assert(wait_for_query(STATE_OF, two, "sent", 15000));

    json_t *list = submits();
    ck_assert_int_eq(json_array_size(list), 3);
    json_t *first = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "text")), "Hello € [world]");
    ck_assert_str_eq(json_string_value(json_object_get(first, "to")), "+353871234567");
    ck_assert(json_is_true(json_object_get(first, "srr")));
    /* The two parts of the long message: same reference, seq 1 and 2, text rejoined. */
    json_t *p1 = json_array_get(list, 1), *p2 = json_array_get(list, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(p1, "concat"), "total")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(p2, "concat"), "seq")), 2);
    char joined[800];
    snprintf(joined, sizeof joined, "%s%s", json_string_value(json_object_get(p1, "text")),
             json_string_value(json_object_get(p2, "text")));
    ck_assert_str_eq(joined, long_text);

    /* Status reports for all three TP-MRs: delivered, delivered, and one permanent failure. */
    char cmd[64];
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "report %lld %d",
                 (long long)json_integer_value(json_object_get(json_array_get(list, i), "mr")),
                 i == 2 ? 70 : 0);
        ctl(cmd);
    }
    json_decref(list);
    ck_assert(wait_for_query(STATE_OF, one, "delivered", 10000));
    ck_assert(wait_for_query(STATE_OF, two, "undelivered", 10000));
    ck_assert_str_eq(query("SELECT dlr_state FROM parts WHERE message_id = ?1 AND part_index = 1",
                           two), "TP-ST 70: validity period expired");
    /* A report for nothing homing sent is kept, not dropped. */
    ctl("report --to +353870000000 250 0");
    ck_assert(wait_for_query("SELECT ref FROM receipts_unmatched WHERE ?1", 1, "m1:250", 10000));
    stop_all();
}
END_TEST

START_TEST(inbound_is_stored_reassembled_and_swept_from_the_sim)
{
    start_sim(NULL);
    /* Left on the SIM while homing was down: found by the start-up sweep. */
    ctl("modem m2 sms --silent +353861000001 \"waiting on the SIM\"");
    write_conf(NULL);
    start_homing();
    ck_assert(wait_for_query("SELECT text FROM inbound WHERE sender = '+353861000001' AND ?1",
                             1, "waiting on the SIM", 10000));
    ctl("sms --parts 3 --order 3,1,1,2 +353861000002 \"A long reply that the simulator splits "
        "into three parts, delivered out of order, with a duplicate of the first part.\"");
    ck_assert(wait_for_query("SELECT text FROM inbound WHERE sender = '+353861000002' AND ?1", 1,
                             "A long reply that the simulator splits into three parts, delivered "
                             "out of order, with a duplicate of the first part.", 10000));
    ck_assert_str_eq(query("SELECT count(*) FROM inbound_parts WHERE ?1", 1), "0");
    ck_assert_str_eq(query("SELECT count(*) FROM inbound WHERE ?1", 1), "2");
    /* Deleted from the SIM once committed. */
    ck_assert(testutil_wait_for_text(log_path, "inbound id=2", 5000));
    for (int i = 0; i < 50 && strcmp(ctl("sim"), "ok\n") != 0 && strcmp(ctl("sim"), "ok") != 0; i++)
        usleep(100 * 1000);
    ck_assert_msg(strncmp(ctl("sim"), "ok", 2) == 0 && strchr(ctl("sim"), ':') == NULL,
                  "SIM still holds: %s", ctl("sim"));
    stop_all();
}
END_TEST

START_TEST(pin_is_entered_once)
{
    start_sim("1234");
    write_conf("1234");
    start_homing();
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 SIM PIN accepted", 1000));
    int64_t id = send_msg("+353871234567", "after the PIN", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 10000));
    stop_all();
}
END_TEST

/*
 * A gateway that died inside AT+CMGS leaves the modem at its "> " prompt,
 * reading whatever comes next as PDU text. The next start closes the prompt
 * with ESC and is ready within seconds, not after the recovery ladder.
 */
START_TEST(a_prompt_left_open_by_a_crash_is_closed_at_start)
{
    start_sim(NULL);
    write_conf(NULL);
    char port[700];
    snprintf(port, sizeof port, "%s/m1", dir);
    int fd = open(port, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(fd, 0);
    const char cmgs[] = "AT+CMGS=20\r";
    ck_assert(write(fd, cmgs, sizeof cmgs - 1) == (ssize_t)(sizeof cmgs - 1));
    usleep(300 * 1000);
    close(fd);
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "modem=m1 ready", 7000),
                  "m1 not ready within 7 s of a start at an open prompt");
    ck_assert_ptr_nonnull(strstr(ctl("status m1"), "cancelled=1"));
    int64_t id = send_msg("+353871234567", "after the prompt", "m1");
    ck_assert(wait_for_query(STATE_OF, id, "sent", 10000));
    stop_all();
}
END_TEST

START_TEST(status_shows_modems_and_unregistered_modem_gets_no_work)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    ctl("modem m1 register 0");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 registration=lost", 10000));
    int64_t id = send_msg("+353871234567", "m1 has no network", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 15000));
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "m2");

    sleep(2); /* the service writes its status within a tick of a change */
    const char *argv[] = { testutil_program("homing"), "status", "-c", conf_path, "--json", NULL };
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(testutil_exec(argv, NULL, 20000, &out, &err), 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "%s", out);
    ck_assert(json_is_true(json_object_get(json_object_get(j, "service"), "running")));
    json_t *modems = json_object_get(j, "modems");
    ck_assert_int_eq(json_array_size(modems), 2);
    json_t *m1 = json_array_get(modems, 0), *m2 = json_array_get(modems, 1);
    ck_assert_str_eq(json_string_value(json_object_get(m1, "name")), "m1");
    ck_assert(json_is_false(json_object_get(m1, "up")));
    ck_assert_str_eq(json_string_value(json_object_get(m1, "registration")), "not registered");
    ck_assert(json_is_true(json_object_get(m2, "up")));
    ck_assert_int_lt(json_integer_value(json_object_get(m2, "signal_dbm")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "queue"), "sent")), 1);
    json_decref(j);
    free(out);
    free(err);
    stop_all();
}
END_TEST

static void sql(const char *statement)
{
    harness_sql(db_path, statement);
}

static size_t count_texts_to(const char *to, const char *text_start)
{
    json_t *list = submits();
    size_t n = 0, i;
    json_t *j;
    json_array_foreach(list, i, j) {
        const char *t = json_string_value(json_object_get(j, "text"));
        n += strcmp(json_string_value(json_object_get(j, "to")), to) == 0 && t &&
             strncmp(t, text_start, strlen(text_start)) == 0;
    }
    json_decref(list);
    return n;
}

START_TEST(stop_suppresses_ends_sequences_and_confirms_once)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    /* Three messages queued for later and an active sequence for +353871234599. */
    sql("INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
        "expires_at, source, created_at, updated_at) VALUES "
        "('+353871234599', 'offer 1', 'gsm7', 1, 'queued', 4000000000, 4100000000, 'test', 0, 0), "
        "('+353871234599', 'offer 2', 'gsm7', 1, 'queued', 4000000000, 4100000000, 'test', 0, 0), "
        "('+353871234599', 'offer 3', 'gsm7', 1, 'queued', 4000000000, 4100000000, 'test', 0, 0);"
        "INSERT INTO contacts (recipient, created_at, updated_at) VALUES ('+353871234599', 0, 0);"
        "INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, updated_at) "
        "VALUES ('+353871234599', 'winback', 4000000000, 0, 0);");
    ctl("sms +353871234599 \" Stop please!\"");
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE recipient = '+353871234599' "
                             "AND state = 'suppressed' AND ?1", 1, "3", 10000));
    ck_assert_str_eq(query("SELECT state FROM enrollments WHERE ?1", 1), "opted_out");
    ck_assert_str_eq(query("SELECT keyword FROM optouts WHERE recipient = '+353871234599' AND ?1",
                           1), "STOP");
    ck_assert_str_eq(query("SELECT keyword FROM inbound WHERE ?1", 1), "STOP");
    ck_assert(wait_for_query("SELECT state FROM messages WHERE source = 'consent' AND ?1", 1,
                             "sent", 10000));
    ck_assert_int_eq(count_texts_to("+353871234599", "You are unsubscribed"), 1);
    ck_assert_str_eq(query("SELECT action FROM events WHERE entity_id = '+353871234599' AND ?1",
                           1), "opt-out");

    /* A second STOP within the period: no second confirmation. */
    ctl("sms +353871234599 STOP");
    ck_assert(testutil_wait_for_text(log_path, "reply=none (already confirmed)", 10000));
    sleep(1);
    ck_assert_int_eq(count_texts_to("+353871234599", "You are unsubscribed"), 1);

    /* Nothing new gets through: the CLI refuses, naming the opt-out. */
    const char *argv[] = { testutil_program("homing"), "send", "-c", conf_path, "+353871234599",
                           "are you there?", NULL };
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(testutil_exec(argv, NULL, 20000, &out, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "+353871234599 opted out (STOP"));
    free(out);
    free(err);

    /* START opts back in and confirms; HELP answers. */
    ctl("sms +353871234599 start");
    ck_assert(wait_for_query("SELECT count(*) FROM optouts WHERE ?1", 1, "0", 10000));
    for (int i = 0; i < 100 && count_texts_to("+353871234599", "You are subscribed again") == 0; i++)
        usleep(100 * 1000);
    ck_assert_int_eq(count_texts_to("+353871234599", "You are subscribed again"), 1);
    ctl("sms +353871234599 HELP");
    for (int i = 0; i < 100 && count_texts_to("+353871234599", "Reply STOP to unsubscribe") == 0; i++)
        usleep(100 * 1000);
    ck_assert_int_eq(count_texts_to("+353871234599", "Reply STOP to unsubscribe"), 1);

    /* A STOP split in two parts, delivered out of order, still opts out. */
    ctl("sms --parts 2 --order 2,1 +353871234598 \"STOP sending me these offers, I am not "
        "interested in them any more, thank you very much and goodbye from me\"");
    ck_assert(wait_for_query("SELECT keyword FROM optouts WHERE recipient = '+353871234598' AND ?1",
                             1, "STOP", 10000));
    /* "Unstoppable deals" is a reply, not a keyword. */
    ctl("sms +353871234597 \"Unstoppable deals, you say?\"");
    ck_assert(testutil_wait_for_text(log_path, "from=+35387***97", 10000));
    ck_assert_str_eq(query("SELECT count(*) FROM optouts WHERE recipient = '+353871234597' AND ?1",
                           1), "0");
    stop_all();
}
END_TEST

START_TEST(wrong_pin_is_not_retried)
{
    start_sim("1234");
    write_conf("9999");
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 failed: the SIM refused the PIN", 15000));
    sleep(2);
    /* One wrong try was used; two remain for a person with the right PIN. */
    ck_assert_ptr_nonnull(strstr(ctl("status"), "pin_tries=2"));
    stop_all();
}
END_TEST

START_TEST(cms_errors_are_retried)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    ctl("modem m1 fail 2 38");  /* network out of order, twice */
    ctl("modem m2 fail 2 38");
    int64_t id = send_msg("+353871234567", "try, try again", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 20000));
    ck_assert_int_eq(count_submits_with("text", "try, try again"), 1);
    ck_assert_int_ge(atoi(query("SELECT attempts FROM messages WHERE id = ?1", id)), 1);
    ck_assert(testutil_wait_for_text(log_path, "+CMS ERROR: 38 (network out of order)", 1000));
    /* A permanent error fails the message with its reason. */
    ctl("modem m1 fail 1 304");
    int64_t bad = send_msg("+353871234567", "refused", NULL);
    ck_assert(wait_for_query(STATE_OF, bad, "failed", 15000));
    ck_assert_ptr_nonnull(strstr(query("SELECT last_error FROM messages WHERE id = ?1", bad),
                                 "invalid PDU mode parameter"));
    stop_all();
}
END_TEST

START_TEST(hung_modem_recovers_and_its_work_moves)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    ctl("modem m1 hang");
    int64_t id = send_msg("+353871234567", "while m1 hangs", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 30000));
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "m2");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 stopped answering", 15000));
    ctl("modem m1 unhang");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 answers again", 30000));
    int64_t again = send_msg("+353871234567", "m1 is back", "m1");
    ck_assert(wait_for_query(STATE_OF, again, "sent", 20000));
    ck_assert_int_eq(count_submits_with("text", "while m1 hangs"), 1);
    ck_assert_int_eq(count_submits_with("modem", "m1"), 1);
    stop_all();
}
END_TEST

START_TEST(unplugged_modem_is_reopened_and_its_work_moves)
{
    start_sim(NULL);
    write_conf(NULL);
    start_homing();
    ctl("modem m1 unplug");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 port=", 5000));
    int64_t id = send_msg("+353871234567", "while m1 is out", NULL);
    ck_assert(wait_for_query(STATE_OF, id, "sent", 15000));
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "m2");
    ctl("modem m1 replug");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 opened", 15000));
    int64_t back = send_msg("+353871234567", "m1 plugged in again", "m1");
    ck_assert(wait_for_query(STATE_OF, back, "sent", 20000));
    ck_assert_int_eq(count_submits_with("text", "while m1 is out"), 1);
    ck_assert_int_eq(count_submits_with("text", "m1 plugged in again"), 1);
    stop_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("modem_gateway");
    TCase *t = tcase_create("gateway");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, sends_arrive_as_sent_and_receipts_mark_them);
    tcase_add_test(t, inbound_is_stored_reassembled_and_swept_from_the_sim);
    tcase_add_test(t, pin_is_entered_once);
    tcase_add_test(t, a_prompt_left_open_by_a_crash_is_closed_at_start);
    tcase_add_test(t, status_shows_modems_and_unregistered_modem_gets_no_work);
    tcase_add_test(t, stop_suppresses_ends_sequences_and_confirms_once);
    tcase_add_test(t, wrong_pin_is_not_retried);
    tcase_add_test(t, cms_errors_are_retried);
    tcase_add_test(t, hung_modem_recovers_and_its_work_moves);
    tcase_add_test(t, unplugged_modem_is_reopened_and_its_work_moves);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
