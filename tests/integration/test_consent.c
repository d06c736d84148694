/*
 * Consent end to end through tools/smsc-sim: a reply that is no keyword ends
 * the sender's enrollments in campaigns that exit on reply (and only those)
 * and still reaches the inbound list and webhook; 28 STOP spellings and
 * look-alikes have the outcome the keyword rules promise, with exactly one
 * confirmation per opt-out; a STOP cut in two parts delivered out of order
 * opts out for every concatenation method (8- and 16-bit UDH, SAR), and one
 * whose second part never comes opts out when the rest times out; local
 * words from the config opt out; an imported suppression list suppresses
 * what was queued, ends enrollments and sends nothing.
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

static char dir[512], conf_path[700], log_path[700], sim_out[700], sub_log[700], ctl_path[700];
static char db_path[700], port_file[700];
static pid_t sim_pid, homing_pid;
static int sim_port;

#define OPTOUT_REPLY "You are unsubscribed"
#define HELP_REPLY "Reply STOP to unsubscribe"

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_out,
                                            .sub_log = sub_log, .port_file = port_file });
}

static void start_sim(void)
{
    sim_pid = harness_start_smsc_sim(port_file, ctl_path, sub_log, sim_out, NULL, &sim_port);
}

/*
 * One SMPP bind; "winback" exits on reply, "news" only on conversion.
 * `keywords` goes into the keywords group, `extra` at the top level.
 */
static const char *bind_extra = ""; /* more keys for the SMPP bind */

static void write_conf(const char *keywords, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "defaults = { country = \"IE\"; };\n"
             "http = { listen = \"127.0.0.1:0\"; };\n"
             "retry = { backoff = \"1s\"; attempts = 20; max_backoff = \"2s\"; };\n"
             "webhooks = { inbound = \"http://127.0.0.1:9/inbound\"; backoff = \"1h\"; };\n"
             "keywords = { optout_reply = \"" OPTOUT_REPLY ". Reply START to resubscribe.\";\n"
             "  help_reply = \"" HELP_REPLY ", START to subscribe again.\"; %s };\n%s\n"
             "smpp = ( { name = \"carrier\"; host = \"127.0.0.1\"; port = %d;\n"
             "  system_id = \"homing\"; password = \"secret\"; enquire_link = \"1s\";\n"
             "  response_timeout = \"2s\"; reconnect_max = \"2s\"; receipts = false; %s } );\n"
             "campaigns = (\n"
             "  { name = \"winback\"; exit_on = [ \"conversion\", \"reply\" ];\n"
             "    steps = ( { after = \"30d\"; text = \"We miss you\"; } ); },\n"
             "  { name = \"news\"; exit_on = [ \"conversion\" ];\n"
             "    steps = ( { after = \"30d\"; text = \"News\"; } ); }\n);\n",
             db_path, keywords, extra, sim_port, bind_extra);
    testutil_write_file(dir, "homing.conf", text);
}

/* `homing run`, at `time_scale` times real time when not NULL. */
static void start_homing(const char *time_scale)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path,
                           time_scale ? "--time-scale" : NULL, time_scale, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "bind=carrier bound (transceiver)", 10000),
                  "not bound");
}

