/*
 * dispatch: see dispatch.h. The only memory it keeps is the list of messages
 * handed to drivers and not yet fully reported; everything else is in the
 * store, so after a crash the claimed messages are found again (see
 * service.c: messages left "sending" are put back in the queue at start-up).
 *
 * A message whose parts met a temporary error is requeued only once every
 * part of that attempt has been reported, so a retry never overlaps the
 * attempt before it; parts already accepted are not sent again.
 *
 * Drivers' reports (parts planned, submitted, failed; receipts) are kept in
 * `reports` and committed together TURN_GATHER_MS after the first of them,
 * with the next claim in the same transaction, and "a driver has room"
 * becomes one dispatch run then: at thousands of parts a second that is a
 * few hundred commits a second instead of two per part. A crash before that
 * commit loses at most those reports; the messages stay
 * "sending" and are sent again at the next start, the one in-flight window
 * DESIGN.md allows.
 */
#include "gateway/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/codec.h"
#include "gateway/keyword.h"
#include "gateway/log.h"
#include "gateway/loop.h"
#include "gateway/phone.h"
#include "gateway/router.h"
#include "gateway/store.h"
#include "gateway/webhooks.h"
#include "scheduler/sched_limits.h"

#define CLAIM_BATCH 64
#define WAIT_FOR_ROUTE_S 5
#define RECEIPT_WINDOW_S (7 * 86400)
#define REPORTS_RETRY_MS 1000
/*
 * Reports and "a driver has room" wait this long for the ones that follow,
 * so one transaction carries a few milliseconds of them instead of one loop
 * turn's: under load each commit rewrites the same pages of the WAL (and the
 * checkpoint copies them again), and at thousands of parts a second that
 * write volume, not the rows, was the cost (bench/queue.sh's bind line on a
 * quiet machine: 0.095-0.099 CPU-ms per message with 0 ms, 0.069-0.075 with 2;
 * 5 ms gained nothing more). The SMPP driver queues enough ahead to cover the
 * wait.
 */
#define TURN_GATHER_MS 2
/*
 * A one-part message's plan waits this long for the part's result, so the
 * two are written as one (store.c: joins_plan): the plan's own insert and
 * update cost as much as the result's. It changes nothing after a crash:
 * the message is "sending" from its claim, with or without the plan.
 * A modem's result takes seconds; its plan is written on its own after this
 * (at the latest twice this: one timer serves every carried plan).
 */
#define PLAN_CARRY_MS 1000

struct attempt {
    struct attempt *next;
    int64_t msg_id;
    int outstanding;          /* parts not yet reported; -1 until the driver plans */
    uint8_t skip[(DRIVER_MAX_PARTS + 8) / 8];
    const char *driver;       /* the one it went to (names live as long as the dispatcher) */
    bool temporary;           /* a part met a temporary error: retried after the backoff */
    bool handed_back;         /* a part came back from a driver that cannot send: at once */
    char error[200];
};

/* A requeue the store refused (another process held its lock): tried again each tick. */
struct requeue {
    struct requeue *next;
    int64_t msg_id, next_at;
    bool count_attempt;
    char why[200];
};

/* A driver's report waiting for the turn's commit; owns its strings. */
struct report {
    struct store_update u;
    char *route, *ref, *error, *receipt;
    int64_t kept_ms;          /* monotonic: a plan is carried for PLAN_CARRY_MS at most */
};

struct dispatch {
    struct store *store;
    struct loop_event *deferred;  /* end of turn: commit reports, run if wanted */
    struct loop_event *carried;   /* plans carried over to a later commit are due */
    struct report *reports;
    size_t n_reports, cap_reports;
    bool run_wanted;
    const char *reply_encoding[4];   /* of the keyword replies, by store_keyword */
    int reply_segments[4];
    const struct conf *conf;
    struct driver_events events;
    struct driver *drivers;
    size_t n_drivers;
    unsigned *cursors;        /* round-robin position per route */
    struct router_bucket *buckets; /* rate limit per route (routes[].rate) */
    struct loop_event *wake;  /* a rate-limited route has room again */
    struct attempt *attempts;
    struct requeue *requeues;  /* oldest last */
    struct webhooks *webhooks;
    bool running, again;
    bool stopping;
};

static struct attempt *find_attempt(struct dispatch *d, int64_t msg_id)
{
    for (struct attempt *a = d->attempts; a; a = a->next)
        if (a->msg_id == msg_id)
            return a;
    return NULL;
}

