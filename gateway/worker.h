/*
 * worker: a second thread with its own libevent loop, and the two mailboxes
 * between it and the main loop.
 *
 * The HTTP API runs on one (gateway/http.c): parsing requests, checking and
 * committing messages and answering them is about half of what homing does
 * under load, and on its own thread it uses the machine's second core while
 * the main loop sends. Nothing else is shared between the threads: each has
 * its own sqlite connection, and whatever one needs from the other goes
 * through these mailboxes as a function to run on the other's loop. The main
 * loop never waits for the worker, so the two cannot deadlock; the worker
 * waits for the main loop only in worker_call_main().
 */
#ifndef HOMING_WORKER_H
#define HOMING_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct worker;

typedef void worker_fn(void *arg);

/* A worker whose loop is not running yet; `main_base` is the main loop's. NULL on failure. */
struct worker *worker_new(struct event_base *main_base);
/* The worker's own loop: set up its events, then worker_start(). */
struct event_base *worker_base(struct worker *w);
/* Starts the thread; false with the reason in err. */
bool worker_start(struct worker *w, char *err, size_t err_size);

/* From the worker: runs fn(arg) on the main loop and returns once it has run. */
void worker_call_main(struct worker *w, worker_fn *fn, void *arg);
/* From the worker: fn(arg) runs soon on the main loop; does not wait. */
void worker_post_main(struct worker *w, worker_fn *fn, void *arg);
/* From the main loop: fn(arg) runs soon on the worker's loop; does not wait. */
void worker_post(struct worker *w, worker_fn *fn, void *arg);

/*
 * From the main loop: ends the worker's loop after its current callback,
 * runs last(arg) on the worker thread, and waits for the thread to end
 * (running what the worker asks of the main loop meanwhile). What either
 * side posted and the other had not run yet runs here, on this thread.
 * Then frees the worker and its loop. Accepts NULL.
 */
void worker_stop(struct worker *w, worker_fn *last, void *arg);

#endif
