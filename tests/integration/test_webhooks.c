/*
 * Webhooks end to end: `homing run` with one simulated modem, and a small
 * HTTP receiver forked from the test (libevent's evhttp on loopback) that
 * writes every request it gets to a file as one JSON line and can answer
 * 500 to the first N. Receipts and received messages arrive as JSON; a
 * failed call is tried again; a receiver that is down gets its calls once
 * it is back, even across a restart of homing (the outbox is in the
 * database); a Kannel sendsms with a dlr-url gets its GETs with the escapes
 * filled in, for the events its dlr-mask asks for and no others.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_log[700], sub_log[700], ctl_path[700];
static char db_path[700], hook_log[700];
static pid_t sim_pid, homing_pid, hook_pid;
static int hook_port;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_log,
                                            .sub_log = sub_log });
    snprintf(hook_log, sizeof hook_log, "%s/hooks.jsonl", dir);
}

/* --- the receiver --------------------------------------------------------------- */

static int fail_first, answered;

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = calloc(1, len + 1);
    evbuffer_copyout(in, body, len);
    int status = answered++ < fail_first ? 500 : 200;
    json_t *line = json_pack("{s:s, s:s, s:s, s:i}", "method",
                             evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
                             "uri", evhttp_request_get_uri(req), "body", body, "status", status);
    char *text = json_dumps(line, JSON_COMPACT);
    FILE *f = fopen(hook_log, "a");
    fprintf(f, "%s\n", text);
    fclose(f);
    free(text);
    json_decref(line);
    free(body);
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Internal Server Error", NULL);
}

/* A free loopback port for the receiver, found before it runs. */
static void pick_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t n = sizeof sa;
    ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&sa, &n) == 0);
    hook_port = ntohs(sa.sin_port);
    close(fd);
}

static void start_receiver(int failing)
{
    hook_pid = fork();
    ck_assert(hook_pid >= 0);
    if (hook_pid > 0) {
        usleep(200 * 1000);
        return;
    }
    /* Check's runner handlers are inherited: a TERM must end only this child. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    fail_first = failing;
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    if (!base || !http || evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)hook_port) != 0)
        _exit(3);
    evhttp_set_gencb(http, on_request, NULL);
    event_base_dispatch(base);
    _exit(0);
}

/* The receiver's requests to paths starting with `prefix`, as a JSON array. */
static json_t *requests(const char *prefix)
{
    json_t *all = harness_jsonl(hook_log), *list = json_array(), *j;
    size_t i;
    json_array_foreach(all, i, j)
        if (strncmp(json_string_value(json_object_get(j, "uri")), prefix, strlen(prefix)) == 0)
            json_array_append(list, j);
    json_decref(all);
    return list;
}

/* Waits until `n` requests to `prefix` were answered 200; returns them (200s only). */
static json_t *wait_for_requests(const char *prefix, size_t n, int timeout_ms)
{
    for (int waited = 0;; waited += 100) {
        json_t *all = requests(prefix), *ok = json_array(), *j;
        size_t i;
        json_array_foreach(all, i, j)
            if (json_integer_value(json_object_get(j, "status")) == 200)
                json_array_append(ok, j);
        json_decref(all);
        if (json_array_size(ok) >= n || waited >= timeout_ms)
            return ok;
        json_decref(ok);
        usleep(100 * 1000);
    }
}

static json_t *body_of(json_t *request)
{
    json_t *j = json_loads(json_string_value(json_object_get(request, "body")), 0, NULL);
    ck_assert_msg(j != NULL, "body is not JSON");
    return j;
}

/* --- homing and the simulator ---------------------------------------------------- */

static void start_sim(void)
{
    sim_pid = harness_start_modem_sim(dir, 1, ctl_path, sub_log, sim_log, NULL);
}

static void write_conf(bool hooks)
{
    char text[4096], receipts[128] = "", inbound[128] = "";
    if (hooks) {
        snprintf(receipts, sizeof receipts, "http://127.0.0.1:%d/receipts", hook_port);
        snprintf(inbound, sizeof inbound, "http://127.0.0.1:%d/inbound", hook_port);
    }
    snprintf(text, sizeof text,
             "database = \"%s\";\nhttp = { listen = \"127.0.0.1:0\"; };\n"
             "webhooks = { receipts = \"%s\"; inbound = \"%s\"; timeout = \"2s\";\n"
             "  backoff = \"1s\"; max_backoff = \"1s\"; max_attempts = 50; };\n"
             "kannel_compat = { users = ( { username = \"app\"; password = \"secret\"; } ); };\n"
             "modems = ( { name = \"m1\"; port = \"%s/m1\"; sends_per_minute = 600;\n"
             "    send_timeout = \"3s\"; poll = \"1s\"; } );\n",
             db_path, receipts, inbound, dir);
    testutil_write_file(dir, "homing.conf", text);
}

static void start_homing(void)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "modem=m1 ready", 15000), "m1 not ready");
}

