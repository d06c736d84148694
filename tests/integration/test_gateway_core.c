/*
 * The gateway core end to end, for what the other programs leave out:
 * - HTTP POST through an SMPP bind (tools/smsc-sim): its receipt makes
 *   GET /v1/messages/{id} show delivered; and the same through Kannel's
 *   /cgi-bin/sendsms with a dlr-url, whose GETs follow Kannel's dlr-mask
 *   (8 accepted by the SMSC, then 1 delivered; 2, 4 and 16 not asked for);
 * - failover when a modem is unplugged in the middle of a stream of sends:
 *   every message goes, the rest by the other modem, at most the one in
 *   flight at the unplug twice (failover takes m2 whenever m1 is busy, so
 *   both carry some before the unplug);
 * - a stop (SIGTERM) and a crash (SIGKILL) in the middle of 1,000 queued
 *   messages: after each restart they all go, none twice after the clean
 *   stop, and after the crash only what was in flight;
 * - the last look at opt-outs when a batch is claimed: an opt-out the queue
 *   did not see suppresses the message, except the opt-out's confirmation.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

#define TOKEN "core-token"

static char dir[512], conf_path[700], log_path[700], db_path[700];
static char msim_out[700], msim_log[700], msim_ctl[700];
static char ssim_out[700], ssim_log[700], ssim_port_file[700];
static char hook_out[700], hook_log[700], hook_port_file[700];
static pid_t msim_pid, ssim_pid, hook_pid, homing_pid;
static int http_port, ssim_port, hook_port;

static void paths(void)
{
    snprintf(dir, sizeof dir, "%s", testutil_tmpdir());
    snprintf(conf_path, sizeof conf_path, "%s/homing.conf", dir);
    snprintf(log_path, sizeof log_path, "%s/homing.log", dir);
    snprintf(db_path, sizeof db_path, "%s/homing.db", dir);
    snprintf(msim_out, sizeof msim_out, "%s/modem-sim.out", dir);
    snprintf(msim_log, sizeof msim_log, "%s/modem-submits.jsonl", dir);
    snprintf(msim_ctl, sizeof msim_ctl, "%s/ctl", dir);
    snprintf(ssim_out, sizeof ssim_out, "%s/smsc-sim.out", dir);
    snprintf(ssim_log, sizeof ssim_log, "%s/smsc-submits.jsonl", dir);
    snprintf(ssim_port_file, sizeof ssim_port_file, "%s/smsc-port", dir);
    snprintf(hook_out, sizeof hook_out, "%s/hook.out", dir);
    snprintf(hook_log, sizeof hook_log, "%s/hook.log", dir);
    snprintf(hook_port_file, sizeof hook_port_file, "%s/hook-port", dir);
    msim_pid = ssim_pid = hook_pid = homing_pid = 0;
}

static int read_port(const char *file)
{
    char *text = testutil_read_file(file);
    ck_assert_msg(text != NULL, "no %s", file);
    int port = atoi(text);
    free(text);
    ck_assert_int_gt(port, 0);
    return port;
}

static void start_modem_sim(void)
{
    msim_pid = harness_start_modem_sim(dir, 2, msim_ctl, msim_log, msim_out, NULL);
}

static void start_smsc_sim(void)
{
    const char *extra[] = { "--receipts", "text", "--receipt-delay", "50", NULL };
    ssim_pid = harness_start_smsc_sim(ssim_port_file, NULL, ssim_log, ssim_out, extra, &ssim_port);
}

/* An HTTP receiver for dlr-url calls: one line per request, "METHOD PATH". */
static void start_receiver(void)
{
    const char *argv[] = {
        "/usr/bin/env", "python3", "-c",
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        with open(sys.argv[1], 'a') as f: f.write('GET ' + self.path + '\\n')\n"
        "        self.send_response(200); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "open(sys.argv[2] + '.tmp', 'w').write(str(s.server_port))\n"
        "import os; os.rename(sys.argv[2] + '.tmp', sys.argv[2])\n"
        "print('receiver ready', flush=True)\n"
        "s.serve_forever()\n",
        hook_log, hook_port_file, NULL };
    hook_pid = testutil_spawn(argv, hook_out);
    ck_assert_msg(testutil_wait_for_text(hook_out, "receiver ready", 10000), "receiver not ready");
    hook_port = read_port(hook_port_file);
}

