/*
 * The HTTP thread's plumbing (gateway/worker.c) with real threads and real
 * event loops: calls and posts in both directions arrive once each, in
 * order, on the right thread, and stopping runs what is still in the
 * mailboxes instead of dropping it.
 */
#include <event2/event.h>
#include <pthread.h>

#include "gateway/loop.h"
#include "gateway/worker.h"
#include "tests/testutil.h"

#define N_JOBS 200

struct fixture {
    struct loop *loop;
    struct worker *w;
    pthread_t main_thread;
    int on_main, on_worker;      /* jobs seen, each counted on the thread it must run on */
    int order[N_JOBS];
    int n_order;
    bool wrong_thread;
    bool last_ran_on_worker;
};

struct numbered {
    struct fixture *f;
    int n;
};

static void count_on_main(void *arg)
{
    struct numbered *j = arg;
    if (!pthread_equal(pthread_self(), j->f->main_thread))
        j->f->wrong_thread = true;
    j->f->order[j->f->n_order++] = j->n;
    j->f->on_main++;
}

static void count_on_worker(void *arg)
{
    struct fixture *f = arg;
    if (pthread_equal(pthread_self(), f->main_thread))
        f->wrong_thread = true;
    f->on_worker++;
}

static struct numbered jobs[N_JOBS];

/* On the worker: posts N_JOBS numbered jobs to main, then calls main once and waits. */
static void burst_to_main(void *arg)
{
    struct fixture *f = arg;
    for (int i = 0; i < N_JOBS - 1; i++) {
        jobs[i] = (struct numbered){ f, i };
        worker_post_main(f->w, count_on_main, &jobs[i]);
    }
    jobs[N_JOBS - 1] = (struct numbered){ f, N_JOBS - 1 };
    worker_call_main(f->w, count_on_main, &jobs[N_JOBS - 1]);
    /* The call returned: every job posted before it has run on main. */
    if (f->on_main != N_JOBS)
        f->wrong_thread = true;
}

static void stop_main_loop(void *arg)
{
    loop_stop(arg);
}

static void on_main_timer(void *arg)
{
    struct fixture *f = arg;
    worker_post(f->w, burst_to_main, f);
}

static void last_on_worker(void *arg)
{
    struct fixture *f = arg;
    f->last_ran_on_worker = !pthread_equal(pthread_self(), f->main_thread);
}

START_TEST(jobs_cross_both_ways_in_order)
{
    struct fixture f = { .main_thread = pthread_self() };
    f.loop = loop_new();
    f.w = worker_new(loop_base(f.loop));
    ck_assert_ptr_nonnull(f.w);
    char err[128];
    ck_assert(worker_start(f.w, err, sizeof err));
    struct loop_event *t = loop_timer_new(f.loop, 10, 0, on_main_timer, &f);
    struct loop_event *stop = loop_timer_new(f.loop, 2000, 0, stop_main_loop, f.loop);
    for (int i = 0; i < 5; i++)
        worker_post(f.w, count_on_worker, &f);
    /* Runs until the 2 s timer: the burst is done long before. */
    ck_assert_int_eq(loop_run(f.loop), 0);
    ck_assert_int_eq(f.on_main, N_JOBS);
    ck_assert_int_eq(f.on_worker, 5);
    for (int i = 0; i < N_JOBS; i++)
        ck_assert_int_eq(f.order[i], i);
    worker_stop(f.w, last_on_worker, &f);
    ck_assert(f.last_ran_on_worker);
    ck_assert(!f.wrong_thread);
    loop_event_free(t);
    loop_event_free(stop);
    loop_free(f.loop);
}
END_TEST

static void post_then_finish(void *arg)
{
    struct fixture *f = arg;
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct numbered){ f, i };
        worker_post_main(f->w, count_on_main, &jobs[i]);
    }
}

START_TEST(stop_runs_what_is_left)
{
    /* The main loop never runs: what the worker posts is run by worker_stop itself. */
    struct fixture f = { .main_thread = pthread_self() };
    f.loop = loop_new();
    f.w = worker_new(loop_base(f.loop));
    char err[128];
    ck_assert(worker_start(f.w, err, sizeof err));
    worker_stop(f.w, post_then_finish, &f);
    ck_assert_int_eq(f.on_main, 10);
    ck_assert(!f.wrong_thread);
    loop_free(f.loop);
}
END_TEST

static void call_from_last(void *arg)
{
    struct fixture *f = arg;
    jobs[0] = (struct numbered){ f, 0 };
    worker_call_main(f->w, count_on_main, &jobs[0]);
}

START_TEST(a_call_during_stop_is_answered)
{
    /* The worker's last act waits for main while main waits for the thread to end. */
    struct fixture f = { .main_thread = pthread_self() };
    f.loop = loop_new();
    f.w = worker_new(loop_base(f.loop));
    char err[128];
    ck_assert(worker_start(f.w, err, sizeof err));
    worker_stop(f.w, call_from_last, &f);
    ck_assert_int_eq(f.on_main, 1);
    loop_free(f.loop);
}
END_TEST

START_TEST(a_worker_never_started_still_stops)
{
    struct fixture f = { .main_thread = pthread_self() };
    f.loop = loop_new();
    f.w = worker_new(loop_base(f.loop));
    worker_post(f.w, count_on_worker, &f);
    worker_stop(f.w, NULL, NULL);
    /* No thread ever ran: the posted job still ran once, on this (the only) thread. */
    ck_assert_int_eq(f.on_worker, 1);
    loop_free(f.loop);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("worker");
    TCase *t = tcase_create("mailboxes");
    tcase_set_timeout(t, 20);
    tcase_add_test(t, jobs_cross_both_ways_in_order);
    tcase_add_test(t, stop_runs_what_is_left);
    tcase_add_test(t, a_call_during_stop_is_answered);
    tcase_add_test(t, a_worker_never_started_still_stops);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