static void stop_homing(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 15000), 0);
}

static void stop_all(void)
{
    stop_homing();
    harness_stop(&sim_pid, 5000);
    harness_stop(&hook_pid, 5000);
}

static void ctl(const char *cmd)
{
    harness_ctl(ctl_path, cmd);
}

static const char *query(const char *sql)
{
    return harness_query_text(db_path, sql, NULL);
}

static bool wait_for_query(const char *sql, const char *want, int timeout_ms)
{
    return harness_wait_for_query_text(db_path, sql, NULL, want, timeout_ms);
}

static int64_t send_msg(const char *to, const char *text)
{
    return harness_send(conf_path, to, text, NULL);
}

/* The TP-MR the simulator gave the last submit. */
static long last_mr(void)
{
    char *text = testutil_read_file(sub_log);
    ck_assert_ptr_nonnull(text);
    char *last = text, *nl;
    while ((nl = strchr(last, '\n')) && nl[1])
        last = nl + 1;
    json_t *j = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_ptr_nonnull(j);
    long mr = (long)json_integer_value(json_object_get(j, "mr"));
    json_decref(j);
    free(text);
    return mr;
}

static void report_delivered(void)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "report %ld 0", last_mr());
    ctl(cmd);
}

/* --- tests ----------------------------------------------------------------------- */

START_TEST(receipts_and_inbound_arrive_as_json_and_failures_are_retried)
{
    pick_port();
    start_receiver(1); /* the first call gets a 500 */
    start_sim();
    write_conf(true);
    start_homing();
    int64_t id = send_msg("+353871234567", "hello");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT state FROM messages WHERE id = %lld", (long long)id);
    ck_assert(wait_for_query(sql, "sent", 15000));
    report_delivered();

    json_t *got = wait_for_requests("/receipts", 1, 10000);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *r = body_of(json_array_get(got, 0));
    ck_assert_str_eq(json_string_value(json_object_get(r, "event")), "receipt");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), id);
    ck_assert_str_eq(json_string_value(json_object_get(r, "to")), "+353871234567");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "part")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "parts")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r, "state")), "delivered");
    ck_assert_str_eq(json_string_value(json_object_get(r, "message_state")), "delivered");
    ck_assert_str_eq(json_string_value(json_object_get(r, "route")), "m1");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(r, "ref")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "receipt")), "TP-ST 0"));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(r, "at")));
    json_decref(r);
    json_decref(got);
    /* It got a 500 first, and was tried again. */
    json_t *all = requests("/receipts");
    ck_assert_int_eq(json_array_size(all), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 0), "status")), 500);
    json_decref(all);
    ck_assert(testutil_wait_for_text(log_path, "kind=receipt attempt=1 failed: HTTP status 500", 1000));

    ctl("sms +353861234567 \"a reply, with commas & quotes\"");
    got = wait_for_requests("/inbound", 1, 10000);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *in = body_of(json_array_get(got, 0));
    ck_assert_str_eq(json_string_value(json_object_get(in, "event")), "inbound");
    ck_assert_str_eq(json_string_value(json_object_get(in, "from")), "+353861234567");
    ck_assert_str_eq(json_string_value(json_object_get(in, "text")), "a reply, with commas & quotes");
    ck_assert_str_eq(json_string_value(json_object_get(in, "route")), "m1");
    ck_assert(json_is_true(json_object_get(in, "complete")));
    ck_assert_int_ge(json_integer_value(json_object_get(in, "id")), 1);
    json_decref(in);
    json_decref(got);
    ck_assert(wait_for_query("SELECT count(*) FROM outbox", "0", 5000));
    stop_all();
}
END_TEST