static void start_all(void)
{
    start_sim();
    write_conf("", "");
    start_homing(NULL);
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

static void sql(const char *statement)
{
    harness_sql(db_path, statement);
}

/* One value as text ("" when no row); ?1 is bound to `arg` as text. */
static const char *query(const char *statement, const char *arg)
{
    return harness_query_text(db_path, statement, arg);
}

static bool wait_for_query(const char *statement, const char *arg, const char *want,
                           int timeout_ms)
{
    return harness_wait_for_query_text(db_path, statement, arg, want, timeout_ms);
}

/* Submits the simulator accepted for `to` (E.164) whose text starts with `prefix`. */
static int submits_to(const char *to, const char *prefix)
{
    json_t *list = harness_jsonl(sub_log), *j;
    size_t i;
    int n = 0;
    json_array_foreach(list, i, j) {
        const char *d = json_string_value(json_object_get(json_object_get(j, "destination"),
                                                          "addr"));
        const char *t = json_string_value(json_object_get(j, "text"));
        n += d && t && strcmp(d, to + 1) == 0 && strncmp(t, prefix, strlen(prefix)) == 0;
    }
    json_decref(list);
    return n;
}

/* Runs `homing ARGS... -c CONF`; returns the exit status, output in *out and *err. */
static int homing(char **out, char **err, const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = { testutil_program("homing"), a1, "-c", conf_path, a2, a3, NULL };
    return testutil_exec(argv, NULL, 20000, out, err);
}

/* An active enrollment of `who` in `campaign`, due in the far future (SQL: the enroll
 * command is not this test's subject). */
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

/* A message to `who` queued for the far future, so only consent can change it. */
static void queue_later(const char *who, const char *body)
{
    char text[600];
    snprintf(text, sizeof text,
             "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
             "expires_at, source, created_at, updated_at) VALUES ('%s', '%s', 'gsm7', 1, "
             "'queued', 4000000000, 4100000000, 'test', 0, 0);", who, body);
    sql(text);
}

#define ENROLL_STATE "SELECT group_concat(campaign || ':' || state, ' ') FROM " \
                     "(SELECT * FROM enrollments WHERE recipient = ?1 ORDER BY id)"

START_TEST(a_reply_ends_enrollments_that_exit_on_reply)
{
    start_all();
    enroll("+353871000001", "winback");
    enroll("+353871000001", "news");
    enroll("+353871000002", "news");
    ctl("mo +353871000001 +353870000000 Is the offer still on?");
    ctl("mo +353871000002 +353870000000 What news?");
    ck_assert(wait_for_query(ENROLL_STATE, "+353871000001", "winback:replied news:active", 10000));
    ck_assert_str_eq(query("SELECT reason IS NOT NULL AND ended_at > 0 FROM enrollments "
                           "WHERE recipient = ?1 AND campaign = 'winback'", "+353871000001"),
                     "1");
    ck_assert_str_eq(query("SELECT actor || ' ' || entity || ' ' || action FROM events "
                           "WHERE detail LIKE 'campaign winback:%' AND ?1 = ?1", ""),
                     "carrier enrollment replied");
    /* A campaign without exit_on reply keeps its enrollment. */
    ck_assert(wait_for_query("SELECT count(*) FROM inbound WHERE ?1 = ?1", "", "2", 10000));
    ck_assert_str_eq(query(ENROLL_STATE, "+353871000002"), "news:active");
    /* The reply is still received: listed, and handed to the inbound webhook. */
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(homing(&out, &err, "inbound", "--json", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "Is the offer still on?"));
    free(out);
    free(err);
    ck_assert_str_eq(query("SELECT count(*) FROM outbox WHERE kind = 'inbound' AND body LIKE ?1",
                           "%Is the offer still on?%"), "1");
    /* No keyword, no reply, no opt-out. */
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE ?1 = ?1", ""), "0");
    ck_assert_str_eq(query("SELECT count(*) FROM optouts WHERE ?1 = ?1", ""), "0");
    stop_all();
}
END_TEST

static void sender_of(size_t i, char *out, size_t size)
{
    snprintf(out, size, "+3538720%05zu", i);
}

/* Checks every spelling's outcome once all of them were received. */
static void check_spellings(int (*sent_to)(const char *to, const char *prefix))
{
    char from[32];
    int optouts = 0, helps = 0;
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        optouts += spellings[i].outcome == OPTS_OUT;
        helps += spellings[i].outcome == HELPS;
    }
    char want[16];
    snprintf(want, sizeof want, "%zu", N_SPELLINGS);
    ck_assert(wait_for_query("SELECT count(*) FROM inbound WHERE ?1 = ?1", "", want, 20000));
    snprintf(want, sizeof want, "%d", optouts + helps);
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE source = 'consent' AND state "
                             "IN ('sent', 'delivered') AND ?1 = ?1", "", want, 20000));
    snprintf(want, sizeof want, "%d", optouts);
    ck_assert_str_eq(query("SELECT count(*) FROM optouts WHERE ?1 = ?1", ""), want);
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        const struct spelling *s = &spellings[i];
        sender_of(i, from, sizeof from);
        const char *kw = query("SELECT keyword FROM optouts WHERE recipient = ?1", from);
        ck_assert_msg(strcmp(kw, s->outcome == OPTS_OUT ? s->keyword : "") == 0,
                      "'%s': opt-out keyword '%s'", s->text, kw);
        int confirmations = sent_to(from, OPTOUT_REPLY), help = sent_to(from, HELP_REPLY);
        ck_assert_msg(confirmations == (s->outcome == OPTS_OUT), "'%s': %d confirmations",
                      s->text, confirmations);
        ck_assert_msg(help == (s->outcome == HELPS), "'%s': %d help replies", s->text, help);
    }
}

START_TEST(stop_spellings_and_look_alikes)
{
    char cmd[300], from[32];
    start_all();
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        sender_of(i, from, sizeof from);
        snprintf(cmd, sizeof cmd, "mo %s +353870000000 %s", from, spellings[i].text);
        ctl(cmd);
    }
    check_spellings(submits_to);
    stop_all();
}
END_TEST

