/*
 * router: which modem or bind carries a message. Pure functions over the
 * configured routes and a snapshot of the drivers' health, so every strategy
 * is unit-tested without a driver in sight.
 */
#ifndef HOMING_ROUTER_H
#define HOMING_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
