/* http_commit: see http_commit.h. */
#include "gateway/http_commit.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gateway/accept.h"
#include "gateway/clock.h"
#include "gateway/http.h"
#include "gateway/http_kannel.h"
#include "gateway/log.h"
#include "gateway/store.h"
#include "gateway/syncer.h"

#define MAX_BATCH 1024         /* messages committed together at most */
#define N_BATCHES 4            /* one filling, up to three committed and waiting for the disk */
#define LOCK_RETRY_US 2000     /* another process holds the write lock: try again this often */
#define LOCK_WAIT_MAX_MS 100   /* then wait for it (up to the store's busy timeout) */

/* A request waiting for its batch to reach the disk, with the messages it brought. */
struct pending {
    struct evhttp_request *req;
    json_t *body;                /* v1: the strings of its messages point into it */
    struct kannel_sendsms *kannel; /* sendsms: likewise */
    size_t first, count;         /* its messages in batch.acc */
};

struct batch {
    struct pending *pending;     /* MAX_BATCH requests */
    size_t n_pending;
    struct accepted *acc;        /* MAX_BATCH messages */
    size_t n_acc;
    struct store_enqueue_result *res;
    uint64_t gen;                /* committed: on disk once the syncer reaches it */
};

struct http_commit {
    struct store *store;
    struct syncer *syncer;
    struct batch batches[N_BATCHES]; /* a ring: the syncing ones in commit order, then the filling one */
    size_t oldest;               /* the first syncing batch, if any */
    size_t n_syncing;            /* committed, waiting for the disk */
    struct event *flush_ev;      /* end of the loop turn: commit the filling batch */
    struct event *synced_ev;     /* made active by the syncer's thread */
    struct event *retry_ev;      /* the write lock was released (or LOCK_RETRY_US passed) */
    pthread_mutex_t ev_mu;       /* guards synced_ev and retry_ev against other threads */
    bool lock_wait;              /* the filling batch waits for the write lock */
    int64_t lock_wait_since_ms;
    atomic_bool want_release;    /* read by the thread that releases the lock */
    void (*committed)(void *arg);
    void *arg;
    struct store_new_message msgs[MAX_BATCH];
};

static void on_flush(evutil_socket_t fd, short what, void *arg);
static void on_synced(evutil_socket_t fd, short what, void *arg);
static void on_retry(evutil_socket_t fd, short what, void *arg);
static void lock_released(void *arg);

static bool batch_init(struct batch *b)
{
    b->pending = calloc(MAX_BATCH, sizeof *b->pending);
    b->acc = calloc(MAX_BATCH, sizeof *b->acc);
    b->res = calloc(MAX_BATCH, sizeof *b->res);
    return b->pending && b->acc && b->res;
}

struct http_commit *http_commit_new(struct event_base *base, struct store *st,
                                    void (*committed)(void *arg), void *arg)
{
    struct http_commit *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    /* Field by field: a compound literal would write (and so make resident) all of msgs[]. */
    c->store = st;
    c->committed = committed;
    c->arg = arg;
    pthread_mutex_init(&c->ev_mu, NULL);
    for (size_t i = 0; i < N_BATCHES; i++)
        if (!batch_init(&c->batches[i]))
            abort();
    c->flush_ev = event_new(base, -1, 0, on_flush, c);
    c->synced_ev = event_new(base, -1, 0, on_synced, c);
    c->retry_ev = event_new(base, -1, 0, on_retry, c);
    if (!c->flush_ev || !c->synced_ev || !c->retry_ev) {
        http_commit_finish(c);
        http_commit_free(c);
        return NULL;
    }
    store_on_lock_released(lock_released, c);
    return c;
}

void http_commit_set_syncer(struct http_commit *c, struct syncer *s)
{
    c->syncer = s;
}

void http_commit_synced(void *arg)
{
    struct http_commit *c = arg;
    pthread_mutex_lock(&c->ev_mu);
    if (c->synced_ev)
        event_active(c->synced_ev, EV_READ, 0);
    pthread_mutex_unlock(&c->ev_mu);
}

/* --- answering ------------------------------------------------------------- */