START_TEST(calls_wait_for_a_receiver_that_is_down_even_across_a_restart)
{
    pick_port(); /* nothing listens there yet */
    start_sim();
    write_conf(true);
    start_homing();
    ctl("sms +353861234567 \"while the receiver is down\"");
    ck_assert(wait_for_query("SELECT attempts >= 2 FROM outbox WHERE kind = 'inbound'", "1", 15000));
    /* A send still goes while the webhook fails: a dead endpoint holds nothing up. */
    int64_t id = send_msg("+353871234567", "not held up");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT state FROM messages WHERE id = %lld", (long long)id);
    ck_assert(wait_for_query(sql, "sent", 15000));
    stop_homing();
    ck_assert_str_eq(query("SELECT count(*) FROM outbox WHERE state != 'failed'"), "1");

    start_homing();
    start_receiver(0);
    json_t *got = wait_for_requests("/inbound", 1, 10000);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *in = body_of(json_array_get(got, 0));
    ck_assert_str_eq(json_string_value(json_object_get(in, "text")), "while the receiver is down");
    json_decref(in);
    json_decref(got);
    ck_assert(wait_for_query("SELECT count(*) FROM outbox", "0", 5000));
    stop_all();
}
END_TEST

/* POSTs a form to homing's /cgi-bin/sendsms; returns the HTTP status line's code. */
static int kannel_sendsms(const char *form)
{
    int port = harness_http_port(log_path);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "POST /cgi-bin/sendsms HTTP/1.0\r\nHost: localhost\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %zu\r\n\r\n%s", strlen(form), form);
    ck_assert(write(fd, req, (size_t)n) == n);
    char reply[1024] = "";
    ssize_t got = read(fd, reply, sizeof reply - 1);
    close(fd);
    ck_assert_int_gt(got, 12);
    return atoi(reply + 9);
}

START_TEST(kannel_dlr_url_gets_its_escapes_for_the_masked_events)
{
    pick_port();
    start_receiver(0);
    start_sim();
    write_conf(false);
    start_homing();
    /* dlr-url http://127.0.0.1:PORT/dlr?type=%d&to=%p&from=%P&smsc=%i&id=%I&ts=%T&reply=%A&keep=%Z */
    char form[1024];
    snprintf(form, sizeof form,
             "username=app&password=secret&to=%%2B353871234567&from=Acme&text=kannel+style"
             "&dlr-mask=9&dlr-url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fdlr%%3Ftype%%3D%%25d"
             "%%26to%%3D%%25p%%26from%%3D%%25P%%26smsc%%3D%%25i%%26id%%3D%%25I%%26ts%%3D%%25T"
             "%%26reply%%3D%%25A%%26keep%%3D%%25Z", hook_port);
    ck_assert_int_eq(kannel_sendsms(form), 202);
    json_t *got = wait_for_requests("/dlr", 1, 15000); /* mask 8: accepted by the modem */
    ck_assert_int_eq(json_array_size(got), 1);
    const char *uri = json_string_value(json_object_get(json_array_get(got, 0), "uri"));
    char id[32];
    snprintf(id, sizeof id, "&id=%s&", query("SELECT max(id) FROM messages"));
    ck_assert_msg(strncmp(uri, "/dlr?type=8&to=%2B353871234567&from=Acme&smsc=m1", 48) == 0, "%s", uri);
    ck_assert_msg(strstr(uri, id) && strstr(uri, "&reply=ACK%2Fm1") && strstr(uri, "&keep=%Z"),
                  "%s", uri);
    ck_assert_int_gt(atoll(strstr(uri, "&ts=") + 4), 1600000000);
    json_decref(got);

    report_delivered();
    got = wait_for_requests("/dlr", 2, 10000); /* mask 1: delivered */
    ck_assert_int_eq(json_array_size(got), 2);
    uri = json_string_value(json_object_get(json_array_get(got, 1), "uri"));
    ck_assert_msg(strncmp(uri, "/dlr?type=1&to=%2B353871234567", 30) == 0, "%s", uri);
    ck_assert_msg(strstr(uri, "&reply=TP-ST%200"), "%s", uri);
    json_decref(got);
    sleep(1);
    got = requests("/dlr");
    ck_assert_int_eq(json_array_size(got), 2); /* nothing else: 2, 4 and 16 were not asked for */
    json_decref(got);
    ck_assert_str_eq(query("SELECT count(*) FROM outbox"), "0");
    stop_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("webhooks");
    TCase *t = tcase_create("webhooks");
    tcase_set_timeout(t, 90);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, receipts_and_inbound_arrive_as_json_and_failures_are_retried);
    tcase_add_test(t, calls_wait_for_a_receiver_that_is_down_even_across_a_restart);
    tcase_add_test(t, kannel_dlr_url_gets_its_escapes_for_the_masked_events);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
