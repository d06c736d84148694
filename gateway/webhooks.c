/*
 * webhooks: see webhooks.h. The outbox table is the queue; memory holds only
 * the calls under way. Events are written to the outbox by the caller's
 * path (right after the store commits the state change, before the driver
 * is answered) and then pumped: due rows are claimed ("sending") up to the
 * in-flight bound and started on the HTTP client; an answer deletes the row
 * or reschedules it. A one-second timer pumps again, which is also how
 * retries become due. Rows left "sending" by a crash are made due again at
 * start-up, so a call may be made twice but is never lost (at-least-once:
 * receivers should key on the event's id and part).
 *
 * The JSON body and the dlr-url are built when the event happens, not when
 * it is sent, so a retry an hour later reports the state as it was then.
 * The URL is stored with the row: a reload that changes webhooks.receipts
 * applies to new events, not to ones already queued.
 */
#include "gateway/webhooks.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/http_client.h"
#include "gateway/log.h"
#include "gateway/loop.h"

#define PUMP_INTERVAL_MS 1000
#define CLAIM_BATCH 16

struct call {
    struct call *next;
    struct webhooks *w;
    int64_t id;
    int attempts;                /* tries before this one */
    char kind[16];
};

struct webhooks {
    struct store *store;
    const struct conf *conf;
    struct http_client *http;
    struct loop_event *timer;
    struct call *calls;
};

/* --- pure helpers ------------------------------------------------------------- */

int webhooks_dlr_type(enum part_state state)
{
    switch (state) {
    case PART_DELIVERED: return 1;
    case PART_UNDELIVERED: return 2;
    case PART_SUBMITTED: return 8;
    case PART_FAILED: return 16;
    case PART_PENDING: return 0;
    }
    return 0;
}

int64_t webhooks_backoff(int failures, int64_t base, int64_t max)
{
    int64_t wait = base;
    for (int i = 1; i < failures && wait < max; i++)
        wait *= 2;
    return wait < max ? wait : max;
}

struct buf {
    char *data;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            abort();
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* RFC 3986: unreserved characters stay, every other byte becomes %XX. */
static void buf_add_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            buf_add(b, (const char *)p, 1);
        } else {
            char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            buf_add(b, esc, 3);
        }
    }
}

/* Kannel's %q / %Q: a leading "00" becomes "+". */
static void buf_add_plus(struct buf *b, const char *number)
{
    char fixed[64];
    if (number && strncmp(number, "00", 2) == 0) {
        snprintf(fixed, sizeof fixed, "+%s", number + 2);
        number = fixed;
    }
    buf_add_encoded(b, number);
}

/* One escape; false when `c` is not one we fill in. */
static bool add_escape(struct buf *b, char c, const struct webhooks_dlr *d)
{
    char num[64];
    struct tm tm;
    time_t at = (time_t)d->at;
    switch (c) {
    case 'd': snprintf(num, sizeof num, "%d", d->type); buf_add_encoded(b, num); return true;
    case 'I': snprintf(num, sizeof num, "%lld", (long long)d->msg_id); buf_add_encoded(b, num); return true;
    case 'T': snprintf(num, sizeof num, "%lld", (long long)d->at); buf_add_encoded(b, num); return true;
    case 't':
        gmtime_r(&at, &tm);
        strftime(num, sizeof num, "%Y-%m-%d %H:%M:%S", &tm);
        buf_add_encoded(b, num);
        return true;
    case 'p': buf_add_encoded(b, d->to); return true;
    case 'P': buf_add_encoded(b, d->from); return true;
    case 'q': buf_add_plus(b, d->to); return true;
    case 'Q': buf_add_plus(b, d->from); return true;
    case 'i': buf_add_encoded(b, d->route); return true;
    case 'F': buf_add_encoded(b, d->ref); return true;
    case 'A': buf_add_encoded(b, d->reply); return true;
    case '%': buf_add(b, "%", 1); return true;
    default: return false;
    }
}

char *webhooks_dlr_url(const char *tmpl, const struct webhooks_dlr *d)
{
    struct buf b = { 0 };
    buf_add(&b, "", 0);
    for (const char *p = tmpl; *p; p++) {
        if (*p == '%' && p[1] && add_escape(&b, p[1], d))
            p++;
        else
            buf_add(&b, p, 1);
    }
    return b.data;
}

/* --- queueing ------------------------------------------------------------------- */

static void pump(struct webhooks *w);

static void queue(struct webhooks *w, const struct store_outbox_new *e)
{
    char err[256];
    int64_t id;
    if (store_outbox_add(w->store, e, clock_now(), &id, err, sizeof err) != STORE_OK)
        log_error("webhook kind=%s for id=%lld cannot be queued: %s", e->kind,
                  (long long)e->entity_id, err);
    else
        log_debug("webhook id=%lld kind=%s queued", (long long)id, e->kind);
}

