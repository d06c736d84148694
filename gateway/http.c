/*
 * http: see http.h. One generic evhttp callback routes by method and path;
 * handlers are short and answer through http_reply_json()/http_reply_error().
 *
 * Everything here runs on the HTTP thread (gateway/worker.h) with its own
 * sqlite connection, `api->store`, except what is marked "main loop": the
 * drivers' live health for /v1/status and /metrics is read there through
 * worker_call_main(), and the dispatcher and the scheduler are woken there
 * through worker_post_main(). A configuration reload reaches this thread as
 * a posted job, between two requests.
 *
 * Group commit: POST /v1/messages and sendsms check the request at once (a
 * bad field is answered at once) and park it (gateway/http_commit.h); the
 * batch is committed at the end of the loop turn and answered once the
 * syncer has it on disk.
 */
#include "gateway/http.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/accept.h"
#include "gateway/clock.h"
#include "gateway/dispatch.h"
#include "gateway/http_commit.h"
#include "gateway/http_kannel.h"
#include "gateway/http_sched.h"
#include "gateway/log.h"
#include "gateway/loop.h"
#include "gateway/message_json.h"
#include "gateway/status_json.h"
#include "gateway/store.h"
#include "gateway/syncer.h"
#include "gateway/worker.h"

#define MAX_HEADERS 16384
#define BUSY_TIMEOUT_MS 500     /* as the main loop's: wait briefly for another process, then 503 */

struct http_api {
    struct http_deps deps;       /* as given: the main loop's */
    struct http_deps here;       /* the same, for this thread: its store, wakes posted to main */
    struct worker *worker;
    struct store *store;         /* this thread's connection */
    struct syncer *syncer;       /* syncs the WAL for both threads */
    struct http_commit *commit;
    struct evhttp *http;
    int port;                    /* the port actually bound (http.listen may say 0) */
};

/* --- replies -------------------------------------------------------------- */

void http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
    free(text);
    json_decref(body);
}

void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

/* --- auth ----------------------------------------------------------------- */