/*
 * At one part a second the bind holds most of what it was given in its own
 * queue: a STOP takes those parts back, so only what was already on the wire
 * reaches the carrier, and the rest is suppressed at the dispatcher's last look.
 */
START_TEST(a_stop_withdraws_what_the_bind_still_holds)
{
    const char *who = "+353871234500";
    char *out = NULL, *err = NULL;
    start_sim();
    bind_extra = "tps = 1;";
    write_conf("", "");
    start_homing(NULL);
    for (int i = 0; i < 8; i++) {
        char text[40];
        snprintf(text, sizeof text, "Offer %d", i);
        ck_assert_int_eq(homing(&out, &err, "send", who, text), 0);
        free(out);
        free(err);
    }
    /* All eight handed to the bind (the first may have gone already). */
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE recipient = ?1 AND state IN "
                             "('sending', 'sent')", who, "8", 10000));
    int before = submits_to(who, "Offer");
    ctl("mo +353871234500 +353870000000 STOP");
    ck_assert(testutil_wait_for_text(log_path, "withdrew", 5000));
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE recipient = ?1 AND body LIKE "
                             "'Offer%' AND state IN ('suppressed', 'sent')", who, "8", 20000));
    /* At most the one part on the wire when the STOP came may still go. */
    int sent = submits_to(who, "Offer");
    ck_assert_msg(sent <= before + 1 && sent < 8, "%d offers before the STOP, %d in all", before,
                  sent);
    char want[16];
    snprintf(want, sizeof want, "%d", sent);
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE recipient = ?1 AND body LIKE "
                           "'Offer%' AND state = 'sent'", who), want);
    ck_assert(wait_for_query("SELECT count(*) FROM messages WHERE recipient = ?1 AND source = "
                             "'consent' AND state = 'sent'", who, "1", 10000));
    stop_all();
    bind_extra = "";
}
END_TEST

START_TEST(a_split_stop_out_of_order_opts_out_for_every_concat)
{
    static const char *const methods[] = { "udh", "udh16", "sar" };
    char cmd[400], from[32];
    start_all();
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "+35387300000%d", i);
        enroll(from, "news");
        queue_later(from, "offer");
        snprintf(cmd, sizeof cmd, "mo --concat %s --parts 2 --order 2,1 %s +353870000000 STOP "
                 "sending me these offers, I am not interested in them any more, thank you",
                 methods[i], from);
        ctl(cmd);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "+35387300000%d", i);
        ck_assert_msg(wait_for_query("SELECT keyword FROM optouts WHERE recipient = ?1", from,
                                     "STOP", 10000), "%s", methods[i]);
        ck_assert_str_eq(query(ENROLL_STATE, from), "news:opted_out");
        ck_assert_str_eq(query("SELECT state FROM messages WHERE recipient = ?1 AND "
                               "source = 'test'", from), "suppressed");
        ck_assert(wait_for_query("SELECT state FROM messages WHERE recipient = ?1 AND "
                                 "source = 'consent'", from, "sent", 10000));
        ck_assert_int_eq(submits_to(from, OPTOUT_REPLY), 1);
    }
    ck_assert_str_eq(query("SELECT count(*) FROM inbound_parts WHERE ?1 = ?1", ""), "0");
    stop_all();
}
END_TEST