static void drop_attempt(struct dispatch *d, struct attempt *gone)
{
    for (struct attempt **pp = &d->attempts; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}

static struct driver *driver_named(struct dispatch *d, const char *name)
{
    for (size_t i = 0; i < d->n_drivers; i++)
        if (strcmp(d->drivers[i].name, name) == 0)
            return &d->drivers[i];
    return NULL;
}

static int64_t backoff_seconds(const struct dispatch *d, int attempts)
{
    int64_t wait = d->conf->retry.backoff;
    for (int i = 1; i < attempts && wait < d->conf->retry.max_backoff; i++)
        wait *= 2;
    return wait < d->conf->retry.max_backoff ? wait : d->conf->retry.max_backoff;
}

/* --- putting claimed messages back ---------------------------------------- */

/*
 * Puts a claimed message back in the queue (store_requeue). When the store
 * refuses, the request is kept and tried again each tick, so a message never
 * stays "sending" until the next start. False when it was kept.
 */
static bool requeue(struct dispatch *d, int64_t msg_id, int64_t next_at, const char *why,
                    bool count_attempt, enum msg_state *state)
{
    char err[256];
    enum store_rc rc = store_requeue(d->store, msg_id, next_at, why, count_attempt,
                                     (int)d->conf->retry.attempts, clock_now(), state, err,
                                     sizeof err);
    if (rc != STORE_ERROR)
        return rc == STORE_OK;
    log_error("msg=%lld cannot be put back in the queue yet, trying again next tick: %s",
              (long long)msg_id, err);
    struct requeue *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    *q = (struct requeue){ .next = d->requeues, .msg_id = msg_id, .next_at = next_at,
                           .count_attempt = count_attempt };
    snprintf(q->why, sizeof q->why, "%s", why);
    d->requeues = q;
    return false;
}

/* The kept requeues, while the store takes them. */
static void retry_requeues(struct dispatch *d)
{
    while (d->requeues) {
        struct requeue *q = d->requeues;
        char err[256];
        if (store_requeue(d->store, q->msg_id, q->next_at, q->why, q->count_attempt,
                          (int)d->conf->retry.attempts, clock_now(), NULL, err,
                          sizeof err) == STORE_ERROR)
            return;
        log_info("msg=%lld back in the queue now that the store answers", (long long)q->msg_id);
        d->requeues = q->next;
        free(q);
    }
}

/* --- handing messages to drivers ------------------------------------------ */

static void wait_for_route(struct dispatch *d, int64_t msg_id, const char *why)
{
    requeue(d, msg_id, clock_now() + WAIT_FOR_ROUTE_S, why, false, NULL);
}

/* The configured route a message goes by: none when forced (--route) or no routes are written. */
static const struct conf_route *route_of(const struct dispatch *d, const struct store_message *m)
{
    return m->route_forced ? NULL : router_match(d->conf, m->to);
}

/* Members of the route for this message, in its order; the forced route alone if set. */
static size_t route_members(struct dispatch *d, const struct store_message *m,
                            struct driver **out, const char **strategy, unsigned **cursor)
{
    *strategy = "failover";
    *cursor = NULL;
    if (m->route_forced) {
        out[0] = driver_named(d, m->route_forced);
        return out[0] ? 1 : 0;
    }
    if (d->conf->n_routes == 0) { /* no routes written: every driver, in config order */
        for (size_t i = 0; i < d->n_drivers; i++)
            out[i] = &d->drivers[i];
        return d->n_drivers;
    }
    const struct conf_route *r = route_of(d, m);
    if (!r)
        return 0;
    *strategy = r->strategy;
    *cursor = &d->cursors[r - d->conf->routes];
    size_t n = 0;
    for (size_t i = 0; i < r->via.n; i++) {
        struct driver *drv = driver_named(d, r->via.items[i]);
        if (drv)
            out[n++] = drv;
    }
    return n;
}

static struct driver *choose_driver(struct dispatch *d, const struct store_message *m)
{
    struct driver *members[64];
    struct router_member view[64];
    const char *strategy;
    unsigned *cursor, dummy = 0;
    size_t n = route_members(d, m, members, &strategy, &cursor);
    for (size_t i = 0; i < n && i < 64; i++) {
        struct driver_health h = { 0 };
        members[i]->ops->health(members[i]->self, &h);
        view[i] = (struct router_member){ .name = members[i]->name, .up = h.up,
                                          .free_slots = members[i]->ops->free_slots(members[i]->self),
                                          .in_flight = h.in_flight };
    }
    int pick = router_pick(strategy, view, n < 64 ? n : 64, cursor ? cursor : &dummy);
    return pick >= 0 ? members[pick] : NULL;
}

static void fill_skip(const struct store_message *m, uint8_t *skip)
{
    for (size_t i = 0; i < m->n_parts; i++) {
        int idx = m->parts[i].index;
        if (idx >= 0 && idx < DRIVER_MAX_PARTS && m->parts[i].state != PART_PENDING &&
            m->parts[i].state != PART_FAILED)
            skip[idx / 8] |= (uint8_t)(1u << (idx % 8));
    }
}

static void hand_over(struct dispatch *d, struct driver *drv, const struct store_message *m)
{
    struct attempt *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->msg_id = m->id;
    a->outstanding = -1;
    a->driver = drv->name;
    fill_skip(m, a->skip);
    a->next = d->attempts;
    d->attempts = a;
    struct driver_msg dm = { .id = m->id, .to = m->to, .from = m->from, .text = m->body,
                             .want_receipt = true, .validity_s = m->expires_at - clock_now() };
    memcpy(dm.skip, a->skip, sizeof dm.skip);
    log_debug("msg=%lld to driver=%s", (long long)m->id, drv->name);
    drv->ops->submit(drv->self, &dm);
}

/*
 * The last look before a message leaves: an opt-out since it was queued
 * (`keyword`, read for the whole claimed batch; NULL: none) suppresses it.
 */
static bool opted_out_since(struct dispatch *d, const struct store_message *m, const char *keyword)
{
    char err[256], why[200];
    if (!keyword)
        return false;
    if (m->source && strcmp(m->source, "consent") == 0)
        return false; /* the confirmation of an opt-out is the one message allowed after it */
    snprintf(why, sizeof why, "recipient opted out (%s) after the message was queued", keyword);
    if (store_suppress(d->store, m->id, why, clock_now(), err, sizeof err) != STORE_OK)
        log_error("msg=%lld cannot be suppressed: %s", (long long)m->id, err);
    else
        log_info("msg=%lld suppressed: %s", (long long)m->id, why);
    return true;
}

/* --- per-route rate limits ------------------------------------------------ */

/* Wakes the dispatcher when a rate-limited route has room again (service ms, maybe scaled). */
static void wake_after(struct dispatch *d, int64_t service_ms)
{
    double scale = clock_scale() > 0 ? clock_scale() : 1.0;
    loop_event_arm(d->wake, (int64_t)((double)service_ms / scale) + 1);
}

/* Parts this attempt will send: those not already accepted on an earlier one. */
static int parts_to_send(const struct store_message *m)
{
    int done = 0;
    for (size_t i = 0; i < m->n_parts; i++)
        done += m->parts[i].state != PART_PENDING && m->parts[i].state != PART_FAILED;
    return m->segments - done > 1 ? m->segments - done : 1;
}

/* Back to the queue until its route's rate allows it: held, never failed (validity still counts). */
static void hold_for_rate(struct dispatch *d, const struct store_message *m,
                          const struct conf_route *r, int64_t wait_ms)
{
    char why[160];
    snprintf(why, sizeof why, "held by the rate limit of route '%s' (%lld parts/s)", r->match,
             (long long)r->rate);
    /*
     * Due times are whole seconds: due at the first one after the bucket
     * refills (never before, or it would be claimed and held again at once),
     * and a wake-up at that instant, not at the refill, when it is not yet
     * due and would otherwise wait for the next service tick.
     */
    int64_t now_ms = clock_now_ms(), due = (now_ms + wait_ms + 999) / 1000;
    requeue(d, m->id, due, why, false, NULL);
    log_debug("msg=%lld %s", (long long)m->id, why);
    wake_after(d, due * 1000 - now_ms);
}

/* The bucket of the message's route, or NULL when the route has no limit. */
static struct router_bucket *bucket_of(struct dispatch *d, const struct store_message *m,
                                       const struct conf_route **r)
{
    *r = route_of(d, m);
    return *r && (*r)->rate ? &d->buckets[*r - d->conf->routes] : NULL;
}

/* Its route has no room this instant: held (see hold_for_rate). */
static bool held_by_rate(struct dispatch *d, const struct store_message *m)
{
    const struct conf_route *r;
    struct router_bucket *b = bucket_of(d, m, &r);
    int64_t wait = b ? router_bucket_wait_ms(b, r->rate, clock_now_ms()) : 0;
    if (wait > 0)
        hold_for_rate(d, m, r, wait);
    return wait > 0;
}

static void take_rate(struct dispatch *d, const struct store_message *m)
{
    const struct conf_route *r;
    struct router_bucket *b = bucket_of(d, m, &r);
    if (b)
        router_bucket_take(b, r->rate, clock_now_ms(), parts_to_send(m));
}

/* True when every route naming this driver has a rate limit (and some route names it). */
static bool only_rate_limited(const struct dispatch *d, const char *driver)
{
    bool named = false;
    for (size_t i = 0; i < d->conf->n_routes; i++) {
        const struct conf_route *r = &d->conf->routes[i];
        for (size_t v = 0; v < r->via.n; v++) {
            if (strcmp(r->via.items[v], driver) != 0)
                continue;
            if (r->rate == 0)
                return false;
            named = true;
        }
    }
    return named;
}

/*
 * Parts the rate-limited routes may send now, so the claim takes no more than
 * they can carry (a claimed message over the limit costs a commit to put back).
 */
static int rate_limited_room(struct dispatch *d)
{
    int room = 0;
    int64_t now = clock_now_ms(), wait = -1;
    for (size_t i = 0; i < d->conf->n_routes; i++) {
        int64_t rate = d->conf->routes[i].rate;
        if (rate == 0)
            continue;
        int n = router_bucket_room(&d->buckets[i], rate, now);
        room += n;
        int64_t w = n > 0 ? -1 : router_bucket_wait_ms(&d->buckets[i], rate, now);
        if (w >= 0 && (wait < 0 || w < wait))
            wait = w;
    }
    if (room == 0 && wait >= 0)
        wake_after(d, wait);
    return room;
}

/* --- campaign messages ---------------------------------------------------- */

/*
 * A campaign message claimed inside its recipient's quiet hours (a backlog
 * after an outage, a retry) goes back in the queue until they end: not a
 * failure and not an attempt.
 */
static bool waits_for_morning(struct dispatch *d, const struct store_message *m)
{
    if (!m->campaign)
        return false;
    int64_t now = clock_now();
    int64_t until = sched_dispatch_quiet_until(d->store, d->conf, m->to, m->campaign, now);
    if (until <= 0)
        return false;
    requeue(d, m->id, until, "waiting for the end of quiet hours in the recipient's time zone",
            false, NULL);
    char at[40];
    log_info("msg=%lld campaign=%s waits for the end of quiet hours at %s", (long long)m->id,
             m->campaign, clock_iso8601(until, at, sizeof at));
    return true;
}

/* A step queued before its enrollment ended (a reply or a purchase overnight) never goes. */
static bool enrollment_ended(struct dispatch *d, const struct store_message *m)
{
    char why[256], err[256];
    if (!m->campaign || !sched_dispatch_enrollment_ended(d->store, m->id, why, sizeof why))
        return false;
    if (store_suppress(d->store, m->id, why, clock_now(), err, sizeof err) != STORE_OK)
        log_error("msg=%lld cannot be suppressed: %s", (long long)m->id, err);
    else
        log_info("msg=%lld suppressed: %s", (long long)m->id, why);
    return true;
}

/* One claimed message (read by the claim, with its parts): last looks, then a driver. */
static void dispatch_one(struct dispatch *d, const struct store_message *m,
                         const char *optout_keyword)
{
    if (opted_out_since(d, m, optout_keyword))
        return;
    if (enrollment_ended(d, m) || waits_for_morning(d, m) || held_by_rate(d, m))
        return;
    struct driver *drv = choose_driver(d, m);
    if (drv) {
        take_rate(d, m);
        hand_over(d, drv, m);
    } else if (m->route_forced && !driver_named(d, m->route_forced))
        wait_for_route(d, m->id, "its --route names no configured modem or bind");
    else
        wait_for_route(d, m->id, "waiting for a modem or bind of its route to be up");
}

/* Room of the drivers that are up; those serving only rate-limited routes count as their rates allow. */
static int total_free_slots(struct dispatch *d)
{
    int open = 0, limited = 0;
    for (size_t i = 0; i < d->n_drivers; i++) {
        struct driver_health h = { 0 };
        d->drivers[i].ops->health(d->drivers[i].self, &h);
        if (!h.up)
            continue;
        int slots = d->drivers[i].ops->free_slots(d->drivers[i].self);
        if (only_rate_limited(d, d->drivers[i].name))
            limited += slots;
        else
            open += slots;
    }
    if (limited > 0) {
        int rated = rate_limited_room(d);
        limited = rated < limited ? rated : limited;
    }
    return open + limited;
}

/* How many messages to claim now: what the drivers have room for, at most a batch. */
static size_t claim_room(struct dispatch *d)
{
    int room = total_free_slots(d);
    return room <= 0 ? 0 : room < CLAIM_BATCH ? (size_t)room : CLAIM_BATCH;
}

/* A claimed batch (freed here), read with its opt-outs (store_claim): each to a driver. */
static void dispatch_batch(struct dispatch *d, struct store_message **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dispatch_one(d, msgs[i], msgs[i]->optout_keyword);
        store_message_free(msgs[i]);
    }
}

