/*
 * worker: see worker.h. A mailbox is a list of jobs under the worker's one
 * mutex plus an event on the receiving loop, made active by the sender
 * (libevent's event_active() is safe across threads once
 * evthread_use_pthreads() has run, which loop_new() does).
 */
#include "gateway/worker.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct job *next;
    worker_fn *fn;
    void *arg;
    bool *done;                 /* worker_call_main(): set once fn has run */
};

struct mailbox {
    struct job *head, *tail;
    struct event *ev;           /* on the receiving loop */
    struct worker *w;
};

struct worker {
    struct event_base *base;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;        /* a call is done, a job is posted, or the thread ended */
    struct mailbox to_main, to_worker;
    worker_fn *last;
    void *last_arg;
    bool started, ended;
};

static void run_jobs(struct mailbox *mb)
{
    struct worker *w = mb->w;
    pthread_mutex_lock(&w->mu);
    struct job *j = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (j) {
        struct job *next = j->next;
        j->fn(j->arg);
        if (j->done) { /* the job lives on the caller's stack: it goes once done is set */
            pthread_mutex_lock(&w->mu);
            *j->done = true;
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->mu);
        } else {
            free(j);
        }
        j = next;
    }
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_jobs(arg);
}

static void put(struct mailbox *mb, struct job *j)
{
    struct worker *w = mb->w;
    pthread_mutex_lock(&w->mu);
    if (mb->tail)
        mb->tail->next = j;
    else
        mb->head = j;
    mb->tail = j;
    pthread_cond_broadcast(&w->cond); /* worker_stop() may be waiting for main's jobs */
    pthread_mutex_unlock(&w->mu);
    event_active(mb->ev, EV_READ, 0);
}

static void post(struct mailbox *mb, worker_fn *fn, void *arg)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    *j = (struct job){ .fn = fn, .arg = arg };
    put(mb, j);
}

struct worker *worker_new(struct event_base *main_base)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    /* As the main loop's (loop_new): a busy HTTP loop adds and drops fds all the time. */
    struct event_config *cfg = event_config_new();
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = cfg ? event_base_new_with_config(cfg) : event_base_new();
    event_config_free(cfg);
    w->to_main.w = w->to_worker.w = w;
    if (w->base) {
        w->to_main.ev = event_new(main_base, -1, 0, on_mail, &w->to_main);
        w->to_worker.ev = event_new(w->base, -1, 0, on_mail, &w->to_worker);
    }
    if (!w->base || !w->to_main.ev || !w->to_worker.ev) {
        worker_stop(w, NULL, NULL);
        return NULL;
    }
    return w;
}

struct event_base *worker_base(struct worker *w)
{
    return w->base;
}

static void *thread_main(void *arg)
{
    struct worker *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    pthread_mutex_lock(&w->mu);
    worker_fn *last = w->last;
    void *last_arg = w->last_arg;
    pthread_mutex_unlock(&w->mu);
    if (last)
        last(last_arg);
    pthread_mutex_lock(&w->mu);
    w->ended = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

bool worker_start(struct worker *w, char *err, size_t err_size)
{
    int rc = pthread_create(&w->thread, NULL, thread_main, w);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start a thread: %s", strerror(rc));
        return false;
    }
    w->started = true;
    return true;
}

void worker_call_main(struct worker *w, worker_fn *fn, void *arg)
{
    bool done = false;
    struct job j = { .fn = fn, .arg = arg, .done = &done };
    put(&w->to_main, &j);
    pthread_mutex_lock(&w->mu);
    while (!done)
        pthread_cond_wait(&w->cond, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void worker_post_main(struct worker *w, worker_fn *fn, void *arg)
{
    post(&w->to_main, fn, arg);
}

void worker_post(struct worker *w, worker_fn *fn, void *arg)
{
    post(&w->to_worker, fn, arg);
}

/* Waits for the thread to end, running the main loop's jobs it asks for meanwhile. */
static void join(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->ended) {
        if (w->to_main.head) {
            pthread_mutex_unlock(&w->mu);
            run_jobs(&w->to_main);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        pthread_cond_wait(&w->cond, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
}

void worker_stop(struct worker *w, worker_fn *last, void *arg)
{
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->last = last;
        w->last_arg = arg;
        pthread_mutex_unlock(&w->mu);
        event_base_loopexit(w->base, NULL);
        join(w);
    } else if (last) {
        last(arg);
    }
    if (w->to_worker.ev) /* one thread from here on: whatever is left runs now */
        run_jobs(&w->to_worker);
    if (w->to_main.ev)
        run_jobs(&w->to_main);
    if (w->to_main.ev)
        event_free(w->to_main.ev);
    if (w->to_worker.ev)
        event_free(w->to_worker.ev);
    if (w->base)
        event_base_free(w->base);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