static void answer(struct pending *p, const struct accepted *acc,
                   const struct store_enqueue_result *r)
{
    for (size_t i = 0; i < p->count; i++) {
        if (r[i].rc != STORE_CONFLICT)
            continue;
        if (p->kannel)
            http_reply_text(p->req, 409, r[i].error);
        else
            http_reply_error(p->req, 409, "%s", r[i].error);
        return;
    }
    if (p->kannel) {
        http_reply_text(p->req, 202, KANNEL_ACCEPTED);
        return;
    }
    http_reply_json(p->req, 202, json_pack("{s:I, s:s, s:i, s:s, s:b}", "id", (json_int_t)r->id,
                                           "encoding", acc->encoding, "segments", acc->segments,
                                           "state", "queued", "duplicate",
                                           r->rc == STORE_DUPLICATE));
}

/* Answers every request of `b` (`why` NULL: accepted; else a 503 naming it) and empties it. */
static void answer_batch(struct batch *b, const char *why)
{
    for (size_t i = 0; i < b->n_pending; i++) {
        struct pending *p = &b->pending[i];
        if (!why)
            answer(p, &b->acc[p->first], &b->res[p->first]);
        else if (p->kannel)
            http_reply_text(p->req, 503, KANNEL_TEMPORARY);
        else
            http_reply_error(p->req, 503, "the message store is unavailable: %s", why);
        json_decref(p->body);
        kannel_free(p->kannel);
    }
    b->n_pending = 0;
    b->n_acc = 0;
}

static size_t filling_index(const struct http_commit *c)
{
    return (c->oldest + c->n_syncing) % N_BATCHES;
}

static struct batch *filling(struct http_commit *c)
{
    return &c->batches[filling_index(c)];
}

/* Answers the syncing batches the disk has reached (`wait`: waits for the oldest first). */
static void settle(struct http_commit *c, bool wait)
{
    bool failed = false;
    uint64_t synced = wait && c->n_syncing > 0
                          ? syncer_wait(c->syncer, c->batches[c->oldest].gen, &failed)
                          : syncer_synced(c->syncer, &failed);
    while (c->n_syncing > 0 && c->batches[c->oldest].gen <= synced) {
        answer_batch(&c->batches[c->oldest],
                     failed ? "the messages could not be synced to disk" : NULL);
        c->oldest = (c->oldest + 1) % N_BATCHES;
        c->n_syncing--;
        if (!failed && c->committed)
            c->committed(c->arg);
    }
}

/* Another thread's transaction ended: a batch waiting for the write lock tries again. */
static void lock_released(void *arg)
{
    struct http_commit *c = arg;
    if (!atomic_load(&c->want_release))
        return;
    pthread_mutex_lock(&c->ev_mu);
    if (c->retry_ev)
        event_active(c->retry_ev, EV_TIMEOUT, 0);
    pthread_mutex_unlock(&c->ev_mu);
}

/*
 * Commits the filling batch, without waiting for the write lock unless
 * `may_wait`. While the main thread's transaction holds the lock the batch
 * keeps filling and this thread keeps reading requests; the batch is tried
 * again when that transaction ends (lock_released). Measured before: the
 * HTTP thread spent a fifth of its time blocked on that lock. After
 * LOCK_WAIT_MAX_MS (another process's long transaction) the commit waits
 * for the lock, and 503s after the store's busy timeout as before.
 */
static enum store_rc commit_batch(struct http_commit *c, struct batch *b, bool may_wait,
                                  bool *busy, char *err, size_t err_size)
{
    for (size_t i = 0; i < b->n_acc; i++)
        c->msgs[i] = b->acc[i].msg;
    *busy = false;
    int64_t now_ms = clock_mono_ms();
    if (may_wait || (c->lock_wait && now_ms - c->lock_wait_since_ms >= LOCK_WAIT_MAX_MS))
        return store_enqueue_batch_unsynced(c->store, c->msgs, b->n_acc, clock_now(), b->res,
                                            err, err_size);
    atomic_store(&c->want_release, true); /* before trying: a release in between counts */
    enum store_rc rc = store_try_enqueue_batch_unsynced(c->store, c->msgs, b->n_acc, clock_now(),
                                                        b->res, busy, err, err_size);
    if (*busy && !c->lock_wait) {
        c->lock_wait = true;
        c->lock_wait_since_ms = now_ms;
    }
    return rc;
}