static void run_once(struct dispatch *d)
{
    if (d->stopping)
        return;
    size_t want;
    while ((want = claim_room(d)) > 0) {
        struct store_message *msgs[CLAIM_BATCH];
        size_t n = 0;
        char err[256];
        if (store_claim(d->store, clock_now(), msgs, want, &n, err, sizeof err) != STORE_OK) {
            log_error("dispatch: cannot claim messages: %s", err);
            return;
        }
        dispatch_batch(d, msgs, n);
        if (n < want)
            return;
    }
}

void dispatch_run(struct dispatch *d)
{
    if (d->running) { /* a driver reported from inside a submit: run again after */
        d->again = true;
        return;
    }
    d->running = true;
    do {
        d->again = false;
        run_once(d);
    } while (d->again);
    d->running = false;
}

/* --- reports from drivers -------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

static void keep_report(struct dispatch *d, const struct store_update *u)
{
    if (d->n_reports == d->cap_reports) {
        d->cap_reports = d->cap_reports ? 2 * d->cap_reports : 64;
        d->reports = realloc(d->reports, d->cap_reports * sizeof *d->reports);
        if (!d->reports)
            abort();
    }
    struct report *r = &d->reports[d->n_reports++];
    r->u = *u;
    r->route = dup_or_null(u->route);
    r->ref = dup_or_null(u->part.ref);
    r->error = dup_or_null(u->part.error);
    r->receipt = dup_or_null(u->part.receipt);
    r->u.route = r->route;
    r->u.part.ref = r->ref;
    r->u.part.error = r->error;
    r->u.part.receipt = r->receipt;
    r->kept_ms = clock_mono_ms();
    loop_event_arm(d->deferred, TURN_GATHER_MS);
}

static void free_reports(struct report *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].route);
        free(r[i].ref);
        free(r[i].error);
        free(r[i].receipt);
    }
}

/*
 * Which reports wait for a later commit: a one-part plan whose result is not
 * among them yet and that has waited less than PLAN_CARRY_MS. NULL: none.
 */
