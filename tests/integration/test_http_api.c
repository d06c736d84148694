/*
 * The HTTP API of a running `homing run` with a simulated modem: a message
 * posted is sent, its receipt shows in GET /v1/messages/{id}; idempotency
 * keys return the first message; every error status names what is wrong
 * (503 while another process holds the database's lock, with nothing lost);
 * Kannel's /cgi-bin/sendsms answers as Kannel does; /v1/status and /metrics
 * (open without the token only with http.metrics_open); and a start with
 * 1,000 queued messages sends every one of them once.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

#define TOKEN "s3cret-token"

static char dir[512], conf_path[700], log_path[700], sim_log[700], sub_log[700], ctl_path[700];
static char db_path[700];
static pid_t sim_pid, homing_pid;
static int port;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_log,
                                            .sub_log = sub_log });
}

static void start_sim(void)
{
    sim_pid = harness_start_modem_sim(dir, 1, ctl_path, sub_log, sim_log, NULL);
}

static bool metrics_open;

static void write_conf(int max_body)
{
    char text[2048];
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "http = { listen = \"127.0.0.1:0\"; token = \"" TOKEN "\"; max_body = %d; "
             "metrics_open = %s; };\n"
             "retry = { backoff = \"1s\"; };\n"
             "kannel_compat = { users = ( { username = \"app\"; password = \"pw\"; } ); };\n"
             "modems = ( { name = \"m1\"; port = \"%s/m1\"; sends_per_minute = 6000; } );\n",
             db_path, max_body, metrics_open ? "true" : "false", dir);
    testutil_write_file(dir, "homing.conf", text);
}

static void start_homing(void)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert(testutil_wait_for_text(log_path, "modem=m1 ready", 15000));
    port = harness_http_port(log_path);
}

static void stop_homing(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 20000), 0);
}

static void stop_all(void)
{
    stop_homing();
    harness_stop(&sim_pid, 5000);
}

static const char *ctl(const char *cmd)
{
    return harness_ctl(ctl_path, cmd);
}

/* A whole HTTP/1.1 exchange on a fresh connection; returns the status, body in *body. */
static int http(const char *method, const char *path, const char *auth, const char *type,
                const char *payload, char **body)
{
    return harness_http(port, method, path, auth, type, payload, body);
}

static json_t *post_json(const char *payload, int want_status)
{
    char *body;
    int status = http("POST", "/v1/messages", TOKEN, "application/json", payload, &body);
    ck_assert_msg(status == want_status, "POST %s -> %d %s", payload, status, body);
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    free(body);
    return j;
}

static bool wait_state(int64_t id, const char *want, int timeout_ms)
{
    char path[64], *body = NULL;
    snprintf(path, sizeof path, "/v1/messages/%lld", (long long)id);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        http("GET", path, TOKEN, NULL, NULL, &body);
        bool ok = strstr(body, want) != NULL;
        free(body);
        if (ok)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

START_TEST(post_then_receipt_shows_delivered)
{
    start_sim();
    write_conf(65536);
    start_homing();
    json_t *j = post_json("{\"to\": \"087 123 4567\", \"text\": \"Hello over HTTP €\"}", 202);
    int64_t id = json_integer_value(json_object_get(j, "id"));
    ck_assert_int_gt(id, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "gsm7");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "segments")), 1);
    json_decref(j);
    ck_assert(wait_state(id, "\"state\":\"sent\"", 10000));
    ctl("report 0 0");
    ck_assert(wait_state(id, "\"state\":\"delivered\"", 10000));

    char *body;
    char path[64];
    snprintf(path, sizeof path, "/v1/messages/%lld", (long long)id);
    ck_assert_int_eq(http("GET", path, TOKEN, NULL, NULL, &body), 200);
    json_error_t e;
    j = json_loads(body, 0, &e);
    json_t *part = json_array_get(json_object_get(j, "parts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(part, "state")), "delivered");
    ck_assert_str_eq(json_string_value(json_object_get(part, "ref")), "m1:0");
    ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "+353871234567");
    json_decref(j);
    free(body);

    ck_assert_int_eq(http("GET", "/v1/status", TOKEN, NULL, NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"m1\",\"up\":true"));
    ck_assert_ptr_nonnull(strstr(body, "\"delivered\":1"));
    free(body);
    ck_assert_int_eq(http("GET", "/metrics", TOKEN, NULL, NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "homing_messages{state=\"delivered\"} 1"));
    ck_assert_ptr_nonnull(strstr(body, "homing_parts{state=\"delivered\"} 1"));
    ck_assert_ptr_nonnull(strstr(body, "homing_receipts{state=\"delivered\"} 1"));
    ck_assert_ptr_nonnull(strstr(body, "homing_driver_up{driver=\"m1\",kind=\"modem\"} 1"));
    ck_assert_ptr_nonnull(strstr(body, "homing_modem_signal_dbm{modem=\"m1\"}"));
    ck_assert_ptr_nonnull(strstr(body, "homing_queue_oldest_seconds 0"));
    free(body);
    /* Without metrics_open, /metrics wants the token like the rest. */
    ck_assert_int_eq(http("GET", "/metrics", NULL, NULL, NULL, &body), 401);
    free(body);
    stop_all();
}
END_TEST

