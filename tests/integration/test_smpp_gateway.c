/*
 * `homing run` against tools/smsc-sim: single, long (udh, sar, payload) and
 * UCS-2 submits arrive as sent (the simulator's own log); receipts in text
 * and TLV form, with decimal and hex ids, mark the right parts delivered;
 * received messages are stored (a long one reassembled); a wrong password is
 * a clear error retried with growing waits; throttling slows the bind down
 * without losing or doubling a message; a dropped link, a silent keep-alive
 * and malformed PDUs reset the session, and nothing is lost.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_out[700], sub_log[700], ctl_path[700];
static char db_path[700], port_file[700];
static pid_t sim_pid, homing_pid;
static int sim_port;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_out,
                                            .sub_log = sub_log, .port_file = port_file });
}

static void start_sim(void)
{
    const char *extra[] = { "--receipts", "text", "--receipt-delay", "50", NULL };
    sim_pid = harness_start_smsc_sim(port_file, ctl_path, sub_log, sim_out, extra, &sim_port);
}

/* One bind `name` with extra keys; more binds by calling it with a list of them. */
static void write_conf(const char *binds)
{
    char text[4096];
    snprintf(text, sizeof text,
             "database = \"%s\";\nhttp = { listen = \"127.0.0.1:0\"; };\nretry = { backoff = \"1s\"; attempts = 20; max_backoff = \"2s\"; };\n"
             "smpp = (\n%s\n);\n", db_path, binds);
    testutil_write_file(dir, "homing.conf", text);
}

static const char *bind_conf(const char *name, const char *extra)
{
    static char text[1024];
    snprintf(text, sizeof text,
             "  { name = \"%s\"; host = \"127.0.0.1\"; port = %d; system_id = \"homing\";\n"
             "    password = \"secret\"; enquire_link = \"1s\";\n"
             "    response_timeout = \"2s\"; reconnect_max = \"2s\"; %s }",
             name, sim_port, extra);
    return text;
}

static void start_homing(const char *wait_for)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    if (wait_for)
        ck_assert_msg(testutil_wait_for_text(log_path, wait_for, 10000), "no '%s'", wait_for);
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