static bool *plans_to_carry(const struct dispatch *d, size_t *n_carried)
{
    bool *carry = NULL;
    int64_t now = clock_mono_ms();
    *n_carried = 0;
    for (size_t i = 0; i < d->n_reports; i++) {
        const struct report *r = &d->reports[i];
        if (r->u.kind != STORE_UPDATE_PLAN || r->u.n_parts != 1 ||
            now - r->kept_ms >= PLAN_CARRY_MS)
            continue;
        bool followed = false;
        for (size_t j = i + 1; j < d->n_reports && !followed; j++)
            followed = d->reports[j].u.msg_id == r->u.msg_id;
        if (followed)
            continue;
        if (!carry && !(carry = calloc(d->n_reports, sizeof *carry)))
            abort();
        carry[i] = true;
        (*n_carried)++;
    }
    return carry;
}

/*
 * After a commit: the carried reports move to the front of the list, in
 * order; the written ones go to *done (the caller frees them).
 */
static void keep_carried(struct dispatch *d, const bool *carry, struct report *done)
{
    size_t kept = 0, n_done = 0;
    for (size_t i = 0; i < d->n_reports; i++) {
        if (carry && carry[i])
            d->reports[kept++] = d->reports[i];
        else
            done[n_done++] = d->reports[i];
    }
    d->n_reports = kept;
    if (kept > 0)
        loop_event_arm(d->carried, PLAN_CARRY_MS);
}