START_TEST(idempotency_and_error_statuses)
{
    start_sim();
    write_conf(2048);
    start_homing();
    const char *msg = "{\"to\": \"+353871234567\", \"text\": \"once\", \"idempotency_key\": \"k-1\"}";
    json_t *a = post_json(msg, 202), *b = post_json(msg, 202);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "id")),
                     json_integer_value(json_object_get(b, "id")));
    ck_assert(json_is_true(json_object_get(b, "duplicate")));
    json_decref(a);
    json_decref(b);

    struct { const char *method, *path, *auth, *payload; int status; const char *says; } cases[] = {
        { "POST", "/v1/messages", NULL, "{}", 401, "missing Authorization" },
        { "POST", "/v1/messages", "wrong", "{}", 401, "token is wrong" },
        { "POST", "/v1/messages", TOKEN, "not json", 400, "not JSON" },
        { "POST", "/v1/messages", TOKEN, "[1]", 400, "JSON object" },
        { "POST", "/v1/messages", TOKEN, "{\"text\": \"x\"}", 400, "to: missing" },
        { "POST", "/v1/messages", TOKEN, "{\"to\": 353, \"text\": \"x\"}", 400, "to: must be a string" },
        { "POST", "/v1/messages", TOKEN, "{\"to\": \"+353871234567\"}", 400, "text: missing" },
        { "POST", "/v1/messages", TOKEN, "{\"to\": \"+353871234567\", \"text\": \"x\", \"route\": \"m9\"}",
          400, "route: no modem or SMPP bind is named 'm9'" },
        { "POST", "/v1/messages", TOKEN, "{\"to\": \"+353871234567\", \"text\": \"x\", \"validity\": \"5y\"}",
          400, "validity" },
        { "POST", "/v1/messages", TOKEN, "{\"to\": \"+353871234567\", \"text\": \"other\", "
          "\"idempotency_key\": \"k-1\"}", 409, "idempotency key 'k-1' was already used" },
        { "GET", "/v1/messages/999999", TOKEN, NULL, 404, "no message with id 999999" },
        { "GET", "/v1/nothing", TOKEN, NULL, 404, "no such endpoint" },
        { "GET", "/v1/messages", TOKEN, NULL, 405, "use POST" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body;
        int status = http(cases[i].method, cases[i].path, cases[i].auth, "application/json",
                          cases[i].payload, &body);
        ck_assert_msg(status == cases[i].status && strstr(body, cases[i].says),
                      "%s %s -> %d %s", cases[i].method, cases[i].path, status, body);
        ck_assert_msg(strstr(body, "{\"error\":") == body, "not a JSON error: %s", body);
        free(body);
    }
    /* Over http.max_body: 413. */
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *body;
    ck_assert_int_eq(http("POST", "/v1/messages", TOKEN, "application/json", big, &body), 413);
    free(body);

    /* An opted-out recipient: 422 naming the opt-out. */
    harness_sql(db_path, "INSERT INTO optouts (recipient, keyword, received_at, source) VALUES "
                         "('+353870000001', 'STOP', 1700000000, 'test')");
    ck_assert_int_eq(http("POST", "/v1/messages", TOKEN, "application/json",
                          "{\"to\": \"+353870000001\", \"text\": \"hi\"}", &body), 422);
    ck_assert_ptr_nonnull(strstr(body, "+353870000001 opted out (STOP"));
    free(body);
    stop_all();
}
END_TEST

