/*
 * loop: a thin, documented layer over libevent's event_base. Timers and
 * signals share one small struct so their owners free them the same way.
 */
#include "gateway/loop.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdbool.h>
#include <stdlib.h>

struct loop {
    struct event_base *base;
};

struct loop_event {
    struct event *ev;
    bool active;
    loop_fn *fn;
    void *arg;
};

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    /*
     * Before any event_base exists: the HTTP thread (gateway/worker.c) makes
     * events of this loop active from its own thread, which libevent allows
     * only with its pthreads locking on.
     */
    evthread_use_pthreads();
    /* Coalesce epoll_ctl calls: a busy HTTP loop adds and drops fds all the time. */
    struct event_config *cfg = event_config_new();
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    loop->base = cfg ? event_base_new_with_config(cfg) : event_base_new();
    event_config_free(cfg);
    if (!loop->base) {
        free(loop);
        return NULL;
    }
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    event_base_free(loop->base);
    free(loop);
}

int loop_run(struct loop *loop)
{
    return event_base_dispatch(loop->base) < 0 ? -1 : 0;
}

void loop_stop(struct loop *loop)
{
    event_base_loopbreak(loop->base);
}

struct event_base *loop_base(struct loop *loop)
{
    return loop->base;
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop_event *t = arg;
    t->fn(t->arg);
}

struct loop_event *loop_timer_new(struct loop *loop, int64_t interval_ms, int repeat,
                                  loop_fn *fn, void *arg)
{
    struct loop_event *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->ev = event_new(loop->base, -1, repeat ? EV_PERSIST : 0, on_event, t);
    struct timeval tv = { .tv_sec = interval_ms / 1000, .tv_usec = (interval_ms % 1000) * 1000 };
    if (!t->ev || event_add(t->ev, &tv) != 0) {
        loop_event_free(t);
        return NULL;
    }
    return t;
}

struct loop_event *loop_deferred_new(struct loop *loop, loop_fn *fn, void *arg)
{
    struct loop_event *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->ev = event_new(loop->base, -1, 0, on_event, t);
    if (!t->ev) {
        loop_event_free(t);
        return NULL;
    }
    return t;
}

void loop_event_arm(struct loop_event *t, int64_t delay_ms)
{
    if (!t || event_pending(t->ev, EV_TIMEOUT, NULL))
        return;
    struct timeval tv = { .tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000 };
    event_add(t->ev, &tv);
}

struct loop_event *loop_signal_new(struct loop *loop, int signo, loop_fn *fn, void *arg)
{
    struct loop_event *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->ev = evsignal_new(loop->base, signo, on_event, t);
    if (!t->ev || event_add(t->ev, NULL) != 0) {
        loop_event_free(t);
        return NULL;
    }
    return t;
}

struct loop_event *loop_fd_new(struct loop *loop, int fd, int what, loop_fn *fn, void *arg)
{
    struct loop_event *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    short flags = EV_PERSIST | (what & LOOP_READ ? EV_READ : 0) | (what & LOOP_WRITE ? EV_WRITE : 0);
    t->ev = event_new(loop->base, fd, flags, on_event, t);
    if (!t->ev) {
        loop_event_free(t);
        return NULL;
    }
    if (!(what & LOOP_WRITE))
        loop_event_resume(t);
    return t;
}

void loop_event_pause(struct loop_event *t)
{
    if (t && t->active) {
        event_del(t->ev);
        t->active = false;
    }
}

void loop_event_resume(struct loop_event *t)
{
    if (t && !t->active && event_add(t->ev, NULL) == 0)
        t->active = true;
}

void loop_event_free(struct loop_event *t)
{
    if (!t)
        return;
    if (t->ev)
        event_free(t->ev);
    free(t);
}
