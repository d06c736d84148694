/*
 * http_commit: the group commit of accepted messages, on the HTTP thread.
 *
 * Requests whose messages passed their checks are parked in the filling
 * batch; at the end of the loop turn the batch is committed in one
 * transaction without waiting for the disk, the syncer (gateway/syncer.h)
 * is asked to sync the WAL, and the batch waits for that sync while the
 * next one fills. Only once its sync is done does each request get its 202:
 * nothing is acknowledged before it is on disk, and the fsync of one batch
 * overlaps the parsing and commit of the next ones. Four batches at most:
 * one filling and up to three committed and waiting for the disk, which one
 * fsync often covers together. Committing the next batch without waiting for
 * the last one's sync took bench/queue's bind line from about 18,000 to about
 * 19,000 accepted messages a second.
 */
#ifndef HOMING_HTTP_COMMIT_H
#define HOMING_HTTP_COMMIT_H

#include <jansson.h>
#include <stddef.h>

struct event_base;
struct evhttp_request;
struct kannel_sendsms;
struct store;
struct syncer;
struct accepted;
struct http_commit;

/* `committed(arg)` runs on the HTTP thread once a batch is on disk. */
struct http_commit *http_commit_new(struct event_base *base, struct store *st,
                                    void (*committed)(void *arg), void *arg);
/* The syncer to ask; set once it is running (before any request is parked). */
void http_commit_set_syncer(struct http_commit *c, struct syncer *s);
/* Called by the syncer's thread after each sync: wakes the HTTP thread. */
void http_commit_synced(void *c);

/* Room for `n` more messages in the filling batch: commits it first when full. */
void http_commit_room(struct http_commit *c, size_t n);
/* Where the next message is checked (accept_check's `out`). */
struct accepted *http_commit_slot(struct http_commit *c);
/* The message just checked in the slot is kept. */
void http_commit_keep(struct http_commit *c);
/* How many messages the filling batch holds (a request's first is the next). */
size_t http_commit_mark(const struct http_commit *c);
/* Forgets the messages kept since `mark`: their request was refused. */
void http_commit_drop(struct http_commit *c, size_t mark);
/*
 * Parks `req` with its messages (those kept since `first`); it is answered
 * once they are on disk. `body` or `k` (one of them) is freed then.
 */
void http_commit_park(struct http_commit *c, struct evhttp_request *req, json_t *body,
                      struct kannel_sendsms *k, size_t first);

/* Commits, syncs and answers everything parked, waiting for the disk. */
void http_commit_finish(struct http_commit *c);
/* After http_commit_finish(). Accepts NULL. */
void http_commit_free(struct http_commit *c);

#endif