START_TEST(an_imported_list_suppresses_and_sends_nothing)
{
    start_all();
    queue_later("+353874000001", "offer 1");
    queue_later("+353874000001", "offer 2");
    queue_later("+353874000002", "offer 3");
    queue_later("+353874000009", "not on the list");
    enroll("+353874000001", "winback");
    testutil_write_file(dir, "list.csv",
                        "Phone,Keyword,At\n"
                        "087 400 0001,STOP,2026-01-02T03:04:05Z\n"
                        "+353 87 400 0002,,\n"
                        "0874000003\n"
                        "not a number,STOP,\n"
                        "0874000004,STOP,yesterday\n");
    char path[700], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/list.csv", dir);
    /* Two bad rows: reported with their lines, skipped, the rest committed (exit 1). */
    ck_assert_int_eq(homing(&out, &err, "optout", "import", path), 1);
    ck_assert_ptr_nonnull(strstr(err, "list.csv:5: "));
    ck_assert_ptr_nonnull(strstr(err, "list.csv:6: at 'yesterday' is not an ISO 8601 time"));
    ck_assert_ptr_nonnull(strstr(out, "3 opted out, 0 already on the list, 2 rows skipped; "
                                      "3 queued messages suppressed, 1 enrollment ended"));
    free(out);
    free(err);
    ck_assert_str_eq(query("SELECT group_concat(recipient || ' ' || keyword || ' ' || source, "
                           "', ') FROM (SELECT * FROM optouts ORDER BY recipient) WHERE ?1 = ?1",
                           ""),
                     "+353874000001 STOP import, +353874000002 IMPORT import, "
                     "+353874000003 IMPORT import");
    ck_assert_str_eq(query("SELECT received_at FROM optouts WHERE recipient = ?1",
                           "+353874000001"), "1767323045");
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE state = 'suppressed' AND ?1 = ?1",
                           ""), "3");
    ck_assert_str_eq(query("SELECT state FROM messages WHERE recipient = ?1", "+353874000009"),
                     "queued");
    ck_assert_str_eq(query(ENROLL_STATE, "+353874000001"), "winback:opted_out");
    ck_assert_str_eq(query("SELECT count(*) FROM events WHERE actor = 'import' AND ?1 = ?1", ""),
                     "5");
    /* The list reads back as CSV, and importing it again changes nothing. */
    ck_assert_int_eq(homing(&out, &err, "optout", "list", "--csv"), 0);
    ck_assert_ptr_nonnull(strstr(out, "msisdn,keyword,at,source\n"));
    ck_assert_ptr_nonnull(strstr(out, "+353874000002,IMPORT,"));
    char *back = strdup(testutil_write_file(dir, "back.csv", out));
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "optout", "import", back), 0);
    ck_assert_ptr_nonnull(strstr(out, "0 opted out, 3 already on the list, 0 rows skipped"));
    free(out);
    free(err);
    free(back);
    /* No confirmation for an import, and nothing new gets through. */
    const char *argv[] = { testutil_program("homing"), "send", "-c", conf_path, "0874000003",
                           "hello", NULL };
    ck_assert_int_eq(testutil_exec(argv, NULL, 20000, &out, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "+353874000003 opted out (IMPORT"));
    free(out);
    free(err);
    sleep(1);
    ck_assert_str_eq(query("SELECT count(*) FROM messages WHERE source = 'consent' AND ?1 = ?1",
                           ""), "0");
    ck_assert_int_eq(submits_to("+353874000001", ""), 0);
    stop_all();
}
END_TEST

START_TEST(local_words_and_a_stop_whose_last_part_never_came)
{
    start_sim();
    /* A minute of reassembly_timeout passes in half a second at 120 times real time. */
    write_conf("optout = [ \"STOPP\", \"ARRET\" ];",
               "inbound = { reassembly_timeout = \"60s\"; };");
    start_homing("120");
    enroll("+353875000003", "news");
    ctl("mo +353875000001 +353870000000 Stopp");
    ctl("mo +353875000002 +353870000000 arret svp");
    ctl("mo --parts 2 --order 1 +353875000003 +353870000000 STOP texting me, I have had "
        "enough of these offers and I do not want any more of them at all, thanks");
    ck_assert(wait_for_query("SELECT keyword FROM optouts WHERE recipient = ?1", "+353875000001",
                             "STOPP", 10000));
    ck_assert(wait_for_query("SELECT keyword FROM optouts WHERE recipient = ?1", "+353875000002",
                             "ARRET", 10000));
    /* The second part never comes: what arrived is delivered incomplete, and still opts out. */
    ck_assert(wait_for_query("SELECT keyword FROM optouts WHERE recipient = ?1", "+353875000003",
                             "STOP", 10000));
    ck_assert_str_eq(query("SELECT complete FROM inbound WHERE sender = ?1", "+353875000003"),
                     "0");
    ck_assert_str_eq(query(ENROLL_STATE, "+353875000003"), "news:opted_out");
    for (int i = 1; i <= 3; i++) {
        char who[32];
        snprintf(who, sizeof who, "+35387500000%d", i);
        ck_assert(wait_for_query("SELECT state FROM messages WHERE recipient = ?1 AND "
                                 "source = 'consent'", who, "sent", 10000));
        ck_assert_int_eq(submits_to(who, OPTOUT_REPLY), 1);
    }
    stop_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("consent");
    TCase *t = tcase_create("smsc-sim");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, a_reply_ends_enrollments_that_exit_on_reply);
    tcase_add_test(t, stop_spellings_and_look_alikes);
    tcase_add_test(t, a_split_stop_out_of_order_opts_out_for_every_concat);
    tcase_add_test(t, a_stop_withdraws_what_the_bind_still_holds);
    tcase_add_test(t, an_imported_list_suppresses_and_sends_nothing);
    tcase_add_test(t, local_words_and_a_stop_whose_last_part_never_came);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