static int64_t send_msg(const char *to, const char *text, const char *route)
{
    return harness_send(conf_path, to, text, route);
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
#define DELIVERED_PARTS "SELECT count(*) FROM parts WHERE message_id = ?1 AND state = 'delivered'"

static json_t *submits(void)
{
    return harness_jsonl(sub_log);
}

/* The texts of the submits to `dest` (digits, no '+') joined in log order; their count
 * in *n and the concat method of the last in method. */
static char *texts_to(const char *dest, int *n, char *method, size_t msize)
{
    static char joined[4096];
    json_t *list = submits(), *j;
    size_t i;
    joined[0] = '\0';
    *n = 0;
    if (method)
        snprintf(method, msize, "none");
    json_array_foreach(list, i, j) {
        const char *d = json_string_value(json_object_get(json_object_get(j, "destination"), "addr"));
        if (!d || strcmp(d, dest) != 0)
            continue;
        const char *t = json_string_value(json_object_get(j, "text"));
        strncat(joined, t ? t : "", sizeof joined - strlen(joined) - 1);
        (*n)++;
        json_t *c = json_object_get(j, "concat");
        if (method && json_is_object(c))
            snprintf(method, msize, "%s", json_string_value(json_object_get(c, "method")));
    }
    json_decref(list);
    return joined;
}

static int count_text(const char *path, const char *needle)
{
    char *text = testutil_read_file(path);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

static bool wait_for_count(const char *path, const char *needle, int want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (count_text(path, needle) >= want)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static const char *long_text(char *buf, size_t size, const char *unit, size_t len)
{
    buf[0] = '\0';
    while (strlen(buf) < len && strlen(buf) + strlen(unit) < size)
        strcat(buf, unit);
    return buf;
}

START_TEST(submits_receipts_and_inbound)
{
    char lt[600], ut[400], method[16];
    int n;
    start_sim();
    write_conf(bind_conf("carrier", "concat = \"udh\";"));
    start_homing("bind=carrier bound (transceiver)");
    int64_t one = send_msg("+353870000001", "Hello [world] €", NULL);
    int64_t two = send_msg("+353870000002", long_text(lt, sizeof lt, "Long GSM text. ", 400), NULL);
    int64_t three = send_msg("+353870000003", long_text(ut, sizeof ut, "Grüße 😀 ", 100), NULL);
    ck_assert(wait_for_query(STATE_OF, one, "delivered", 10000));
    ck_assert(wait_for_query(STATE_OF, two, "delivered", 10000));
    ck_assert(wait_for_query(STATE_OF, three, "delivered", 10000));
    ck_assert_str_eq(texts_to("353870000001", &n, NULL, 0), "Hello [world] €");
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(texts_to("353870000002", &n, method, sizeof method), lt);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(method, "udh");
    ck_assert_str_eq(texts_to("353870000003", &n, method, sizeof method), ut);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(query(DELIVERED_PARTS, two), "3");
    ck_assert_str_eq(query("SELECT ref FROM parts WHERE message_id = ?1", one), "1000000000");

    /* Hex ids in responses, decimal in TLV receipts; then hex in both forms. */
    ctl("ids hex dec");
    ctl("receipts tlv");
    int64_t four = send_msg("+353870000004", "TLV receipt, hex and decimal ids", NULL);
    ck_assert(wait_for_query(STATE_OF, four, "delivered", 10000));
    ck_assert_str_eq(query("SELECT ref FROM parts WHERE message_id = ?1", four), "3b9aca06");
    ctl("ids hex");
    ctl("receipts both");
    ctl("receipt-state UNDELIV");
    int64_t five = send_msg("+353870000005", long_text(lt, sizeof lt, "Two parts. ", 200), NULL);
    ck_assert(wait_for_query(STATE_OF, five, "undelivered", 10000));

    /* Received: one short message, one in three parts sent out of order. */
    ctl("mo +353871111111 +353870000000 Hello from a phone");
    ctl("mo --parts 3 --order 3,1,2 +353871111112 +353870000000 One long reply that the "
        "simulator cuts into three parts");
    ck_assert(wait_for_query("SELECT count(*) FROM inbound WHERE ?1 = ?1", 0, "2", 10000));
    ck_assert_str_eq(query("SELECT text FROM inbound WHERE sender = '+353871111112' AND ?1 = ?1", 0),
                     "One long reply that the simulator cuts into three parts");
    ck_assert_str_eq(query("SELECT text FROM inbound WHERE sender = '+353871111111' AND ?1 = ?1", 0),
                     "Hello from a phone");
    stop_all();
    ck_assert_int_ge(count_text(log_path, "bind=carrier transceiver unbound"), 1);
}
END_TEST

START_TEST(sar_and_transmitter_receiver)
{
    char lt[600], method[16];
    int n;
    start_sim();
    write_conf(bind_conf("sar", "concat = \"sar\"; bind = \"transmitter+receiver\";"));
    start_homing("bind=sar bound (receiver)");
    ck_assert(testutil_wait_for_text(log_path, "bind=sar bound (transmitter)", 5000));
    long_text(lt, sizeof lt, "Segmented by SAR TLVs. ", 280);
    int64_t one = send_msg("+353870000011", lt, NULL);
    ck_assert(wait_for_query(STATE_OF, one, "delivered", 10000));
    ck_assert_str_eq(texts_to("353870000011", &n, method, sizeof method), lt);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(method, "sar");
    ck_assert_str_eq(query("SELECT route FROM parts WHERE message_id = ?1", one), "sar");
    ctl("mo +353871111113 +353870000000 To the receiver");
    ck_assert(wait_for_query("SELECT count(*) FROM inbound WHERE route = 'sar' AND ?1 = ?1", 0, "1",
                             10000));
    stop_all();
}
END_TEST

/* The waits logged after each refused bind: "retry in 1.9s". */
static int retry_waits(double *out, int max)
{
    char *text = testutil_read_file(log_path);
    int n = 0;
    const char *needle = "bind failed: ESME_RINVPASWD, retry in ";
    for (const char *p = text; p && n < max && (p = strstr(p, needle)); p += strlen(needle))
        out[n++] = atof(p + strlen(needle));
    free(text);
    return n;
}

START_TEST(wrong_password_is_a_clear_error_retried_with_backoff)
{
    start_sim();
    ctl("password other");
    write_conf(bind_conf("carrier", ""));
    start_homing(NULL);
    ck_assert(wait_for_count(log_path, "bind failed: ESME_RINVPASWD, retry in", 3, 10000));
    ck_assert_int_ge(count_text(log_path, "bind_transceiver refused by the SMSC: ESME_RINVPASWD"), 3);
    double w[3];
    ck_assert_int_eq(retry_waits(w, 3), 3);
    ck_assert(w[0] >= 0.7 && w[0] <= 1.0);
    ck_assert(w[1] > w[0] && w[1] <= 2.0);
    ck_assert(w[2] >= 1.5 && w[2] <= 2.0); /* reconnect_max */
    int64_t id = send_msg("+353870000021", "Waits for the bind", NULL);
    ctl("password secret");
    ck_assert(testutil_wait_for_text(log_path, "bind=carrier bound (transceiver)", 5000));
    ck_assert(wait_for_query(STATE_OF, id, "delivered", 10000));
    stop_all();
}
END_TEST

static void send_many(int64_t *ids, int n, int base)
{
    char to[32], text[64];
    for (int i = 0; i < n; i++) {
        snprintf(to, sizeof to, "+35387%07d", base + i);
        snprintf(text, sizeof text, "Message %d", base + i);
        ids[i] = send_msg(to, text, NULL);
    }
}

START_TEST(throttling_slows_down_and_loses_nothing)
{
    enum { N = 25 };
    int64_t ids[N];
    char dest[32];
    int n;
    start_sim();
    write_conf(bind_conf("carrier", "window = 5; tps = 200;"));
    start_homing("bind=carrier bound (transceiver)");
    ctl("throttle 30%");
    send_many(ids, N, 100);
    for (int i = 0; i < N; i++)
        ck_assert(wait_for_query(STATE_OF, ids[i], "delivered", 20000));
    for (int i = 0; i < N; i++) {
        snprintf(dest, sizeof dest, "35387%07d", 100 + i);
        texts_to(dest, &n, NULL, 0);
        ck_assert_int_eq(n, 1); /* exactly once */
    }
    ck_assert_int_ge(count_text(log_path, "throttled by the SMSC (submit_sm_resp ESME_RTHROTTLED"), 1);
    ck_assert_int_eq(count_text(log_path, "retry attempt"), 0); /* resubmitted by the bind */
    stop_all();
}
END_TEST

START_TEST(dropped_link_loses_nothing)
{
    enum { N = 12 };
    int64_t ids[N];
    char dest[32];
    int n;
    start_sim();
    write_conf(bind_conf("carrier", "window = 5; tps = 20;"));
    start_homing("bind=carrier bound (transceiver)");
    ctl("slow 200");
    ctl("drop after 3");
    send_many(ids, N, 200);
    ck_assert(wait_for_count(log_path, "bind=carrier bound (transceiver)", 2, 10000));
    for (int i = 0; i < N; i++)
        ck_assert(wait_for_query(STATE_OF, ids[i], "delivered", 20000));
    for (int i = 0; i < N; i++) {
        snprintf(dest, sizeof dest, "35387%07d", 200 + i);
        texts_to(dest, &n, NULL, 0);
        ck_assert_int_ge(n, 1);
        ck_assert_int_le(n, 2); /* at most once more: it was in the window */
    }
    ck_assert_int_ge(count_text(log_path, "transceiver down: the SMSC closed the connection"), 1);
    stop_all();
}
END_TEST

/*
 * A one-part plan waits for its result to be written with it, but no longer
 * than 1 s (dispatch.c: PLAN_CARRY_MS): with an SMSC that answers after 1.7 s
 * the part is on record, pending on its route, before the answer comes, and
 * the answer then completes that same row.
 */
START_TEST(a_slow_answer_finds_the_plan_written_on_its_own)
{
    start_sim();
    write_conf(bind_conf("carrier", ""));
    start_homing("bind=carrier bound (transceiver)");
    ctl("slow 1700");
    int64_t id = send_msg("+353871000300", "a slow answer", NULL);
    ck_assert(wait_for_query("SELECT route || ':' || state FROM parts WHERE message_id = ?1", id,
                             "carrier:pending", 10000));
    ck_assert_str_eq(query(STATE_OF, id), "sending");
    ck_assert(wait_for_query(STATE_OF, id, "delivered", 10000));
    ck_assert_str_eq(query("SELECT count(*) || ':' || min(state) || ':' || min(route) FROM parts "
                           "WHERE message_id = ?1", id), "1:delivered:carrier");
    ck_assert_str_eq(query("SELECT route FROM messages WHERE id = ?1", id), "carrier");
    stop_all();
}
END_TEST

START_TEST(silent_keepalive_and_malformed_pdus_reset_the_session)
{
    start_sim();
    write_conf(bind_conf("carrier", "concat = \"payload\"; data_coding = \"ucs2\";"));
    start_homing("bind=carrier bound (transceiver)");
    ctl("enquire off");
    ck_assert(testutil_wait_for_text(log_path, "no enquire_link_resp within 2s: link dead", 8000));
    ctl("enquire on");
    ck_assert(wait_for_count(log_path, "bind=carrier bound (transceiver)", 2, 8000));
    ctl("malformed body");
    ck_assert(testutil_wait_for_text(log_path, "malformed deliver_sm from the SMSC", 5000));
    ck_assert(wait_for_count(log_path, "bind=carrier bound (transceiver)", 3, 8000));
    ctl("malformed length");
    ck_assert(testutil_wait_for_text(log_path, "bad PDU framing from the SMSC", 5000));
    ck_assert(wait_for_count(log_path, "bind=carrier bound (transceiver)", 4, 8000));
    ctl("malformed cmdid");
    ck_assert(testutil_wait_for_text(log_path, "command_id 0x00000999 unknown: answered generic_nack", 5000));
    char lt[600], method[16];
    int n;
    long_text(lt, sizeof lt, "Still alive, in one message_payload. ", 300);
    int64_t id = send_msg("+353870000031", lt, NULL);
    ck_assert(wait_for_query(STATE_OF, id, "delivered", 10000));
    ck_assert_str_eq(texts_to("353870000031", &n, method, sizeof method), lt);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(method, "payload");
    ck_assert_int_eq(count_text(log_path, "bind=carrier bound (transceiver)"), 4);
    stop_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("smpp_gateway");
    TCase *t = tcase_create("gateway");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, submits_receipts_and_inbound);
    tcase_add_test(t, sar_and_transmitter_receiver);
    tcase_add_test(t, wrong_password_is_a_clear_error_retried_with_backoff);
    tcase_add_test(t, throttling_slows_down_and_loses_nothing);
    tcase_add_test(t, dropped_link_loses_nothing);
    tcase_add_test(t, a_slow_answer_finds_the_plan_written_on_its_own);
    tcase_add_test(t, silent_keepalive_and_malformed_pdus_reset_the_session);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