static void write_conf(const char *extra)
{
    char text[8192];
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "http = { listen = \"127.0.0.1:0\"; token = \"" TOKEN "\"; };\n"
             "retry = { backoff = \"1s\"; max_backoff = \"2s\"; attempts = 10; };\n"
             "kannel_compat = { users = ( { username = \"app\"; password = \"pw\"; } ); };\n%s",
             db_path, extra);
    testutil_write_file(dir, "homing.conf", text);
}

static const char *two_modems(void)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "modems = (\n"
             "  { name = \"m1\"; port = \"%s/m1\"; sends_per_minute = 6000; send_timeout = \"3s\"; poll = \"1s\"; },\n"
             "  { name = \"m2\"; port = \"%s/m2\"; sends_per_minute = 6000; send_timeout = \"3s\"; poll = \"1s\"; }\n"
             ");\n"
             "routes = ( { match = \"+\"; via = [ \"m1\", \"m2\" ]; strategy = \"failover\"; } );\n",
             dir, dir);
    return text;
}

static void start_homing(const char *wait_for)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    unlink(log_path);
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, wait_for, 15000), "no '%s'", wait_for);
    ck_assert(testutil_wait_for_text(log_path, "http listening on", 5000));
    http_port = harness_http_port(log_path);
}

static void stop_homing(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 20000), 0);
}

static void stop_all(void)
{
    stop_homing();
    harness_stop(&msim_pid, 5000);
    harness_stop(&ssim_pid, 5000);
    harness_stop(&hook_pid, 5000);
}

static void modem_ctl(const char *cmd)
{
    harness_ctl(msim_ctl, cmd);
}

/* A whole HTTP/1.1 exchange on a fresh connection; returns the status, body in *body. */
static int http(const char *method, const char *path, const char *type, const char *payload,
                char **body)
{
    return harness_http(http_port, method, path, TOKEN, type, payload, body);
}

static int64_t post_message(const char *to, const char *text)
{
    char payload[512], *body;
    snprintf(payload, sizeof payload, "{\"to\": \"%s\", \"text\": \"%s\"}", to, text);
    int status = http("POST", "/v1/messages", "application/json", payload, &body);
    ck_assert_msg(status == 202, "POST %s -> %d %s", payload, status, body);
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    free(body);
    ck_assert_int_gt(id, 0);
    return id;
}

/* GET /v1/messages/{id} until its state is `want`; returns the last body (malloc'd) or NULL. */
static json_t *wait_for_state(int64_t id, const char *want, int timeout_ms)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/messages/%lld", (long long)id);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        char *body;
        ck_assert_int_eq(http("GET", path, NULL, NULL, &body), 200);
        json_error_t e;
        json_t *j = json_loads(body, 0, &e);
        free(body);
        if (j && strcmp(json_string_value(json_object_get(j, "state")), want) == 0)
            return j;
        json_decref(j);
        usleep(100 * 1000);
    }
    return NULL;
}

static int64_t count_sql(const char *sql)
{
    return harness_query_int(db_path, sql);
}

static bool wait_for_count(const char *sql, int64_t want, int timeout_ms)
{
    return harness_wait_for_query_int(db_path, sql, want, timeout_ms);
}

/* The simulator's log lines, as JSON objects. */
static json_t *log_lines(const char *path)
{
    return harness_jsonl(path);
}