/*
 * Commits the reports of this turn (and claims ac->max messages in the same
 * transaction), then lets webhooks see the new states. `carry`: one-part
 * plans may wait for their result (plans_to_carry). When the store refuses
 * (another process holds its lock), the reports are kept in order and tried
 * again shortly: a driver never reports the same thing twice. False then.
 */
static bool apply_reports(struct dispatch *d, struct store_apply_claim *ac, bool carry)
{
    size_t n_carried = 0;
    bool *carried = carry ? plans_to_carry(d, &n_carried) : NULL;
    size_t n = d->n_reports - n_carried;
    if (n == 0 && ac->max == 0) { /* every report waits for its result: nothing to write */
        free(carried);
        loop_event_arm(d->carried, PLAN_CARRY_MS);
        return true;
    }
    struct store_update *u = malloc((n ? n : 1) * sizeof *u);
    bool *has_dlr = malloc((n ? n : 1) * sizeof *has_dlr);
    struct report *done = malloc((n ? n : 1) * sizeof *done);
    if (!u || !has_dlr || !done)
        abort();
    for (size_t i = 0, k = 0; i < d->n_reports; i++)
        if (!carried || !carried[i])
            u[k++] = d->reports[i].u;
    char err[256];
    ac->u = u;
    ac->n = n;
    ac->has_dlr = has_dlr;
    bool ok = store_apply_claim(d->store, ac, clock_now(), err, sizeof err) == STORE_OK;
    if (!ok) {
        log_error("dispatch: %zu driver reports not recorded yet, trying again in %dms: %s",
                  d->n_reports, REPORTS_RETRY_MS, err);
        loop_event_arm(d->deferred, REPORTS_RETRY_MS);
    } else {
        keep_carried(d, carried, done); /* webhooks may report again: after the carried ones */
        for (size_t i = 0; i < n; i++) {
            if (u[i].kind == STORE_UPDATE_PART)
                webhooks_part(d->webhooks, u[i].msg_id, u[i].part.index, u[i].part.state,
                              has_dlr[i],
                              u[i].part.receipt ? u[i].part.receipt : u[i].part.error);
        }
        free_reports(done, n);
    }
    free(carried);
    free(done);
    free(u);
    free(has_dlr);
    return ok;
}

/* Commits the reports kept so far; `carry` as apply_reports(). */
static void commit_reports(struct dispatch *d, bool carry)
{
    if (d->n_reports > 0)
        apply_reports(d, &(struct store_apply_claim){ .max = 0 }, carry);
}

static void on_carried_due(void *arg)
{
    struct dispatch *d = arg;
    commit_reports(d, !d->stopping);
}

static void on_wake(void *arg)
{
    dispatch_run(arg);
}

/*
 * The turn's reports are committed, then a dispatch run if a driver asked
 * for one. Its first claim rides in the reports' transaction: one commit
 * a turn instead of two, and the pages both touch written once.
 */
static void on_end_of_turn(void *arg)
{
    struct dispatch *d = arg;
    bool run = d->run_wanted;
    d->run_wanted = false;
    size_t want = run && d->n_reports > 0 && !d->running && !d->stopping ? claim_room(d) : 0;
    if (want == 0) {
        commit_reports(d, !d->stopping);
        if (run)
            dispatch_run(d);
        return;
    }
    struct store_message *msgs[CLAIM_BATCH];
    struct store_apply_claim ac = { .claimed = msgs, .max = want };
    if (!apply_reports(d, &ac, !d->stopping)) {
        dispatch_run(d); /* the claim on its own */
        return;
    }
    d->running = true;
    dispatch_batch(d, msgs, ac.n_claimed);
    d->running = false;
    if (ac.n_claimed == want || d->again)
        dispatch_run(d); /* more may be due, or a driver asked again from inside a submit */
}

static void on_planned(int64_t msg_id, int n_parts, const char *driver, void *arg)
{
    struct dispatch *d = arg;
    keep_report(d, &(struct store_update){ .kind = STORE_UPDATE_PLAN, .msg_id = msg_id,
                                           .n_parts = n_parts, .route = driver });
    struct attempt *a = find_attempt(d, msg_id);
    if (!a)
        return;
    a->outstanding = 0;
    for (int i = 0; i < n_parts && i < DRIVER_MAX_PARTS; i++)
        a->outstanding += !((a->skip[i / 8] >> (i % 8)) & 1);
    if (a->outstanding == 0)
        drop_attempt(d, a);
}