/* Another process takes the database's write lock for `seconds` (longer than the store's busy timeout). */
static pid_t lock_database(int seconds, const char *out)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", seconds);
    const char *argv[] = { "/usr/bin/env", "python3", "-c",
                           "import sqlite3, sys, time\n"
                           "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
                           "c.execute('BEGIN EXCLUSIVE')\n"
                           "print('locked', flush=True)\n"
                           "time.sleep(float(sys.argv[2]))\n"
                           "c.execute('COMMIT')\n"
                           "print('released', flush=True)\n",
                           db_path, secs, NULL };
    pid_t pid = testutil_spawn(argv, out);
    ck_assert_msg(testutil_wait_for_text(out, "locked", 10000), "python3 could not lock the database");
    return pid;
}

static int64_t count_messages(const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM messages WHERE %s", where);
    return harness_query_int(db_path, sql);
}

START_TEST(store_locked_by_another_process_answers_503_and_loses_nothing)
{
    start_sim();
    write_conf(65536);
    start_homing();
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        char payload[128];
        snprintf(payload, sizeof payload, "{\"to\": \"+35387100000%d\", \"text\": \"before %d\"}", i, i);
        json_t *j = post_json(payload, 202);
        ids[i] = json_integer_value(json_object_get(j, "id"));
        json_decref(j);
    }
    for (int i = 0; i < 3; i++)
        ck_assert(wait_state(ids[i], "\"state\":\"sent\"", 10000));

    char lock_out[760];
    snprintf(lock_out, sizeof lock_out, "%s/lock.out", dir);
    pid_t locker = lock_database(12, lock_out);
    ctl("report 0 0"); /* a receipt for the first arrives while the store is locked */
    char *body;
    int status = http("POST", "/v1/messages", TOKEN, "application/json",
                      "{\"to\": \"+353871000009\", \"text\": \"during the lock\"}", &body);
    ck_assert_msg(status == 503, "POST while the database is locked -> %d %s", status, body);
    ck_assert_msg(strstr(body, "{\"error\":\"the message store is unavailable") == body &&
                  strstr(body, "locked"), "not a JSON error naming the problem: %s", body);
    free(body);
    ck_assert(testutil_wait_for_text(lock_out, "released", 30000));
    ck_assert_int_eq(testutil_wait_exit(locker, 5000), 0);

    /* Once the lock is gone: accepted again, and nothing from before was lost. */
    json_t *j = post_json("{\"to\": \"+353871000004\", \"text\": \"after\"}", 202);
    int64_t after = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    ck_assert(wait_state(after, "\"state\":\"sent\"", 10000));
    ck_assert_msg(wait_state(ids[0], "\"state\":\"delivered\"", 10000),
                  "the receipt that came during the lock was lost");
    ck_assert(wait_state(ids[1], "\"state\":\"sent\"", 1000));
    ck_assert(wait_state(ids[2], "\"state\":\"sent\"", 1000));
    ck_assert_int_eq(count_messages("1"), 4);
    ck_assert_int_eq(count_messages("body = 'during the lock'"), 0);

    /* A send that fails (temporarily) while the store is locked is retried once it is back,
     * not left "sending" until the next start. */
    ctl("modem m1 latency 2500");
    ctl("modem m1 fail 1 38");
    j = post_json("{\"to\": \"+353871000005\", \"text\": \"retried after the lock\"}", 202);
    int64_t retried = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    ck_assert(wait_state(retried, "\"state\":\"sending\"", 5000));
    unlink(lock_out);
    locker = lock_database(5, lock_out);
    ck_assert(testutil_wait_for_text(log_path, "+CMS ERROR: 38", 10000));
    ck_assert(testutil_wait_for_text(lock_out, "released", 30000));
    ck_assert_int_eq(testutil_wait_exit(locker, 5000), 0);
    ctl("modem m1 latency 0");
    ck_assert_msg(wait_state(retried, "\"state\":\"sent\"", 15000), "still not sent after the lock");
    ck_assert(testutil_wait_for_text(log_path, "back in the queue now that the store answers", 1000));
    stop_all();
}
END_TEST

START_TEST(metrics_open_serves_metrics_without_the_token_and_nothing_else)
{
    metrics_open = true;
    start_sim();
    write_conf(65536);
    start_homing();
    char *body;
    ck_assert_int_eq(http("GET", "/metrics", NULL, NULL, NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "# TYPE homing_messages gauge"));
    free(body);
    ck_assert_int_eq(http("GET", "/v1/status", NULL, NULL, NULL, &body), 401);
    free(body);
    ck_assert_int_eq(http("POST", "/v1/messages", NULL, "application/json",
                          "{\"to\": \"+353871234567\", \"text\": \"x\"}", &body), 401);
    free(body);
    stop_all();
}
END_TEST