static const struct store_part *find_part(const struct store_message *m, int index)
{
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].index == index)
            return &m->parts[i];
    return NULL;
}

static void json_set_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static char *receipt_json(const struct store_message *m, int index, enum part_state state,
                          const char *detail)
{
    const struct store_part *p = find_part(m, index);
    char at[40];
    json_t *o = json_object();
    json_set_str(o, "event", "receipt");
    json_object_set_new(o, "id", json_integer(m->id));
    json_set_str(o, "to", m->to);
    json_object_set_new(o, "part", json_integer(index + 1));
    json_object_set_new(o, "parts", json_integer(m->segments));
    json_set_str(o, "state", store_part_state_name(state));
    json_set_str(o, "message_state", store_msg_state_name(m->state));
    json_set_str(o, "ref", p ? p->ref : NULL);
    json_set_str(o, "receipt", detail);
    json_set_str(o, "route", m->route);
    json_set_str(o, "at", clock_iso8601(clock_now(), at, sizeof at));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static bool url_ok(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static void queue_dlr(struct webhooks *w, const struct store_message *m, int index,
                      enum part_state state, const char *detail)
{
    int type = webhooks_dlr_type(state);
    if (!m->dlr_url || !(m->dlr_mask & type))
        return;
    if (!url_ok(m->dlr_url)) {
        log_warnx("msg=%lld dlr-url is not an http:// or https:// URL: not called",
                  (long long)m->id);
        return;
    }
    const struct store_part *p = find_part(m, index);
    char reply[300];
    if (state == PART_SUBMITTED)
        snprintf(reply, sizeof reply, "ACK/%s", p && p->ref ? p->ref : "");
    else if (state == PART_FAILED)
        snprintf(reply, sizeof reply, "NACK/%s", detail ? detail : "");
    else
        snprintf(reply, sizeof reply, "%s", detail ? detail : "");
    struct webhooks_dlr d = { .type = type, .msg_id = m->id, .to = m->to, .from = m->from,
                              .route = m->route, .ref = p ? p->ref : NULL, .reply = reply,
                              .at = clock_now() };
    char *url = webhooks_dlr_url(m->dlr_url, &d);
    queue(w, &(struct store_outbox_new){ .kind = "dlr", .method = "GET", .url = url,
                                         .entity_id = m->id });
    free(url);
}

void webhooks_part(struct webhooks *w, int64_t msg_id, int index, enum part_state state,
                   bool has_dlr, const char *detail)
{
    if (!w || webhooks_dlr_type(state) == 0)
        return;
    struct store_message *m;
    char err[256];
    bool receipt = state == PART_DELIVERED || state == PART_UNDELIVERED;
    bool post_receipt = receipt && *w->conf->webhooks.receipts;
    /* Every part of every message passes here: read the whole message only when a call is due. */
    if (!post_receipt && !has_dlr)
        return;
    if (store_message_get(w->store, msg_id, &m, err, sizeof err) != STORE_OK) {
        log_error("msg=%lld webhook: cannot read the message: %s", (long long)msg_id, err);
        return;
    }
    if (post_receipt) {
        char *body = receipt_json(m, index, state, detail);
        queue(w, &(struct store_outbox_new){ .kind = "receipt", .method = "POST",
                                             .url = w->conf->webhooks.receipts, .body = body,
                                             .entity_id = msg_id });
        free(body);
    }
    queue_dlr(w, m, index, state, detail);
    store_message_free(m);
    pump(w);
}

static char *inbound_json(const struct store_inbound *in)
{
    char at[40];
    json_t *o = json_object();
    json_set_str(o, "event", "inbound");
    json_object_set_new(o, "id", json_integer(in->id));
    json_set_str(o, "from", in->sender);
    json_set_str(o, "to", in->recipient);
    json_set_str(o, "text", in->text);
    json_set_str(o, "route", in->route);
    json_set_str(o, "received_at", clock_iso8601(in->received_at, at, sizeof at));
    json_object_set_new(o, "complete", json_boolean(in->complete));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

void webhooks_inbound(struct webhooks *w, int64_t inbound_id)
{
    if (!w || !*w->conf->webhooks.inbound)
        return;
    struct store_inbound in;
    char err[256];
    if (store_inbound_get(w->store, inbound_id, &in, err, sizeof err) != STORE_OK) {
        log_error("inbound id=%lld webhook: %s", (long long)inbound_id, err);
        return;
    }
    char *body = inbound_json(&in);
    queue(w, &(struct store_outbox_new){ .kind = "inbound", .method = "POST",
                                         .url = w->conf->webhooks.inbound, .body = body,
                                         .entity_id = inbound_id });
    free(body);
    store_inbound_clear(&in);
    pump(w);
}

/* --- sending -------------------------------------------------------------------- */

static void drop_call(struct webhooks *w, struct call *gone)
{
    for (struct call **pp = &w->calls; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}

static void failed(struct webhooks *w, const struct call *c, const char *why)
{
    char err[256];
    int failures = c->attempts + 1;
    int64_t max = w->conf->webhooks.max_attempts;
    bool give_up = failures >= max;
    int64_t wait = webhooks_backoff(failures, w->conf->webhooks.backoff,
                                    w->conf->webhooks.max_backoff);
    if (store_outbox_retry(w->store, c->id, clock_now() + wait, give_up, why, clock_now(), err,
                           sizeof err) != STORE_OK)
        log_error("webhook id=%lld: %s", (long long)c->id, err);
    else if (give_up)
        log_error("webhook id=%lld kind=%s gave up after %d attempts, kept in the outbox as "
                  "failed: %s", (long long)c->id, c->kind, failures, why);
    else
        log_warnx("webhook id=%lld kind=%s attempt=%d failed: %s; next try in %llds",
                  (long long)c->id, c->kind, failures, why, (long long)wait);
}

static void on_answer(void *arg, int status, const char *error)
{
    struct call *c = arg;
    struct webhooks *w = c->w;
    char err[256], why[300];
    if (status >= 200 && status < 300) {
        if (store_outbox_done(w->store, c->id, err, sizeof err) != STORE_OK)
            log_error("webhook id=%lld: %s", (long long)c->id, err);
        else
            log_debug("webhook id=%lld kind=%s delivered status=%d", (long long)c->id, c->kind,
                      status);
    } else {
        if (error)
            snprintf(why, sizeof why, "%s", error);
        else
            snprintf(why, sizeof why, "HTTP status %d", status);
        failed(w, c, why);
    }
    drop_call(w, c);
    pump(w);
}

static void start_call(struct webhooks *w, const struct store_outbox_row *row)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->w = w;
    c->id = row->id;
    c->attempts = row->attempts;
    snprintf(c->kind, sizeof c->kind, "%s", row->kind);
    struct http_client_request req = {
        .method = row->method, .url = row->url, .body = row->body,
        .content_type = "application/json", .timeout_ms = w->conf->webhooks.timeout * 1000,
    };
    char err[256];
    if (!http_client_start(w->http, &req, on_answer, c, err, sizeof err)) {
        failed(w, c, err);
        free(c);
        return;
    }
    c->next = w->calls;
    w->calls = c;
}

static void pump(struct webhooks *w)
{
    size_t max = (size_t)w->conf->webhooks.max_in_flight;
    while (http_client_in_flight(w->http) < max) {
        struct store_outbox_row rows[CLAIM_BATCH];
        size_t room = max - http_client_in_flight(w->http), n = 0;
        size_t want = room < CLAIM_BATCH ? room : CLAIM_BATCH;
        char err[256];
        if (store_outbox_claim(w->store, clock_now(), rows, want, &n, err, sizeof err) != STORE_OK) {
            log_error("webhooks: %s", err);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            start_call(w, &rows[i]);
            store_outbox_row_clear(&rows[i]);
        }
        if (n < want)
            return;
    }
}

static void on_tick(void *arg)
{
    pump(arg);
}

/* --- life cycle ------------------------------------------------------------------- */

struct webhooks *webhooks_new(struct loop *loop, struct store *store, const struct conf *conf)
{
    char err[256];
    struct webhooks *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->store = store;
    w->conf = conf;
    w->http = http_client_new(loop, err, sizeof err);
    w->timer = loop_timer_new(loop, PUMP_INTERVAL_MS, 1, on_tick, w);
    if (!w->http || !w->timer) {
        log_error("webhooks: %s", w->http ? "cannot start the timer" : err);
        webhooks_free(w);
        return NULL;
    }
    int64_t n = 0;
    if (store_outbox_recover(store, clock_now(), &n, err, sizeof err) != STORE_OK)
        log_error("webhooks: %s", err);
    else if (n > 0)
        log_warnx("webhooks: count=%lld calls were under way at the last stop: trying them again",
                  (long long)n);
    return w;
}

void webhooks_set_conf(struct webhooks *w, const struct conf *conf)
{
    if (w)
        w->conf = conf;
}

void webhooks_free(struct webhooks *w)
{
    if (!w)
        return;
    http_client_free(w->http); /* abandons calls under way: their rows stay "sending" */
    while (w->calls)
        drop_call(w, w->calls);
    loop_event_free(w->timer);
    free(w);
}