/* False when the message needs no retry: another part failed it for good. */
static bool worth_retrying(struct dispatch *d, int64_t msg_id, int *attempts)
{
    struct store_message *m;
    char err[256];
    *attempts = 1;
    if (store_message_get(d->store, msg_id, &m, err, sizeof err) != STORE_OK)
        return true;
    *attempts = m->attempts + 1;
    bool failed = m->state == MSG_FAILED;
    store_message_free(m);
    return !failed;
}

static void log_retry(const struct attempt *a, int attempts, int64_t next, enum msg_state state)
{
    long long id = (long long)a->msg_id;
    if (state == MSG_SUPPRESSED)
        log_info("msg=%lld suppressed: its recipient opted out while it waited", id);
    else if (state == MSG_FAILED)
        log_warnx("msg=%lld failed after %d attempts: %s", id, attempts, a->error);
    else if (!a->temporary)
        log_info("msg=%lld handed back by driver=%s, queued again for another route member: %s",
                 id, a->driver, a->error);
    else
        log_info("msg=%lld retry attempt=%d in=%llds after: %s", id, attempts + 1,
                 (long long)(next - clock_now()), a->error);
}

/*
 * Parts came back unsent. A temporary error waits out the backoff and counts
 * an attempt; a driver that handed its work back (it stopped answering) is no
 * fault of the message, which is due again at once, for the router to give
 * to a member of its route that is up.
 */
static void retry_attempt(struct dispatch *d, struct attempt *a)
{
    commit_reports(d, false); /* the retry decision reads what the parts became */
    int attempts;
    if (!worth_retrying(d, a->msg_id, &attempts))
        return;
    int64_t next = clock_now() + (a->temporary ? backoff_seconds(d, attempts) : 0);
    enum msg_state state;
    if (!requeue(d, a->msg_id, next, a->error, a->temporary, &state))
        return; /* kept for the next tick, or the message is gone */
    log_retry(a, attempts, next, state);
    if (!a->temporary && state == MSG_QUEUED) {
        d->run_wanted = true; /* due now: at the end of this turn, by another driver */
        loop_event_arm(d->deferred, TURN_GATHER_MS);
    }
}

static void finish_attempt(struct dispatch *d, struct attempt *a)
{
    if (a->temporary || a->handed_back)
        retry_attempt(d, a);
    drop_attempt(d, a);
}

static void on_part(int64_t msg_id, int index, enum driver_result result, const char *ref,
                    const char *error, void *arg)
{
    struct dispatch *d = arg;
    static const enum part_state states[] = {
        [DRIVER_SUBMITTED] = PART_SUBMITTED, [DRIVER_TEMPORARY] = PART_PENDING,
        [DRIVER_PERMANENT] = PART_FAILED, [DRIVER_HANDBACK] = PART_PENDING,
        [DRIVER_UNCONFIRMED] = PART_PENDING,
    };
    keep_report(d, &(struct store_update){
        .kind = STORE_UPDATE_PART, .msg_id = msg_id,
        .part = { .index = index, .state = states[result], .ref = ref, .error = error } });
    if (result == DRIVER_PERMANENT)
        log_warnx("msg=%lld part=%d failed: %s", (long long)msg_id, index + 1, error);
    struct attempt *a = find_attempt(d, msg_id);
    if (!a)
        return;
    bool back = result == DRIVER_HANDBACK || result == DRIVER_UNCONFIRMED;
    if (result == DRIVER_TEMPORARY || (back && !a->temporary))
        snprintf(a->error, sizeof a->error, "%s", error ? error : "temporary error");
    a->temporary |= result == DRIVER_TEMPORARY;
    a->handed_back |= back;
    if (a->outstanding > 0 && --a->outstanding == 0)
        finish_attempt(d, a);
}

static enum store_rc find_receipted_part(struct dispatch *d, const char *driver, const char *ref,
                                         const char *recipient, int64_t *msg_id, int *index)
{
    char err[256];
    int64_t since = clock_now() - RECEIPT_WINDOW_S;
    enum store_rc rc = store_find_part(d->store, driver, ref, recipient, since, msg_id, index,
                                       err, sizeof err);
    if (rc == STORE_NOT_FOUND && d->n_reports > 0) {
        commit_reports(d, false); /* a receipt quicker than our commit of its submit */
        rc = store_find_part(d->store, driver, ref, recipient, since, msg_id, index, err,
                             sizeof err);
    }
    return rc;
}

