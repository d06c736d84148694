/* router: route matching and the three strategies. */
#include "gateway/router.h"

#include <string.h>

#include "config/conf.h"

const struct conf_route *router_match(const struct conf *conf, const char *to)
{
    for (size_t i = 0; i < conf->n_routes; i++) {
        const char *match = conf->routes[i].match;
        if (strcmp(match, "+") == 0 || strncmp(to, match, strlen(match)) == 0)
            return &conf->routes[i];
    }
    return NULL;
}

static bool can_take(const struct router_member *m)
{
    return m->up && m->free_slots > 0;
}

int router_pick(const char *strategy, const struct router_member *members, size_t n,
                unsigned *cursor)
{
    if (n == 0)
        return -1;
    if (strcmp(strategy, "round-robin") == 0) {
        for (size_t k = 0; k < n; k++) {
            size_t i = (*cursor + k) % n;
            if (can_take(&members[i])) {
                *cursor = (unsigned)((i + 1) % n);
                return (int)i;
            }
        }
        return -1;
    }
    int best = -1;
    bool least_busy = strcmp(strategy, "least-busy") == 0;
    for (size_t i = 0; i < n; i++) {
        if (!can_take(&members[i]))
            continue;
        if (best < 0 || (least_busy && members[i].in_flight < members[best].in_flight))
            best = (int)i;
        if (!least_busy)
            break;
    }
    return best;
}