START_TEST(kannel_sendsms_answers_as_kannel)
{
    start_sim();
    write_conf(65536);
    start_homing();
    char *body;
    ck_assert_int_eq(http("GET", "/cgi-bin/sendsms?username=app&password=pw&to=%2B353871234567"
                          "+0871234568&text=Hello+from+a+Kannel+app", NULL, NULL, NULL, &body), 202);
    ck_assert_str_eq(body, "0: Accepted for delivery\n");
    free(body);
    ck_assert_int_eq(http("POST", "/cgi-bin/sendsms", NULL, "application/x-www-form-urlencoded",
                          "user=app&pass=pw&to=0871234569&text=posted+form&charset=ISO-8859-1",
                          &body), 202);
    free(body);
    ck_assert_int_eq(http("GET", "/cgi-bin/sendsms?username=app&password=nope&to=1&text=x", NULL,
                          NULL, NULL, &body), 403);
    ck_assert_str_eq(body, "Authorization failed for sendsms\n");
    free(body);
    ck_assert_int_eq(http("GET", "/cgi-bin/sendsms?username=app&password=pw&text=x", NULL, NULL,
                          NULL, &body), 400);
    ck_assert_str_eq(body, "Missing receiver number, rejected\n");
    free(body);
    ck_assert_int_eq(http("GET", "/cgi-bin/sendsms?username=app&password=pw&to=12ab&text=x", NULL,
                          NULL, NULL, &body), 400);
    ck_assert_ptr_nonnull(strstr(body, "is not a phone number"));
    free(body);
    /* Kannel's text/plain POST: the body is the text, the rest in X-Kannel-* headers. */
    ck_assert_int_eq(http("POST", "/cgi-bin/sendsms", NULL,
                          "text/plain\r\nX-Kannel-Username: app\r\nX-Kannel-Password: pw\r\n"
                          "X-Kannel-To: 0871234570",
                          "body as the text", &body), 202);
    free(body);
    /* The first value of a parameter counts; a pair without '=' is skipped. */
    ck_assert_int_eq(http("GET", "/cgi-bin/sendsms?username=app&password=pw&junk&to=0871234571"
                          "&text=first+value&text=second+value", NULL, NULL, NULL, &body), 202);
    free(body);
    /* A form's text may hold a line break. */
    ck_assert_int_eq(http("POST", "/cgi-bin/sendsms", NULL, "application/x-www-form-urlencoded",
                          "user=app&pass=pw&to=0871234572&text=line+one%0Aline+two", &body), 202);
    free(body);
    for (int i = 0; i < 100 && !testutil_wait_for_text(sub_log, "posted form", 100); i++)
        ;
    ck_assert(testutil_wait_for_text(sub_log, "body as the text", 5000));
    ck_assert(testutil_wait_for_text(sub_log, "first value", 5000));
    ck_assert(!testutil_wait_for_text(sub_log, "second value", 10));
    ck_assert(testutil_wait_for_text(sub_log, "line two", 5000));
    ck_assert(testutil_wait_for_text(sub_log, "Hello from a Kannel app", 5000));
    ck_assert(testutil_wait_for_text(sub_log, "+353871234568", 5000));
    stop_all();
}
END_TEST

START_TEST(restart_with_a_thousand_queued_sends_them_all)
{
    start_sim();
    write_conf(65536);
    /* 1,000 messages queued while nothing runs (the CLI batch would be slow: use SQL). */
    harness_send(conf_path, "+353871000000", "first", NULL);
    harness_sql(db_path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999) "
        "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
        "expires_at, source, created_at, updated_at) SELECT printf('+3538710%05d', i), "
        "printf('queued %d', i), 'gsm7', 1, 'queued', 0, 4000000000, 'test', 0, 0 FROM n");
    start_homing();
    for (int waited = 0; waited < 60000; waited += 500) {
        char *text = testutil_read_file(sub_log);
        size_t lines = 0;
        for (char *p = text; p && *p; p++)
            lines += *p == '\n';
        free(text);
        if (lines >= 1000)
            break;
        usleep(500 * 1000);
    }
    stop_all();
    ck_assert_int_eq(count_messages("state = 'sent'"), 1000);
    /* Each exactly once in the simulator's log. */
    char *text = testutil_read_file(sub_log);
    size_t lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 1000);
    free(text);
}
END_TEST