static void on_receipt(const char *driver, const char *ref, const char *recipient,
                       enum driver_receipt state, const char *detail, void *arg)
{
    struct dispatch *d = arg;
    if (state == DRIVER_RECEIPT_PENDING) {
        log_debug("receipt driver=%s ref=%s not final: %s", driver, ref, detail);
        return;
    }
    int64_t msg_id;
    int index;
    if (find_receipted_part(d, driver, ref, recipient, &msg_id, &index) != STORE_OK) {
        char err[256];
        log_info("receipt driver=%s ref=%s matches no part sent in the last 7 days: kept in "
                 "receipts_unmatched: %s", driver, ref, detail);
        if (store_receipt_unmatched(d->store, driver, ref, recipient,
                                    state == DRIVER_RECEIPT_DELIVERED ? "delivered" : "undelivered",
                                    detail, clock_now(), err, sizeof err) != STORE_OK)
            log_error("receipt driver=%s ref=%s cannot be kept: %s", driver, ref, err);
        return;
    }
    enum part_state ps = state == DRIVER_RECEIPT_DELIVERED ? PART_DELIVERED : PART_UNDELIVERED;
    keep_report(d, &(struct store_update){
        .kind = STORE_UPDATE_PART, .msg_id = msg_id,
        .part = { .index = index, .state = ps, .receipt = detail } });
    log_debug("msg=%lld part=%d receipt=%s driver=%s", (long long)msg_id, index + 1,
              store_part_state_name(ps), driver);
}

static enum store_keyword classify(const char *text, char *word, size_t size, void *arg)
{
    struct dispatch *d = arg;
    return (enum store_keyword)keyword_match(d->conf, text, word, size);
}

/* A reply ends enrollments in campaigns whose exit_on has "reply". */
static bool exits_on_reply(const char *campaign, void *arg)
{
    struct dispatch *d = arg;
    for (size_t i = 0; i < d->conf->n_campaigns; i++) {
        const struct conf_campaign *c = &d->conf->campaigns[i];
        if (strcmp(c->name, campaign) != 0)
            continue;
        for (size_t k = 0; k < c->exit_on.n; k++)
            if (strcmp(c->exit_on.items[k], "reply") == 0)
                return true;
    }
    return false;
}

/* The consent rules for a received message: keywords and the replies they queue. */
static void consent_rules(struct dispatch *d, struct store_consent *c,
                          struct store_new_message replies[4])
{
    const char *texts[4] = { NULL, d->conf->keywords.optout_reply, d->conf->keywords.optin_reply,
                             d->conf->keywords.help_reply };
    *c = (struct store_consent){ .classify = classify, .exits_on_reply = exits_on_reply,
                                 .arg = d,
                                 .confirm_again_after = d->conf->keywords.confirm_again_after };
    for (int k = STORE_KW_OPTOUT; k <= STORE_KW_HELP; k++) {
        replies[k] = (struct store_new_message){
            .body = texts[k], .encoding = d->reply_encoding[k], .segments = d->reply_segments[k],
            .source = "consent", .expires_at = clock_now() + d->conf->defaults.validity,
        };
        c->reply[k] = &replies[k];
    }
}

static void log_inbound(const struct driver_inbound *in, const char *from,
                        const struct store_inbound_result *r)
{
    char shown[32];
    log_msisdn(from, shown, sizeof shown);
    if (!r->id)
        log_info("inbound part=%u/%u ref=%u driver=%s from=%s kept until complete",
                 in->concat_seq, in->concat_total, in->concat_ref, in->driver, shown);
    else if (r->keyword == STORE_KW_NONE)
        log_info("inbound id=%lld driver=%s from=%s enrollments_ended=%d", (long long)r->id,
                 in->driver, shown, r->ended);
    else
        log_info("inbound id=%lld driver=%s from=%s keyword=%s suppressed=%d reply=%s",
                 (long long)r->id, in->driver, shown, r->word, r->suppressed,
                 r->reply_id ? "queued" : "none (already confirmed)");
}

/* An opt-out: what drivers still hold for that recipient comes back to the last look. */
static void withdraw_everywhere(struct dispatch *d, const char *recipient)
{
    for (size_t i = 0; i < d->n_drivers; i++)
        if (d->drivers[i].ops->withdraw)
            d->drivers[i].ops->withdraw(d->drivers[i].self, recipient);
}

static bool on_inbound(const struct driver_inbound *in, void *arg)
{
    struct dispatch *d = arg;
    char sender[PHONE_E164_MAX], why[200], err[256], shown[32];
    /* Numbers become E.164; alphanumeric senders ("Acme") stay as they are. */
    const char *from = phone_normalize(in->from, d->conf->defaults.country, sender, why,
                                       sizeof why) ? sender : in->from;
    struct store_consent consent;
    struct store_new_message replies[4];
    consent_rules(d, &consent, replies);
    struct store_inbound_part p = {
        .sender = from, .recipient = in->to, .text = in->text, .route = in->driver,
        .concat = in->concat, .ref = in->concat_ref, .total = in->concat_total,
        .seq = in->concat_seq, .consent = &consent,
    };
    struct store_inbound_result r;
    if (store_inbound_add(d->store, &p, clock_now(), &r, err, sizeof err) != STORE_OK) {
        log_error("inbound driver=%s from=%s cannot be stored: %s", in->driver,
                  log_msisdn(from, shown, sizeof shown), err);
        return false;
    }
    log_inbound(in, from, &r);
    if (r.keyword == STORE_KW_OPTOUT)
        withdraw_everywhere(d, from);
    if (r.id)
        webhooks_inbound(d->webhooks, r.id);
    if (r.reply_id) {
        d->run_wanted = true; /* send the confirmation now */
        loop_event_arm(d->deferred, 0);
    }
    return true;
}

