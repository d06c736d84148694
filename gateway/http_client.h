/*
 * http_client: outgoing HTTP requests on the event loop (libcurl's multi
 * interface underneath; the only file that includes curl.h).
 *
 * A request never blocks the loop: name lookup, connect, send and the
 * answer all happen through loop events, and each request has a deadline.
 * The answer's body is read and dropped; only the status matters to us.
 */
#ifndef HOMING_HTTP_CLIENT_H
#define HOMING_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_client;
struct loop;

struct http_client_request {
    const char *method;          /* "GET" or "POST" */
    const char *url;             /* http:// or https:// only */
    const char *body;            /* POST body, or NULL */
    const char *content_type;    /* of the body, e.g. "application/json" */
    int64_t timeout_ms;          /* the whole request, connect included */
};

/*
 * Called once per request, on the loop: `status` is the HTTP status, or 0
 * when there was none (refused, timed out, bad URL), with the reason in
 * `error` (NULL when a status came back).
 */
typedef void http_client_done_fn(void *arg, int status, const char *error);

/* `loop` is borrowed. Returns NULL with a reason in err. */
struct http_client *http_client_new(struct loop *loop, char *err, size_t err_size);
/* Abandons requests still under way (their callbacks are not called). Accepts NULL. */
void http_client_free(struct http_client *c);

/*
 * Starts a request; the client copies what it needs. Returns false (and
 * never calls `done`) if it could not even start, with the reason in err.
 */
bool http_client_start(struct http_client *c, const struct http_client_request *req,
                       http_client_done_fn *done, void *arg, char *err, size_t err_size);
/* Requests started and not yet done. */
size_t http_client_in_flight(const struct http_client *c);

#endif
