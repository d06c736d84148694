/*
 * Consent end to end through tools/modem-sim: the same STOP spellings and
 * look-alikes as the SMPP test (tests/integration/consent_cases.h), each with
 * exactly one confirmation per opt-out; a reply that is no keyword ends the
 * enrollments that exit on reply and keeps the others; a STOP cut in two
 * parts delivered out of order still opts out.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/integration/consent_cases.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_log[700], sub_log[700], ctl_path[700];
static char db_path[700];
static pid_t sim_pid, homing_pid;

#define OPTOUT_REPLY "You are unsubscribed"
#define HELP_REPLY "Reply STOP to unsubscribe"

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_log,
                                            .sub_log = sub_log });
}

static int sends_per_minute = 6000;

static void start_all(void)
{
    char text[4096];
    const char *slots[] = { "--slots", "60", NULL };
    sim_pid = harness_start_modem_sim(dir, 1, ctl_path, sub_log, sim_log, slots);
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "defaults = { country = \"IE\"; };\n"
             "http = { listen = \"127.0.0.1:0\"; };\n"
             "retry = { backoff = \"1s\"; attempts = 6; };\n"
             "keywords = { optout_reply = \"" OPTOUT_REPLY ". Reply START to resubscribe.\";\n"
             "  help_reply = \"" HELP_REPLY ", START to subscribe again.\"; };\n"
             "modems = ( { name = \"m1\"; port = \"%s/m1\"; sends_per_minute = %d;\n"
             "  send_timeout = \"3s\"; poll = \"1s\"; } );\n"
             "campaigns = (\n"
             "  { name = \"winback\"; exit_on = [ \"reply\" ];\n"
             "    steps = ( { after = \"30d\"; text = \"We miss you\"; } ); },\n"
             "  { name = \"news\"; exit_on = [ \"conversion\" ];\n"
             "    steps = ( { after = \"30d\"; text = \"News\"; } ); }\n);\n",
             db_path, dir, sends_per_minute);
    testutil_write_file(dir, "homing.conf", text);
    const char *run[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(run, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "modem=m1 ready", 15000), "m1 not ready");
}

static void stop_all(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 15000), 0);
    harness_stop(&sim_pid, 5000);
}

static void ctl(const char *cmd)
{
    harness_ctl(ctl_path, cmd);
}

/* An inbound SMS from `from`; the text is quoted for the control channel. */
static void sms(const char *options, const char *from, const char *text)
{
    char cmd[1024];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "sms %s %s \"", options, from);
    for (const char *p = text; *p && n + 3 < sizeof cmd; p++) {
        if (*p == '"')
            cmd[n++] = '\\';
        cmd[n++] = *p;
    }
    cmd[n++] = '"';
    cmd[n] = '\0';
    ctl(cmd);
}

static void sql(const char *statement)
{
    harness_sql(db_path, statement);
}

/* One value as text ("" when no row); ?1, if the statement has it, is `arg`. */
static const char *query(const char *statement, const char *arg)
{
    return harness_query_text(db_path, statement, arg);
}

static bool wait_for_query(const char *statement, const char *arg, const char *want,
                           int timeout_ms)
{
    return harness_wait_for_query_text(db_path, statement, arg, want, timeout_ms);
}

/* Messages the modem sent to `to` whose text starts with `prefix` (the simulator's log). */
static int submits_to(const char *to, const char *prefix)
{
    json_t *list = harness_jsonl(sub_log), *j;
    size_t i;
    int n = 0;
    json_array_foreach(list, i, j) {
        const char *d = json_string_value(json_object_get(j, "to"));
        const char *t = json_string_value(json_object_get(j, "text"));
        n += d && t && strcmp(d, to) == 0 && strncmp(t, prefix, strlen(prefix)) == 0;
    }
    json_decref(list);
    return n;
}

static void enroll(const char *who, const char *campaign)
{
    char text[600];
    snprintf(text, sizeof text,
             "INSERT OR IGNORE INTO contacts (recipient, created_at, updated_at) "
             "VALUES ('%s', 0, 0);"
             "INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, updated_at) "
             "VALUES ('%s', '%s', 4000000000, 0, 0);", who, who, campaign);
    sql(text);
}

#define ENROLL_STATE "SELECT group_concat(campaign || ':' || state, ' ') FROM " \
                     "(SELECT * FROM enrollments WHERE recipient = ?1 ORDER BY id)"

static void sender_of(size_t i, char *out, size_t size)
{
    snprintf(out, size, "+3538720%05zu", i);
}