/* A driver has room: one dispatch run at the end of the turn serves every such call. */
static void on_ready(const char *driver, void *arg)
{
    struct dispatch *d = arg;
    (void)driver;
    d->run_wanted = true;
    loop_event_arm(d->deferred, TURN_GATHER_MS);
}

/* --- life cycle ----------------------------------------------------------- */

struct dispatch *dispatch_new(struct store *store, const struct conf *conf, struct loop *loop)
{
    struct dispatch *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->store = store;
    d->deferred = loop_deferred_new(loop, on_end_of_turn, d);
    d->carried = loop_deferred_new(loop, on_carried_due, d);
    d->wake = loop_deferred_new(loop, on_wake, d);
    d->events = (struct driver_events){ .planned = on_planned, .part = on_part,
                                        .receipt = on_receipt, .inbound = on_inbound,
                                        .ready = on_ready, .arg = d };
    dispatch_set_conf(d, conf);
    return d;
}

void dispatch_set_conf(struct dispatch *d, const struct conf *conf)
{
    static struct codec_message cm;
    const char *texts[4] = { NULL, conf->keywords.optout_reply, conf->keywords.optin_reply,
                             conf->keywords.help_reply };
    for (int k = 1; k < 4; k++) {
        bool ok = codec_encode(texts[k], strlen(texts[k]), NULL, &cm) == 0;
        d->reply_encoding[k] = ok ? codec_encoding_name(cm.encoding) : "ucs2";
        d->reply_segments[k] = ok ? (int)cm.nsegments : 1;
    }
    d->conf = conf;
    free(d->cursors);
    d->cursors = calloc(conf->n_routes + 1, sizeof *d->cursors);
    free(d->buckets);
    d->buckets = calloc(conf->n_routes + 1, sizeof *d->buckets);
    if (!d->cursors || !d->buckets)
        abort();
}

void dispatch_set_webhooks(struct dispatch *d, struct webhooks *w)
{
    d->webhooks = w;
}

void dispatch_free(struct dispatch *d)
{
    if (!d)
        return;
    commit_reports(d, false);
    if (d->n_reports > 0)
        log_error("dispatch: %zu driver reports lost at stop (messages left sending go again at "
                  "the next start)", d->n_reports);
    free_reports(d->reports, d->n_reports);
    loop_event_free(d->deferred);
    loop_event_free(d->carried);
    loop_event_free(d->wake);
    free(d->reports);
    while (d->attempts)
        drop_attempt(d, d->attempts);
    while (d->requeues) { /* still "sending": the next start puts them back */
        struct requeue *q = d->requeues;
        d->requeues = q->next;
        free(q);
    }
    free(d->drivers);
    free(d->cursors);
    free(d->buckets);
    free(d);
}

const struct driver_events *dispatch_events(struct dispatch *d)
{
    return &d->events;
}

void dispatch_add(struct dispatch *d, struct driver drv)
{
    struct driver *grown = realloc(d->drivers, (d->n_drivers + 1) * sizeof *grown);
    if (!grown)
        abort();
    d->drivers = grown;
    d->drivers[d->n_drivers++] = drv;
}

size_t dispatch_driver_count(const struct dispatch *d)
{
    return d->n_drivers;
}

const struct driver *dispatch_driver(const struct dispatch *d, size_t i)
{
    return i < d->n_drivers ? &d->drivers[i] : NULL;
}

void dispatch_stop(struct dispatch *d)
{
    d->stopping = true;
    for (size_t i = 0; i < d->n_drivers; i++)
        if (d->drivers[i].ops->drain)
            d->drivers[i].ops->drain(d->drivers[i].self);
}

int dispatch_in_flight(struct dispatch *d)
{
    int n = 0;
    for (size_t i = 0; i < d->n_drivers; i++) {
        struct driver_health h = { 0 };
        d->drivers[i].ops->health(d->drivers[i].self, &h);
        n += h.in_flight;
    }
    return n;
}

void dispatch_log_in_flight(const struct dispatch *d)
{
    for (const struct attempt *a = d->attempts; a; a = a->next) {
        if (a->outstanding > 0)
            log_warnx("msg=%lld still in flight on driver=%s: %d part%s unanswered",
                      (long long)a->msg_id, a->driver, a->outstanding,
                      a->outstanding == 1 ? "" : "s");
        else
            log_warnx("msg=%lld still in flight on driver=%s: not yet split into parts",
                      (long long)a->msg_id, a->driver);
    }
}

void dispatch_tick(struct dispatch *d)
{
    int n = 0;
    char err[256];
    int64_t now = clock_now(), ids[STORE_INBOUND_EXPIRE_MAX];
    struct store_consent consent;
    struct store_new_message replies[4];
    consent_rules(d, &consent, replies);
    if (store_inbound_expire(d->store, now - d->conf->inbound.reassembly_timeout, now, &consent,
                             &n, ids, err, sizeof err) != STORE_OK)
        log_error("inbound: %s", err);
    else if (n > 0)
        log_warnx("inbound messages delivered incomplete count=%d: parts missing after %llds", n,
                  (long long)d->conf->inbound.reassembly_timeout);
    for (int i = 0; i < n; i++)
        webhooks_inbound(d->webhooks, ids[i]);
    retry_requeues(d);
    dispatch_run(d);
}
