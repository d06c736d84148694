/*
 * http_client: libcurl's multi "socket" interface driven by libevent.
 *
 * curl tells us which sockets to watch (on_socket) and when it next needs a
 * timeout (on_timer_set); we turn both into libevent events on the service's
 * loop and hand what fires back to curl_multi_socket_action(). Finished
 * transfers are collected after each such call (collect_done), never from
 * inside a curl callback, so a completion callback may start a new request.
 *
 * curl_global_init() is not thread-safe and must pair with one cleanup, so a
 * counter ties both to the first and last client that made a request.
 * libcurl itself is loaded at the first request (curl_lazy.h), so a gateway
 * without webhooks never maps it. Redirects are not followed
 * and only http and https are allowed: a webhook URL cannot make homing read
 * files or talk other protocols.
 *
 * Debian's libcurl resolves host names on a short-lived thread of its own
 * (the threaded resolver) so a slow DNS server cannot stall the loop; no
 * homing code runs on it. Numeric addresses need no lookup at all.
 */
#include "gateway/http_client.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/curl_lazy.h"
#include "gateway/loop.h"

struct transfer {
    struct transfer *next;
    struct http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    http_client_done_fn *done;
    void *arg;
    char error[CURL_ERROR_SIZE];
};

struct watch {
    struct watch *next;
    struct http_client *client;
    curl_socket_t fd;
    struct event *ev;
};

struct http_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct transfer *transfers;
    struct watch *watches;
    size_t in_flight;
};

static int global_users;
static const struct curl_api *api; /* loaded by the first request (curl_lazy.h) */

static void collect_done(struct http_client *c);

static void unlink_transfer(struct http_client *c, struct transfer *t)
{
    for (struct transfer **pp = &c->transfers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            c->in_flight--;
            return;
        }
    }
}

static void transfer_free(struct transfer *t)
{
    api->multi_remove_handle(t->client->multi, t->easy);
    api->easy_cleanup(t->easy);
    api->slist_free_all(t->headers);
    free(t);
}

/* --- sockets and timers ----------------------------------------------------- */

static void watch_free(struct http_client *c, struct watch *w)
{
    for (struct watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    if (w->ev)
        event_free(w->ev);
    free(w);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct watch *w = arg;
    struct http_client *c = w->client; /* w may be freed inside the call below */
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    api->multi_socket_action(c->multi, fd, flags, &running);
    collect_done(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct http_client *c = userp;
    struct watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            api->multi_assign(c->multi, fd, NULL);
            watch_free(c, w);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            abort();
        w->client = c;
        w->fd = fd;
        w->next = c->watches;
        c->watches = w;
        api->multi_assign(c->multi, fd, w);
    } else if (w->ev) {
        event_free(w->ev);
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0);
    w->ev = event_new(c->base, fd, kind, on_socket_event, w);
    if (!w->ev || event_add(w->ev, NULL) != 0)
        return -1;
    return 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_client *c = arg;
    int running;
    api->multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(c);
}

static int on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_client *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void collect_done(struct http_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = api->multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        api->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        long status = 0;
        CURLcode result = msg->data.result;
        if (result == CURLE_OK)
            api->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        char error[CURL_ERROR_SIZE + 64];
        snprintf(error, sizeof error, "%s", t->error[0] ? t->error : api->easy_strerror(result));
        http_client_done_fn *done = t->done;
        void *arg = t->arg;
        unlink_transfer(c, t);
        transfer_free(t);
        done(arg, (int)status, result == CURLE_OK ? NULL : error);
    }
}

/* --- requests ------------------------------------------------------------------- */

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static bool set_options(struct transfer *t, const struct http_client_request *req)
{
    CURL *e = t->easy;
    bool ok = api->easy_setopt(e, CURLOPT_URL, req->url) == CURLE_OK &&
              api->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    api->easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    api->easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    api->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    api->easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    api->easy_setopt(e, CURLOPT_USERAGENT, "homing/" HOMING_VERSION);
    if (strcmp(req->method, "POST") == 0) {
        char type[128];
        snprintf(type, sizeof type, "Content-Type: %s",
                 req->content_type ? req->content_type : "application/octet-stream");
        t->headers = api->slist_append(t->headers, type);
        t->headers = api->slist_append(t->headers, "Expect:");
        ok = ok && t->headers &&
             api->easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "") == CURLE_OK;
        api->easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    } else {
        api->easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    return ok;
}

/* libcurl and this client's multi handle, made at its first request. */
static bool ensure_multi(struct http_client *c, char *err, size_t err_size)
{
    if (c->multi)
        return true;
    if (!api && !(api = curl_lazy(err, err_size)))
        return false;
    if (global_users == 0 && api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, err_size, "curl_global_init failed");
        return false;
    }
    global_users++;
    c->multi = api->multi_init();
    if (!c->multi) {
        snprintf(err, err_size, "cannot set up the HTTP client (out of memory)");
        return false;
    }
    api->multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    api->multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    api->multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    api->multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return true;
}

bool http_client_start(struct http_client *c, const struct http_client_request *req,
                       http_client_done_fn *done, void *arg, char *err, size_t err_size)
{
    if (!ensure_multi(c, err, err_size))
        return false;
    struct transfer *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->client = c;
    t->done = done;
    t->arg = arg;
    t->easy = api->easy_init();
    if (!t->easy || !set_options(t, req) || api->multi_add_handle(c->multi, t->easy) != CURLM_OK) {
        snprintf(err, err_size, "cannot start the request (bad URL or out of memory)");
        api->easy_cleanup(t->easy);
        api->slist_free_all(t->headers);
        free(t);
        return false;
    }
    t->next = c->transfers;
    c->transfers = t;
    c->in_flight++;
    return true;
}

size_t http_client_in_flight(const struct http_client *c)
{
    return c->in_flight;
}

/* --- life cycle ------------------------------------------------------------------- */

struct http_client *http_client_new(struct loop *loop, char *err, size_t err_size)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->base = loop_base(loop);
    c->timer = evtimer_new(c->base, on_timeout, c);
    if (!c->timer) {
        snprintf(err, err_size, "cannot set up the HTTP client");
        http_client_free(c);
        return NULL;
    }
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    while (c->transfers) {
        struct transfer *t = c->transfers;
        unlink_transfer(c, t);
        transfer_free(t);
    }
    bool used_curl = c->multi != NULL;
    if (c->multi)
        api->multi_cleanup(c->multi); /* may still report sockets to on_socket */
    while (c->watches)
        watch_free(c, c->watches);
    if (c->timer)
        event_free(c->timer);
    free(c);
    if (used_curl && --global_users == 0)
        api->global_cleanup();
}
