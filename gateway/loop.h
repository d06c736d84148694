/*
 * loop: the one event loop of the process (libevent 2.1 underneath).
 *
 * Everything homing waits on is an event here: serial fds, SMPP sockets,
 * the HTTP server, timers and signals. Callbacks run one at a time on the
 * loop's thread and must never block (no sleep, no blocking read).
 * Modules that need libevent's own buffered I/O or HTTP take loop_base().
 */
#ifndef HOMING_LOOP_H
#define HOMING_LOOP_H

#include <stdint.h>

struct loop;
struct loop_event;  /* a timer, a signal or an fd watch */
struct event_base;

typedef void loop_fn(void *arg);

struct loop *loop_new(void);
/* Frees the loop; every timer and signal handler must have been freed first. */
void loop_free(struct loop *loop);
/* Runs until loop_stop(); returns 0, or -1 if libevent failed. */
int loop_run(struct loop *loop);
/* Makes loop_run() return after the current callback. */
void loop_stop(struct loop *loop);
struct event_base *loop_base(struct loop *loop);

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

/*
 * Calls fn whenever fd is readable (LOOP_READ) or writable (LOOP_WRITE).
 * A write watch starts paused: resume it when there is output waiting.
 */
struct loop_event *loop_fd_new(struct loop *loop, int fd, int what, loop_fn *fn, void *arg);
void loop_event_pause(struct loop_event *ev);
void loop_event_resume(struct loop_event *ev);

/* Calls fn every `interval_ms` (repeat) or once after it. Free with loop_event_free(). */
struct loop_event *loop_timer_new(struct loop *loop, int64_t interval_ms, int repeat,
                                  loop_fn *fn, void *arg);
/* A timer that fires only when armed, once per arming: work deferred to the end of this loop turn. */
struct loop_event *loop_deferred_new(struct loop *loop, loop_fn *fn, void *arg);
/* Arms it to fire after `delay_ms` (0: once the current callbacks are done); no-op if armed. */
void loop_event_arm(struct loop_event *ev, int64_t delay_ms);

/* Calls fn when `signo` arrives (delivered on the loop, not in a signal handler). */
struct loop_event *loop_signal_new(struct loop *loop, int signo, loop_fn *fn, void *arg);
/* Accepts NULL. */
void loop_event_free(struct loop_event *t);

#endif