/*
 * Commits the filling batch and hands it to the syncer without waiting for
 * the batches before it: their fsync and this commit overlap, and one fsync
 * often covers several. Waits only when every other batch is still syncing.
 */
static void commit_filling(struct http_commit *c, bool may_wait)
{
    struct batch *b = filling(c);
    if (b->n_pending == 0)
        return;
    if (c->n_syncing == N_BATCHES - 1)
        settle(c, true);
    char err[256];
    bool busy;
    enum store_rc rc = commit_batch(c, b, may_wait, &busy, err, sizeof err);
    if (busy) { /* another process, perhaps: try again soon whatever happens */
        event_add(c->retry_ev, &(struct timeval){ 0, LOCK_RETRY_US });
        return;
    }
    c->lock_wait = false;
    atomic_store(&c->want_release, false);
    event_del(c->retry_ev);
    if (rc != STORE_OK) {
        log_error("http: %zu messages not accepted: %s", b->n_acc, err);
        answer_batch(b, err);
        return;
    }
    b->gen = syncer_request(c->syncer);
    c->n_syncing++;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_commit *c = arg;
    /* Else the next sync's end, or the lock's release, commits it: no waiting here. */
    if (c->n_syncing < N_BATCHES - 1 && !c->lock_wait)
        commit_filling(c, false);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_commit *c = arg;
    if (c->n_syncing < N_BATCHES - 1)
        commit_filling(c, false);
}

static void on_synced(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_commit *c = arg;
    settle(c, false);
    if (c->n_syncing < N_BATCHES - 1) /* a batch waiting for the lock tries too: it may have */
        commit_filling(c, false);     /* missed its retry while every other batch was syncing */
}

/* --- filling --------------------------------------------------------------- */

void http_commit_room(struct http_commit *c, size_t n)
{
    struct batch *b = filling(c);
    if (b->n_acc + n > MAX_BATCH || b->n_pending == MAX_BATCH)
        commit_filling(c, true);
}

struct accepted *http_commit_slot(struct http_commit *c)
{
    struct batch *b = filling(c);
    return &b->acc[b->n_acc];
}

void http_commit_keep(struct http_commit *c)
{
    filling(c)->n_acc++;
}

size_t http_commit_mark(const struct http_commit *c)
{
    return c->batches[filling_index(c)].n_acc;
}

void http_commit_drop(struct http_commit *c, size_t mark)
{
    filling(c)->n_acc = mark;
}

void http_commit_park(struct http_commit *c, struct evhttp_request *req, json_t *body,
                      struct kannel_sendsms *k, size_t first)
{
    struct batch *b = filling(c);
    b->pending[b->n_pending++] = (struct pending){
        .req = req, .body = body, .kannel = k, .first = first, .count = b->n_acc - first,
    };
    if (!event_pending(c->flush_ev, EV_TIMEOUT, NULL))
        event_add(c->flush_ev, &(struct timeval){ 0, 0 });
}

/* --- end ------------------------------------------------------------------- */

void http_commit_finish(struct http_commit *c)
{
    store_on_lock_released(NULL, NULL);
    if (c->syncer) {
        commit_filling(c, true);
        while (c->n_syncing > 0)
            settle(c, true);
    } else {
        answer_batch(filling(c), "the service is stopping");
    }
    pthread_mutex_lock(&c->ev_mu);
    if (c->synced_ev)
        event_free(c->synced_ev);
    c->synced_ev = NULL;
    if (c->retry_ev)
        event_free(c->retry_ev);
    c->retry_ev = NULL;
    pthread_mutex_unlock(&c->ev_mu);
    if (c->flush_ev)
        event_free(c->flush_ev);
    c->flush_ev = NULL;
}

void http_commit_free(struct http_commit *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_BATCHES; i++) {
        free(c->batches[i].pending);
        free(c->batches[i].acc);
        free(c->batches[i].res);
    }
    pthread_mutex_destroy(&c->ev_mu);
    free(c);
}
