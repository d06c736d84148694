/*
 * http: the HTTP API, on a thread of its own with its own sqlite connection
 * (libevent evhttp; the only file that includes event2/http.h). The main
 * loop's dispatcher is woken once messages are committed, and the drivers'
 * live state is read on the main loop: see http.c and gateway/worker.h.
 *
 *   POST /v1/messages        {"to", "text", "from"?, "route"?, "idempotency_key"?,
 *                            "validity"? ("48h" or seconds)} -> 202 {"id", "encoding",
 *                            "segments", "state"}
 *   GET  /v1/messages/{id}   the message with its parts and receipts
 *   GET  /v1/status          modems, binds, queue depths by state
 *   GET  /metrics            Prometheus text format
 *   POST /v1/enrollments, POST /v1/conversions   see gateway/http_sched.h
 *
 * Every request but /metrics (when http.metrics_open) needs
 * "Authorization: Bearer <http.token>", compared in constant time. Errors are
 * JSON {"error": "..."} naming what is wrong: 400, 401, 404, 405, 409, 413,
 * 422 (recipient opted out), 503 (store unavailable).
 *
 * Acceptance is group-committed: the messages posted within one turn of the
 * loop are committed in one transaction, and only once the syncer has it on
 * disk does each client get its 202 (gateway/http_commit.h).
 */
#ifndef HOMING_HTTP_H
#define HOMING_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_api;
struct loop;
struct store;
struct dispatch;
struct conf;

struct http_deps {
    struct loop *loop;           /* the main loop */
    struct store *store;         /* the main loop's connection (the HTTP thread opens its own) */
    struct dispatch *dispatch;   /* live driver health for /v1/status and /metrics */
    const struct conf *conf;     /* borrowed; replaced with http_api_set_conf() on reload */
    /*
     * Told of each enrollment committed, so the engine wakes for its first
     * step; may be NULL. Called on the main loop.
     */
    void (*enrolled)(void *arg, int64_t next_due_at);
    void *arg;
};

struct evhttp_request;

/* Sends `body` (consumed) as the JSON answer with status `code`. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);
/* Sends `text` and a newline as text/plain (Kannel's sendsms answers). */
void http_reply_text(struct evhttp_request *req, int code, const char *text);
/* Sends {"error": "..."} with status `code`: every API error has this shape. */
void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Compares a given secret with the expected one in constant time. */
bool http_same_secret(const char *given, const char *want);

/* Binds http.listen; NULL with the reason in err (address in use, bad host ...). */
struct http_api *http_api_start(const struct http_deps *deps, char *err, size_t err_size);
/* The port listened on (the one picked when http.listen says port 0). */
int http_api_port(const struct http_api *api);
/*
 * A reload: `conf` replaces the configuration in use, and `old` (the one
 * replaced) is freed once the HTTP thread has stopped using it.
 */
void http_api_set_conf(struct http_api *api, const struct conf *conf, struct conf *old);
/* Answers what is pending, closes the listener and ends the thread. Accepts NULL. */
void http_api_free(struct http_api *api);

#endif