/*
 * The HTTP thread under concurrent clients while the main loop reloads its
 * configuration and answers /v1/status and /metrics (read on the main loop):
 * every POST is answered 202 with its own id, every one of them is in the
 * database, and the modem sends each once.
 */
#define CLIENTS 8
#define POSTS_PER_CLIENT 40

static void client_posts(int client, const char *ids_path)
{
    FILE *out = fopen(ids_path, "w");
    for (int i = 0; out && i < POSTS_PER_CLIENT; i++) {
        char payload[160], *body = NULL;
        snprintf(payload, sizeof payload, "{\"to\": \"+3538720%02d%03d\", \"text\": \"c%d m%d\"}",
                 client, i, client, i);
        int status = http("POST", "/v1/messages", TOKEN, "application/json", payload, &body);
        json_t *j = status == 202 ? json_loads(body, 0, NULL) : NULL;
        fprintf(out, "%d %lld\n", status, j ? (long long)json_integer_value(json_object_get(j, "id")) : 0LL);
        json_decref(j);
        free(body);
    }
    if (out)
        fclose(out);
    _exit(out ? 0 : 1);
}

START_TEST(concurrent_posts_with_reloads_and_status_lose_nothing)
{
    start_sim();
    write_conf(65536);
    start_homing();
    pid_t kids[CLIENTS];
    char ids[CLIENTS][800];
    for (int c = 0; c < CLIENTS; c++) {
        snprintf(ids[c], sizeof ids[c], "%s/ids-%d", dir, c);
        kids[c] = fork();
        ck_assert_int_ge(kids[c], 0);
        if (kids[c] == 0)
            client_posts(c, ids[c]);
    }
    for (int round = 0; round < 5; round++) { /* meanwhile, on the main loop's side */
        char *body = NULL;
        ck_assert_int_eq(kill(homing_pid, SIGHUP), 0);
        ck_assert_int_eq(http("GET", "/v1/status", TOKEN, NULL, NULL, &body), 200);
        ck_assert_msg(strstr(body, "\"m1\"") != NULL, "status: %s", body);
        free(body);
        ck_assert_int_eq(http("GET", "/metrics", TOKEN, NULL, NULL, &body), 200);
        ck_assert_msg(strstr(body, "homing_driver_up{driver=\"m1\"") != NULL, "metrics: %s", body);
        free(body);
        usleep(100 * 1000);
    }
    for (int c = 0; c < CLIENTS; c++) {
        int st = 0;
        ck_assert_int_eq(waitpid(kids[c], &st, 0), kids[c]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* Every answer a 202 with an id of its own, and that id in the database. */
    int answered = 0;
    for (int c = 0; c < CLIENTS; c++) {
        char *text = testutil_read_file(ids[c]);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int status = 0;
            long long id = 0;
            ck_assert_int_eq(sscanf(line, "%d %lld", &status, &id), 2);
            ck_assert_msg(status == 202 && id > 0, "client %d: %s", c, line);
            char where[64];
            snprintf(where, sizeof where, "id = %lld", id);
            ck_assert_int_eq(count_messages(where), 1);
            answered++;
        }
        free(text);
    }
    ck_assert_int_eq(answered, CLIENTS * POSTS_PER_CLIENT);
    ck_assert_int_eq(count_messages("1"), CLIENTS * POSTS_PER_CLIENT);
    ck_assert(testutil_wait_for_text(log_path, "config reloaded", 5000));
    /* The modem sends each once (6000 a minute: a few seconds). */
    ck_assert(harness_wait_for_query_int(db_path, "SELECT count(*) FROM messages WHERE state = 'sent'",
                                         CLIENTS * POSTS_PER_CLIENT, 30000));
    stop_all();
    char *text = testutil_read_file(sub_log);
    size_t lines = 0;
    for (char *p = text; p && *p; p++)
        lines += *p == '\n';
    free(text);
    ck_assert_int_eq(lines, CLIENTS * POSTS_PER_CLIENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_api");
    TCase *t = tcase_create("http");
    tcase_set_timeout(t, 120);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, post_then_receipt_shows_delivered);
    tcase_add_test(t, idempotency_and_error_statuses);
    tcase_add_test(t, kannel_sendsms_answers_as_kannel);
    tcase_add_test(t, store_locked_by_another_process_answers_503_and_loses_nothing);
    tcase_add_test(t, metrics_open_serves_metrics_without_the_token_and_nothing_else);
    tcase_add_test(t, restart_with_a_thousand_queued_sends_them_all);
    tcase_add_test(t, concurrent_posts_with_reloads_and_status_lose_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
