/*
 * dispatch: the core between the queue and the drivers. It claims due
 * messages only as far as the drivers have room, routes each (router.h),
 * hands it to a driver, and turns the drivers' reports (driver.h) into store
 * updates: parts submitted or failed, retries with exponential backoff after
 * temporary errors (the next try may take another route), receipts matched
 * to their parts, and received messages committed before the driver may
 * delete or acknowledge them.
 */
#ifndef HOMING_DISPATCH_H
#define HOMING_DISPATCH_H

#include "gateway/driver.h"

struct dispatch;
struct store;
struct conf;
struct webhooks;

struct loop;

/*
 * `store`, `conf` and `loop` are borrowed; see dispatch_set_conf() for
 * reloads. Drivers' reports are committed together once per loop turn.
 */
struct dispatch *dispatch_new(struct store *store, const struct conf *conf, struct loop *loop);
/* Commits the reports it still holds, then frees. */
void dispatch_free(struct dispatch *d);
void dispatch_set_conf(struct dispatch *d, const struct conf *conf);
/* Receipts, part results and inbound messages are also reported there (borrowed; NULL: none). */
void dispatch_set_webhooks(struct dispatch *d, struct webhooks *w);

/* The callbacks drivers report through. */
const struct driver_events *dispatch_events(struct dispatch *d);
/* Adds a driver; the dispatcher does not own it. */
void dispatch_add(struct dispatch *d, struct driver drv);
size_t dispatch_driver_count(const struct dispatch *d);
const struct driver *dispatch_driver(const struct dispatch *d, size_t i);

/* Routes due messages to drivers with room; also called when a driver frees up. */
void dispatch_run(struct dispatch *d);
/* Shutting down: claim nothing more, and have every driver hand back unstarted work. */
void dispatch_stop(struct dispatch *d);
/* Messages the drivers still hold (in flight). */
int dispatch_in_flight(struct dispatch *d);
/* Logs each message still with a driver, and the driver: when a stop's grace ends. */
void dispatch_log_in_flight(const struct dispatch *d);

/* Once per service tick: dispatch_run(), and overdue long inbound messages. */
void dispatch_tick(struct dispatch *d);

#endif