START_TEST(stop_spellings_and_look_alikes)
{
    char from[32], want[16];
    int optouts = 0, helps = 0;
    start_all();
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        sender_of(i, from, sizeof from);
        sms("", from, spellings[i].text);
        optouts += spellings[i].outcome == OPTS_OUT;
        helps += spellings[i].outcome == HELPS;
    }
    snprintf(want, sizeof want, "%zu", N_SPELLINGS);
    ck_assert(wait_for_query("SELECT count(*) FROM inbound WHERE ?1 = ?1", "", want, 30000));
    snprintf(want, sizeof want, "%d", optouts + helps);
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE source = 'consent' AND state "
                             "IN ('sent', 'delivered') AND ?1 = ?1", "", want, 30000));
    snprintf(want, sizeof want, "%d", optouts);
    ck_assert_str_eq(query("SELECT count(*) FROM optouts WHERE ?1 = ?1", ""), want);
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        const struct spelling *s = &spellings[i];
        sender_of(i, from, sizeof from);
        const char *kw = query("SELECT keyword FROM optouts WHERE recipient = ?1", from);
        ck_assert_msg(strcmp(kw, s->outcome == OPTS_OUT ? s->keyword : "") == 0,
                      "'%s': opt-out keyword '%s'", s->text, kw);
        int confirmations = submits_to(from, OPTOUT_REPLY), help = submits_to(from, HELP_REPLY);
        ck_assert_msg(confirmations == (s->outcome == OPTS_OUT), "'%s': %d confirmations",
                      s->text, confirmations);
        ck_assert_msg(help == (s->outcome == HELPS), "'%s': %d help replies", s->text, help);
    }
    stop_all();
}
END_TEST

START_TEST(a_reply_ends_enrollments_that_exit_on_reply)
{
    start_all();
    enroll("+353871000001", "winback");
    enroll("+353871000001", "news");
    sms("", "+353871000001", "Sounds good, see you Saturday");
    ck_assert(wait_for_query(ENROLL_STATE, "+353871000001", "winback:replied news:active", 10000));
    ck_assert_str_eq(query("SELECT actor || ' ' || action FROM events WHERE entity = "
                           "'enrollment' AND ?1 = ?1", ""), "m1 replied");
    ck_assert_str_eq(query("SELECT text FROM inbound WHERE sender = ?1", "+353871000001"),
                     "Sounds good, see you Saturday");
    /* A STOP in two parts, second part first: opts out and ends the rest. */
    sms("--parts 2 --order 2,1", "+353871000001", "STOP sending me these offers, I am not "
        "interested in them any more, thank you very much and goodbye from me");
    ck_assert(wait_for_query("SELECT keyword FROM optouts WHERE recipient = ?1", "+353871000001",
                             "STOP", 10000));
    ck_assert_str_eq(query(ENROLL_STATE, "+353871000001"), "winback:replied news:opted_out");
    ck_assert(wait_for_query("SELECT state FROM messages WHERE source = 'consent' AND ?1 = ?1", "",
                             "sent", 10000));
    ck_assert_int_eq(submits_to("+353871000001", OPTOUT_REPLY), 1);
    stop_all();
}
END_TEST

/*
 * At six sends a minute the modem holds a second message for ten seconds
 * after the first: a STOP in between takes it back, and it is suppressed.
 */
START_TEST(a_stop_withdraws_the_message_a_modem_holds)
{
    const char *who = "+353871234501";
    sends_per_minute = 6;
    start_all();
    char text[600];
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text,
                 "INSERT INTO messages (recipient, body, encoding, segments, state, "
                 "next_attempt_at, expires_at, source, created_at, updated_at) VALUES ('%s', "
                 "'Offer %d', 'gsm7', 1, 'queued', 0, 4100000000, 'test', 0, 0);", who, i);
        sql(text);
    }
    /* The first at the modem (or already sent), the second held for the pace. */
    ck_assert(wait_for_query("SELECT group_concat(state, ' ') FROM (SELECT state FROM messages "
                             "WHERE recipient = ?1 AND source = 'test' ORDER BY id)", who,
                             "sent sending", 10000));
    sms("", who, "STOP");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 withdrew 1 waiting part", 8000));
    ck_assert(wait_for_query("SELECT group_concat(state, ' ') FROM (SELECT state FROM messages "
                             "WHERE recipient = ?1 AND source = 'test' ORDER BY id)", who,
                             "sent suppressed", 20000));
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE recipient = ?1 AND source = "
                             "'consent' AND state = 'sent'", who, "1", 25000));
    ck_assert_int_eq(submits_to(who, "Offer"), 1);
    stop_all();
    sends_per_minute = 6000;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("consent_modem");
    TCase *t = tcase_create("modem-sim");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, stop_spellings_and_look_alikes);
    tcase_add_test(t, a_reply_ends_enrollments_that_exit_on_reply);
    tcase_add_test(t, a_stop_withdraws_the_message_a_modem_holds);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
