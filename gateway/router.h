/*
 * router: which modem or bind carries a message, and how fast a route may
 * send. Pure functions over the configured routes, a snapshot of the
 * drivers' health and the time given by the caller, so every strategy and
 * the rate limit are unit-tested without a driver or a clock in sight.
 */
#ifndef HOMING_ROUTER_H
#define HOMING_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct conf_route;

/* The first route whose match is "+" or a prefix of `to`, or NULL. */
const struct conf_route *router_match(const struct conf *conf, const char *to);

struct router_member {
    const char *name;
    bool up;
    int free_slots;    /* messages it can take now */
    int in_flight;     /* messages it holds */
};

/*
 * Picks a member that is up and has a free slot: the first in order
 * ("failover"), the next after the last pick ("round-robin", using *cursor),
 * or the one holding the fewest messages ("least-busy", ties in order).
 * Returns its index, or -1 when none can take work now.
 */
int router_pick(const char *strategy, const struct router_member *members, size_t n,
                unsigned *cursor);

/*
 * A route's rate limit (routes[].rate, parts per second) as a token bucket
 * shared by all the route's members. The caller passes the service clock
 * (clock_now_ms()), so the limit follows --time-scale. The bucket holds one
 * second's worth (at least one part) and starts full: a quiet route may send
 * `rate` parts at once, then `rate` a second. A zeroed struct is a full bucket.
 */
struct router_bucket {
    double tokens;
    int64_t last_ms;
    bool started;
};

/* Whole parts the route may send now; INT32_MAX when rate is 0 (no limit). */
int router_bucket_room(struct router_bucket *b, int64_t rate, int64_t now_ms);
/* Milliseconds until the route may send a part (0: now). */
int64_t router_bucket_wait_ms(struct router_bucket *b, int64_t rate, int64_t now_ms);
/*
 * Counts a message of `parts` parts as sent now. A message may go whenever one
 * part may; a longer one leaves the bucket owing the rest, paid back before
 * anything else passes, so long messages are never starved by short ones and
 * the rate still holds on average.
 */
void router_bucket_take(struct router_bucket *b, int64_t rate, int64_t now_ms, int parts);

#endif
