/* router: route matching, the three strategies, and the rate limit's bucket. */
#include "gateway/router.h"

#include <math.h>
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

static double bucket_size(int64_t rate)
{
    return rate > 1 ? (double)rate : 1.0;
}

/* Adds what the time since the last look has earned, up to the bucket's size. */
static void refill(struct router_bucket *b, int64_t rate, int64_t now_ms)
{
    if (!b->started) {
        b->started = true;
        b->tokens = bucket_size(rate);
        b->last_ms = now_ms;
        return;
    }
    if (now_ms > b->last_ms) { /* a clock stepping back earns nothing */
        b->tokens += (double)(now_ms - b->last_ms) * (double)rate / 1000.0;
        if (b->tokens > bucket_size(rate))
            b->tokens = bucket_size(rate);
    }
    b->last_ms = now_ms;
}

int router_bucket_room(struct router_bucket *b, int64_t rate, int64_t now_ms)
{
    if (rate <= 0)
        return INT32_MAX;
    refill(b, rate, now_ms);
    return b->tokens < 0 ? 0 : (int)floor(b->tokens + 1e-9);
}

int64_t router_bucket_wait_ms(struct router_bucket *b, int64_t rate, int64_t now_ms)
{
    if (rate <= 0)
        return 0;
    refill(b, rate, now_ms);
    double need = 1.0 - b->tokens;
    if (need <= 1e-9)
        return 0;
    return (int64_t)ceil(need * 1000.0 / (double)rate);
}

void router_bucket_take(struct router_bucket *b, int64_t rate, int64_t now_ms, int parts)
{
    if (rate <= 0)
        return;
    refill(b, rate, now_ms);
    b->tokens -= parts > 1 ? parts : 1;
}