/* Compares without an early exit, so the time taken says nothing about the secret. */
bool http_same_secret(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char diff = (unsigned char)(gl != wl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

static bool authorised(struct http_api *api, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && http_same_secret(h + 7, api->here.conf->http.token))
        return true;
    http_reply_error(req, 401, h ? "the bearer token is wrong" :
                "missing Authorization: Bearer <token> (http.token in the configuration)");
    return false;
}

/* --- POST /v1/messages ----------------------------------------------------- */

static json_t *read_body(struct evhttp_request *req, char *err, size_t err_size)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
    if (!body)
        snprintf(err, err_size, "the body is not JSON: %s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
    else if (!json_is_object(body)) {
        snprintf(err, err_size, "the body must be a JSON object");
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* An optional string field; false (with the reply sent) when it has the wrong type. */
static bool string_field(struct evhttp_request *req, json_t *body, const char *key,
                         const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        http_reply_error(req, 400, "%s: must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool validity_field(struct evhttp_request *req, json_t *body, int64_t *seconds)
{
    json_t *v = json_object_get(body, "validity");
    char why[200];
    *seconds = 0;
    if (!v || json_is_null(v))
        return true;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *seconds = json_integer_value(v);
        return true;
    }
    if (json_is_string(v) && conf_parse_duration(json_string_value(v), seconds, why, sizeof why))
        return true;
    http_reply_error(req, 400, "validity: give seconds or a duration such as \"48h\"");
    return false;
}

static void post_message(struct http_api *api, struct evhttp_request *req)
{
    char err[256];
    json_t *body = read_body(req, err, sizeof err);
    if (!body) {
        http_reply_error(req, 400, "%s", err);
        return;
    }
    struct accept_request ar = { .source = "http" };
    if (!string_field(req, body, "to", &ar.to) || !string_field(req, body, "text", &ar.text) ||
        !string_field(req, body, "from", &ar.from) || !string_field(req, body, "route", &ar.route) ||
        !string_field(req, body, "idempotency_key", &ar.idempotency_key) ||
        !validity_field(req, body, &ar.validity_s)) {
        json_decref(body);
        return;
    }
    http_commit_room(api->commit, 1);
    size_t first = http_commit_mark(api->commit);
    struct accepted *acc = http_commit_slot(api->commit);
    enum accept_status st = accept_check(api->here.conf, api->store, &ar, clock_now(), acc);
    if (st != ACCEPT_OK) {
        http_reply_error(req, st == ACCEPT_BAD_FIELD ? 400 : st == ACCEPT_OPTED_OUT ? 422 : 503, "%s",
                    acc->error);
        json_decref(body);
        return;
    }
    http_commit_keep(api->commit);
    http_commit_park(api->commit, req, body, NULL, first);
}

void http_reply_text(struct evhttp_request *req, int code, const char *text)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add_printf(buf, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
}

static void kannel_sendsms(struct http_api *api, struct evhttp_request *req)
{
    struct kannel_sendsms *k = calloc(1, sizeof *k);
    int status;
    char reply[512];
    if (!k)
        abort();
    if (!kannel_parse(req, api->here.conf, k, &status, reply, sizeof reply)) {
        http_reply_text(req, status, reply);
        kannel_free(k);
        return;
    }
    http_commit_room(api->commit, k->n_to);
    size_t first = http_commit_mark(api->commit);
    for (size_t i = 0; i < k->n_to; i++) {
        struct accept_request ar = k->ar;
        ar.to = k->to[i];
        struct accepted *acc = http_commit_slot(api->commit);
        if (accept_check(api->here.conf, api->store, &ar, clock_now(), acc) != ACCEPT_OK) {
            kannel_refusal(acc, &status, reply, sizeof reply);
            http_commit_drop(api->commit, first); /* all or nothing, as Kannel does per request */
            http_reply_text(req, status, reply);
            kannel_free(k);
            return;
        }
        http_commit_keep(api->commit);
    }
    http_commit_park(api->commit, req, NULL, k, first);
}

/* Main loop: messages were committed. */
static void wake_dispatch(void *arg)
{
    struct http_api *api = arg;
    dispatch_run(api->deps.dispatch);
}

/* HTTP thread: a batch is on disk. */
static void committed(void *arg)
{
    struct http_api *api = arg;
    worker_post_main(api->worker, wake_dispatch, api);
}

/* --- GET handlers ---------------------------------------------------------- */

static void get_message(struct http_api *api, struct evhttp_request *req, const char *id_text)
{
    char *end;
    long long id = strtoll(id_text, &end, 10);
    if (*id_text == '\0' || *end || id <= 0) {
        http_reply_error(req, 404, "'%s' is not a message id", id_text);
        return;
    }
    struct store_message *m;
    char err[256];
    enum store_rc rc = store_message_get(api->store, id, &m, err, sizeof err);
    if (rc == STORE_NOT_FOUND)
        http_reply_error(req, 404, "no message with id %lld", id);
    else if (rc != STORE_OK)
        http_reply_error(req, 503, "the message store is unavailable: %s", err);
    else {
        http_reply_json(req, 200, message_json(m, true));
        store_message_free(m);
    }
}

static void live_driver(const struct driver *d, struct store_driver_status *row,
                        struct driver_health *h)
{
    memset(h, 0, sizeof *h);
    d->ops->health(d->self, h);
    *row = (struct store_driver_status){
        .name = d->name, .kind = d->kind, .up = h->up, .state = h->state,
        .signal_dbm = h->signal_dbm, .registration = h->registration,
        .operator_name = h->operator_name, .in_flight = h->in_flight,
    };
}

/* What a worker_call_main() for the drivers' live state fills in. */
struct drivers_call {
    struct http_api *api;
    json_t *status;              /* /v1/status */
    struct evbuffer *metrics;    /* /metrics */
};

/* Main loop: the drivers as /v1/status shows them. */
static void status_drivers(void *arg)
{
    struct drivers_call *c = arg;
    struct dispatch *d = c->api->deps.dispatch;
    for (size_t i = 0; i < dispatch_driver_count(d); i++) {
        struct store_driver_status row;
        struct driver_health h;
        live_driver(dispatch_driver(d, i), &row, &h);
        status_json_add_driver(c->status, &row);
    }
}

static void get_status(struct http_api *api, struct evhttp_request *req)
{
    int64_t counts[MSG_STATE_COUNT];
    char err[256];
    if (store_count_by_state(api->store, counts, err, sizeof err) != STORE_OK) {
        http_reply_error(req, 503, "the message store is unavailable: %s", err);
        return;
    }
    struct drivers_call c = { .api = api, .status = status_json_new(true, clock_wall_ms() / 1000) };
    worker_call_main(api->worker, status_drivers, &c);
    status_json_set_queue(c.status, counts);
    http_reply_json(req, 200, c.status);
}

/* Main loop: the drivers' lines of /metrics. */
static void metrics_drivers(void *arg)
{
    struct drivers_call *c = arg;
    struct http_api *api = c->api;
    struct evbuffer *out = c->metrics;
    evbuffer_add_printf(out, "# HELP homing_modem_signal_dbm Modem signal strength.\n"
                             "# TYPE homing_modem_signal_dbm gauge\n"
                             "# HELP homing_driver_up 1 when the modem or bind can take work.\n"
                             "# TYPE homing_driver_up gauge\n"
                             "# HELP homing_driver_unconfirmed_total Parts written to the modem "
                             "or SMSC that went unanswered and were sent again elsewhere "
                             "(possible duplicates).\n"
                             "# TYPE homing_driver_unconfirmed_total counter\n");
    for (size_t i = 0; i < dispatch_driver_count(api->deps.dispatch); i++) {
        const struct driver *d = dispatch_driver(api->deps.dispatch, i);
        struct store_driver_status row;
        struct driver_health h;
        live_driver(d, &row, &h);
        evbuffer_add_printf(out, "homing_driver_up{driver=\"%s\",kind=\"%s\"} %d\n", d->name,
                            d->kind, h.up);
        evbuffer_add_printf(out, "homing_driver_unconfirmed_total{driver=\"%s\"} %ld\n", d->name,
                            h.unconfirmed);
        if (strcmp(d->kind, "modem") == 0 && h.signal_dbm)
            evbuffer_add_printf(out, "homing_modem_signal_dbm{modem=\"%s\"} %d\n", d->name,
                                h.signal_dbm);
    }
}

static void get_metrics(struct http_api *api, struct evhttp_request *req)
{
    int64_t msgs[MSG_STATE_COUNT], parts[PART_STATE_COUNT], oldest = 0;
    char err[256];
    if (store_count_by_state(api->store, msgs, err, sizeof err) != STORE_OK ||
        store_part_counts(api->store, parts, &oldest, err, sizeof err) != STORE_OK) {
        http_reply_error(req, 503, "the message store is unavailable: %s", err);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "# HELP homing_messages Messages by state.\n"
                             "# TYPE homing_messages gauge\n");
    for (int i = 0; i < MSG_STATE_COUNT; i++)
        evbuffer_add_printf(out, "homing_messages{state=\"%s\"} %lld\n",
                            store_msg_state_name((enum msg_state)i), (long long)msgs[i]);
    evbuffer_add_printf(out, "# HELP homing_parts Message parts (segments) by state.\n"
                             "# TYPE homing_parts gauge\n");
    for (int i = 0; i < PART_STATE_COUNT; i++)
        evbuffer_add_printf(out, "homing_parts{state=\"%s\"} %lld\n",
                            store_part_state_name((enum part_state)i), (long long)parts[i]);
    evbuffer_add_printf(out, "# HELP homing_receipts Delivery receipts received, by outcome.\n"
                             "# TYPE homing_receipts gauge\n"
                             "homing_receipts{state=\"delivered\"} %lld\n"
                             "homing_receipts{state=\"undelivered\"} %lld\n",
                        (long long)parts[PART_DELIVERED], (long long)parts[PART_UNDELIVERED]);
    evbuffer_add_printf(out, "# HELP homing_queue_oldest_seconds Age of the oldest queued message.\n"
                             "# TYPE homing_queue_oldest_seconds gauge\n"
                             "homing_queue_oldest_seconds %lld\n",
                        (long long)(oldest ? clock_now() - oldest : 0));
    worker_call_main(api->worker, metrics_drivers, &(struct drivers_call){ .api = api, .metrics = out });
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

/* --- routing --------------------------------------------------------------- */

static bool method_is(struct evhttp_request *req, enum evhttp_cmd_type want)
{
    if (evhttp_request_get_command(req) == want)
        return true;
    http_reply_error(req, 405, "method not allowed here: use %s", want == EVHTTP_REQ_GET ? "GET" : "POST");
    return false;
}

static void route_v1(struct http_api *api, struct evhttp_request *req, const char *path)
{
    if (!authorised(api, req))
        return;
    if (strcmp(path, "/v1/messages") == 0) {
        if (method_is(req, EVHTTP_REQ_POST))
            post_message(api, req);
    } else if (strncmp(path, "/v1/messages/", 13) == 0) {
        if (method_is(req, EVHTTP_REQ_GET))
            get_message(api, req, path + 13);
    } else if (strcmp(path, "/v1/status") == 0) {
        if (method_is(req, EVHTTP_REQ_GET))
            get_status(api, req);
    } else if (!http_sched_route(req, path, &api->here)) {
        http_reply_error(req, 404, "no such endpoint: %s", path);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_api *api = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path) {
        http_reply_error(req, 400, "the request has no path");
    } else if (strcmp(path, "/metrics") == 0) {
        if ((api->here.conf->http.metrics_open || authorised(api, req)) &&
            method_is(req, EVHTTP_REQ_GET))
            get_metrics(api, req);
    } else if (strcmp(path, "/cgi-bin/sendsms") == 0) {
        kannel_sendsms(api, req);
    } else if (strncmp(path, "/v1/", 4) == 0) {
        route_v1(api, req, path);
    } else {
        http_reply_error(req, 404, "no such endpoint: %s", path);
    }
}

/* --- life cycle ------------------------------------------------------------ */

/* An enrollment's first step, for the engine on the main loop. */
struct enrolled_note {
    struct http_api *api;
    int64_t next_due_at;
};

/* Main loop. */
static void tell_enrolled(void *arg)
{
    struct enrolled_note *n = arg;
    n->api->deps.enrolled(n->api->deps.arg, n->next_due_at);
    free(n);
}

/* The HTTP thread's `enrolled`: the engine lives on the main loop. */
static void post_enrolled(void *arg, int64_t next_due_at)
{
    struct http_api *api = arg;
    struct enrolled_note *n = malloc(sizeof *n);
    if (!n)
        abort();
    *n = (struct enrolled_note){ .api = api, .next_due_at = next_due_at };
    worker_post_main(api->worker, tell_enrolled, n);
}

/* Main loop (store_defer_report_syncs): its reports go to disk with the next sync. */
static void request_sync(void *arg)
{
    struct http_api *api = arg;
    syncer_request_lazy(api->syncer);
}

/* Binds the listener on the HTTP thread's loop; false with the reason in err. */
static bool listen_on(struct http_api *api, const char *host, int port, char *err,
                      size_t err_size)
{
    api->http = evhttp_new(worker_base(api->worker));
    if (!api->http) {
        snprintf(err, err_size, "cannot set up the HTTP server");
        return false;
    }
    evhttp_set_max_body_size(api->http, (ev_ssize_t)api->deps.conf->http.max_body);
    evhttp_set_max_headers_size(api->http, MAX_HEADERS);
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(api->http, on_request, api);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(api->http, host,
                                                                      (ev_uint16_t)port);
    if (!sock) {
        snprintf(err, err_size, "cannot listen on %s (in use, or not an address of this "
                 "machine)", api->deps.conf->http.listen);
        return false;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    api->port = port;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
        api->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    return true;
}

/* The HTTP thread's own connection and events; false with the reason in err. */
static bool set_up_thread(struct http_api *api, char *err, size_t err_size)
{
    struct event_base *base = worker_base(api->worker);
    char why[256];
    api->store = store_open(api->deps.conf->database, why, sizeof why);
    if (!api->store) {
        snprintf(err, err_size, "store: %s", why);
        return false;
    }
    store_set_busy_timeout(api->store, BUSY_TIMEOUT_MS);
    /*
     * sqlite empties a connection's page cache whenever another connection
     * has committed since its last transaction, which under load is every
     * time: a big cache here would only cost memory.
     */
    store_set_cache_kib(api->store, 128);
    api->here = api->deps;
    api->here.store = api->store;
    api->here.enrolled = api->deps.enrolled ? post_enrolled : NULL;
    api->here.arg = api;
    api->commit = http_commit_new(base, api->store, committed, api);
    if (!api->commit) {
        snprintf(err, err_size, "cannot set up the HTTP thread's events");
        return false;
    }
    api->syncer = syncer_start(api->deps.conf->database, http_commit_synced, api->commit, err,
                               err_size);
    if (!api->syncer)
        return false;
    http_commit_set_syncer(api->commit, api->syncer);
    store_set_checkpointer(api->store, syncer_checkpoint_wanted, api->syncer);
    return true;
}

struct http_api *http_api_start(const struct http_deps *deps, char *err, size_t err_size)
{
    char host[256], why[256];
    int port;
    if (!conf_parse_listen(deps->conf->http.listen, host, sizeof host, &port, why, sizeof why)) {
        snprintf(err, err_size, "http.listen: %s", why);
        return NULL;
    }
    struct http_api *api = calloc(1, sizeof *api);
    if (!api)
        abort();
    api->deps = *deps;
    api->worker = worker_new(loop_base(deps->loop));
    if (!api->worker) {
        snprintf(err, err_size, "cannot set up the HTTP thread's event loop");
        http_api_free(api);
        return NULL;
    }
    if (!set_up_thread(api, err, err_size) || !listen_on(api, host, port, err, err_size) ||
        !worker_start(api->worker, err, err_size)) {
        http_api_free(api);
        return NULL;
    }
    /* The syncer syncs and checkpoints: the main loop never waits for the disk. */
    store_set_checkpointer(deps->store, syncer_checkpoint_wanted, api->syncer);
    store_defer_report_syncs(deps->store, request_sync, api);
    return api;
}

int http_api_port(const struct http_api *api)
{
    return api->port;
}

/* A reload's configuration, on its way to the HTTP thread. */
struct conf_swap {
    struct http_api *api;
    const struct conf *next;
    struct conf *old;
};

/* HTTP thread (or the main loop once the thread has ended). */
static void swap_conf(void *arg)
{
    struct conf_swap *c = arg;
    c->api->here.conf = c->next;
    if (c->api->http)
        evhttp_set_max_body_size(c->api->http, (ev_ssize_t)c->next->http.max_body);
    conf_free(c->old);
    free(c);
}

void http_api_set_conf(struct http_api *api, const struct conf *conf, struct conf *old)
{
    if (strcmp(conf->http.listen, api->deps.conf->http.listen) != 0)
        log_warnx("config reload: http.listen changes at the next start");
    api->deps.conf = conf;
    struct conf_swap *c = malloc(sizeof *c);
    if (!c)
        abort();
    *c = (struct conf_swap){ .api = api, .next = conf, .old = old };
    worker_post(api->worker, swap_conf, c);
}

/* HTTP thread, last: answers what is parked, then frees what the thread owned. */
static void close_thread(void *arg)
{
    struct http_api *api = arg;
    if (api->commit)
        http_commit_finish(api->commit); /* nothing parked is left unanswered */
    if (api->http)
        evhttp_free(api->http);
    api->http = NULL;
    store_close(api->store);
    api->store = NULL;
}

void http_api_free(struct http_api *api)
{
    if (!api)
        return;
    if (api->worker)
        worker_stop(api->worker, close_thread, api);
    else
        close_thread(api);
    /* The main loop's reports sync themselves again; what they asked of the syncer is done. */
    store_defer_report_syncs(api->deps.store, NULL, NULL);
    store_set_checkpointer(api->deps.store, NULL, NULL);
    syncer_stop(api->syncer);
    http_commit_free(api->commit);
    free(api);
}