static size_t count_lines(const char *path)
{
    char *text = testutil_read_file(path);
    size_t n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

static bool wait_for_lines(const char *path, size_t want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (count_lines(path) >= want)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/* Submits so far by m1 and m2. */
static void submits_by(int *m1, int *m2)
{
    json_t *list = log_lines(msim_log), *j;
    size_t i;
    *m1 = *m2 = 0;
    json_array_foreach(list, i, j) {
        const char *modem = json_string_value(json_object_get(j, "modem"));
        *m1 += strcmp(modem, "m1") == 0;
        *m2 += strcmp(modem, "m2") == 0;
    }
    json_decref(list);
}

/*
 * Checks the modem-sim log against `n` messages to +3538720NNNN: each was sent,
 * and returns how many were sent more than once (and how many submits m1 and m2 made).
 */
static int duplicates(int n, int *by_m1, int *by_m2)
{
    int *seen = calloc((size_t)n + 1, sizeof *seen);
    json_t *list = log_lines(msim_log), *j;
    size_t i;
    *by_m1 = *by_m2 = 0;
    json_array_foreach(list, i, j) {
        const char *to = json_string_value(json_object_get(j, "to"));
        const char *modem = json_string_value(json_object_get(j, "modem"));
        if (!to || strncmp(to, "+3538720", 8) != 0)
            continue;
        int k = atoi(to + 8);
        ck_assert(k >= 1 && k <= n);
        seen[k]++;
        *by_m1 += strcmp(modem, "m1") == 0;
        *by_m2 += strcmp(modem, "m2") == 0;
    }
    json_decref(list);
    int twice = 0;
    for (int k = 1; k <= n; k++) {
        ck_assert_msg(seen[k] > 0, "message to +3538720%04d was never sent", k);
        twice += seen[k] > 1;
    }
    free(seen);
    return twice;
}

START_TEST(http_and_sendsms_through_an_smpp_bind_end_to_end)
{
    start_smsc_sim();
    start_receiver();
    char extra[1024];
    snprintf(extra, sizeof extra,
             "smpp = ( { name = \"carrier\"; host = \"127.0.0.1\"; port = %d; system_id = \"homing\";\n"
             "           password = \"secret\"; enquire_link = \"5s\"; } );\n", ssim_port);
    write_conf(extra);
    start_homing("bind=carrier bound");

    int64_t id = post_message("+353871234567", "over HTTP and SMPP");
    json_t *m = wait_for_state(id, "delivered", 15000);
    ck_assert_msg(m != NULL, "message %lld never showed delivered", (long long)id);
    ck_assert_str_eq(json_string_value(json_object_get(m, "route")), "carrier");
    json_t *part = json_array_get(json_object_get(m, "parts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(part, "state")), "delivered");
    json_t *subs = log_lines(ssim_log), *sub = json_array_get(subs, 0);
    ck_assert_str_eq(json_string_value(json_object_get(part, "ref")),
                     json_string_value(json_object_get(sub, "message_id")));
    ck_assert_str_eq(json_string_value(json_object_get(sub, "text")), "over HTTP and SMPP");
    json_decref(subs);
    json_decref(m);

    /* Kannel: two recipients, dlr-mask 31 (every event) to our receiver. */
    char form[1024], *body;
    snprintf(form, sizeof form,
             "user=app&pass=pw&to=%%2B353871000001+%%2B353871000002&text=kannel+via+smpp&from=Acme"
             "&smsc=carrier&dlr-mask=31&dlr-url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fdlr%%3Ftype%%3D"
             "%%25d%%26to%%3D%%25p%%26smsc%%3D%%25i%%26reply%%3D%%25A", hook_port);
    ck_assert_int_eq(http("POST", "/cgi-bin/sendsms", "application/x-www-form-urlencoded", form,
                          &body), 202);
    ck_assert_str_eq(body, "0: Accepted for delivery\n");
    free(body);
    ck_assert_msg(wait_for_lines(hook_log, 4, 15000), "dlr-url calls: %zu of 4", count_lines(hook_log));
    sleep(1); /* anything more would come now */
    ck_assert_uint_eq(count_lines(hook_log), 4);
    char *calls = testutil_read_file(hook_log);
    for (int r = 1; r <= 2; r++) {
        char acked[128], done[128];
        snprintf(acked, sizeof acked, "GET /dlr?type=8&to=%%2B35387100000%d&smsc=carrier&reply=ACK%%2F", r);
        snprintf(done, sizeof done, "GET /dlr?type=1&to=%%2B35387100000%d&smsc=carrier&reply=", r);
        const char *a = strstr(calls, acked), *d = strstr(calls, done);
        ck_assert_msg(a && d && a < d, "recipient %d: %s", r, calls);
        ck_assert_msg(strstr(d, "DELIVRD"), "the delivered call carries the receipt: %s", calls);
    }
    ck_assert_ptr_null(strstr(calls, "type=2"));
    ck_assert_ptr_null(strstr(calls, "type=4"));
    ck_assert_ptr_null(strstr(calls, "type=16"));
    free(calls);
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state = 'delivered'", 3, 10000));
    stop_all();
}
END_TEST

START_TEST(failover_when_a_modem_is_unplugged_mid_run)
{
    enum { N = 80 };
    start_modem_sim();
    write_conf(two_modems());
    start_homing("modem=m2 ready");
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 ready", 10000));
    modem_ctl("modem m1 latency 40");
    modem_ctl("modem m2 latency 40");
    for (int k = 1; k <= N; k++) {
        char to[32], text[32];
        snprintf(to, sizeof to, "+3538720%04d", k);
        snprintf(text, sizeof text, "stream %d", k);
        post_message(to, text);
    }
    ck_assert(wait_for_lines(msim_log, 15, 15000));
    int m1_before, m2_before;
    modem_ctl("modem m1 unplug");
    submits_by(&m1_before, &m2_before);
    ck_assert_int_gt(m1_before, 0);
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state = 'sent'", N, 40000));
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state != 'sent'"), 0);
    int by_m1, by_m2;
    int twice = duplicates(N, &by_m1, &by_m2);
    ck_assert_msg(twice <= 1, "%d messages sent twice", twice);
    ck_assert_int_le(by_m1, m1_before + 1); /* nothing more by m1 once it was gone */
    ck_assert_int_ge(by_m2, N - by_m1);
    ck_assert_int_gt(by_m2, m2_before);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE route = 'm2'"), by_m2);
    stop_all();
}
END_TEST

START_TEST(stop_and_crash_mid_run_then_every_queued_message_goes)
{
    enum { N = 1000 };
    start_modem_sim();
    write_conf(two_modems());
    start_homing("modem=m2 ready"); /* creates the database; nothing queued yet */
    stop_homing();
    harness_sql(db_path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
        "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
        "expires_at, source, created_at, updated_at) SELECT printf('+3538720%04d', i), "
        "printf('queued %d', i), 'gsm7', 1, 'queued', 0, 4000000000, 'test', 0, 0 FROM n");

    /* A clean stop part way: whatever was handed out finishes or goes back; nothing twice. */
    start_homing("modem=m2 ready");
    ck_assert(wait_for_lines(msim_log, 150, 30000));
    stop_homing();
    size_t after_stop = count_lines(msim_log);
    ck_assert_int_lt(after_stop, N);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'sending'"), 0);
    int by_m1, by_m2;
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'sent'"), after_stop);

    /* A crash part way: messages left sending are requeued at the next start. */
    start_homing("modem=m2 ready");
    ck_assert(wait_for_lines(msim_log, after_stop + 300, 30000));
    kill(homing_pid, SIGKILL);
    testutil_wait_exit(homing_pid, 5000);
    homing_pid = 0;
    int64_t sending = count_sql("SELECT count(*) FROM messages WHERE state = 'sending'");
    /* Not "m2 ready": a modem the crash left at the AT+CMGS prompt comes back only after
     * the recovery ladder has reopened it; the other carries the queue meanwhile. */
    start_homing("info ready");
    if (sending > 0)
        ck_assert(testutil_wait_for_text(log_path, "requeued count=", 5000));
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state = 'sent'", N, 60000));
    stop_all();
    int twice = duplicates(N, &by_m1, &by_m2);
    fprintf(stderr, "crash: %lld sending, %d sent twice; clean stop after %zu sent\n",
            (long long)sending, twice, after_stop);
    /* Only the crash's in-flight window may go twice: what the modems had taken but the
     * store had not yet recorded. */
    ck_assert_msg(twice <= 8, "%d messages sent twice (%lld were sending at the crash)", twice,
                  (long long)sending);
    ck_assert_int_le(twice, sending);
}
END_TEST

START_TEST(an_opt_out_after_queueing_suppresses_at_dispatch_but_not_its_confirmation)
{
    start_modem_sim();
    write_conf(two_modems());
    start_homing("modem=m2 ready"); /* creates the database */
    stop_homing();
    /* Written behind the store's back, as if the STOP came after these were claimed. */
    harness_sql(db_path,
        "INSERT INTO optouts (recipient, keyword, received_at, source) "
        "VALUES ('+353872000001', 'STOP', 1700000000, 'test');"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
        "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
        "expires_at, source, created_at, updated_at) SELECT printf('+35387200000%d', 1 + i % 2), "
        "printf('batch %d', i), 'gsm7', 1, 'queued', 0, 4000000000, "
        "CASE WHEN i = 8 THEN 'consent' ELSE 'test' END, 0, 0 FROM n");
    start_homing("modem=m2 ready");
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state IN ('sent', 'suppressed')",
                             40, 20000));
    /* 20 to the opted-out number, one of them the consent reply: 19 suppressed, 21 sent. */
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'suppressed' AND "
                               "recipient = '+353872000001' AND last_error = "
                               "'recipient opted out (STOP) after the message was queued'"), 19);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'sent' AND "
                               "source = 'consent' AND recipient = '+353872000001'"), 1);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'sent' AND "
                               "recipient = '+353872000002'"), 20);
    stop_all();
    ck_assert_uint_eq(count_lines(msim_log), 21);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gateway_core");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 90);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, http_and_sendsms_through_an_smpp_bind_end_to_end);
    tcase_add_test(t, failover_when_a_modem_is_unplugged_mid_run);
    tcase_add_test(t, stop_and_crash_mid_run_then_every_queued_message_goes);
    tcase_add_test(t, an_opt_out_after_queueing_suppresses_at_dispatch_but_not_its_confirmation);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
