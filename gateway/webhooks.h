/*
 * webhooks: tells other systems what happened, over HTTP.
 *
 * - Delivery receipts are POSTed as JSON to webhooks.receipts:
 *   {"event":"receipt","id","to","part","parts","state","message_state",
 *    "ref","receipt","route","at"}.
 * - Received messages are POSTed as JSON to webhooks.inbound:
 *   {"event":"inbound","id","from","to","text","route","received_at","complete"}.
 * - A message sent through Kannel's /cgi-bin/sendsms with a dlr-url and a
 *   dlr-mask gets a GET of that URL, Kannel's escapes filled in, for each
 *   part event its mask asks for (1 delivered, 2 undelivered, 8 accepted by
 *   the modem or SMSC, 16 refused by it; 4, "queued on the SMSC", is not
 *   reported).
 *
 * Every call is committed to the store's outbox before it is first tried,
 * right after the state change it reports and before the driver that
 * reported it is answered, so a call survives a failing endpoint and a
 * restart. A call is retried with exponential backoff until the endpoint
 * answers 2xx or webhooks.max_attempts is reached; then it stays in the
 * outbox as failed. All of it runs on the loop: a slow or dead endpoint
 * never holds up sending, and at most webhooks.max_in_flight calls are
 * under way at once.
 */
#ifndef HOMING_WEBHOOKS_H
#define HOMING_WEBHOOKS_H

#include <stdint.h>

#include "gateway/store.h"

struct webhooks;
struct loop;
struct conf;

/*
 * `loop`, `store` and `conf` are borrowed. Calls left in flight by the last
 * run are made due again. Returns NULL (logged) if the HTTP client cannot
 * be set up.
 */
struct webhooks *webhooks_new(struct loop *loop, struct store *store, const struct conf *conf);
void webhooks_set_conf(struct webhooks *w, const struct conf *conf);
/* Stops at once; calls not yet answered stay in the outbox for the next start. Accepts NULL. */
void webhooks_free(struct webhooks *w);

/*
 * Part `index` (0-based) of message `msg_id` was recorded in `state`:
 * PART_DELIVERED or PART_UNDELIVERED (a receipt, `detail` its text),
 * PART_SUBMITTED (accepted, `detail` NULL) or PART_FAILED (`detail` the
 * error). `has_dlr`: whether the message carries a Kannel dlr-url (as
 * store_apply() read it). Queues the receipt webhook and the message's
 * dlr-url as they apply. `w` may be NULL: nothing happens.
 */
void webhooks_part(struct webhooks *w, int64_t msg_id, int index, enum part_state state,
                   bool has_dlr, const char *detail);

/* Inbound message `inbound_id` was committed: queues the inbound webhook. `w` may be NULL. */
void webhooks_inbound(struct webhooks *w, int64_t inbound_id);

/* --- pure helpers, exposed for tests ------------------------------------------ */

/* Kannel's DLR type for a part state: 1, 2, 8, 16; 0 for none. */
int webhooks_dlr_type(enum part_state state);

/* What a Kannel dlr-url's escapes are filled with. NULL strings count as "". */
struct webhooks_dlr {
    int type;                    /* %d */
    int64_t msg_id;              /* %I */
    const char *to;              /* %p (%q): the handset, the DLR's sender in Kannel's terms */
    const char *from;            /* %P (%Q): the original sender id */
    const char *route;           /* %i: the modem or bind */
    const char *ref;             /* %F: the modem's or SMSC's reference */
    const char *reply;           /* %A: receipt text or error */
    int64_t at;                  /* %T (Unix seconds), %t (UTC "YYYY-MM-DD HH:MM:SS") */
};

/*
 * `tmpl` with %d %p %P %q %Q %i %I %F %T %t %A filled in (URL-encoded) and
 * "%%" made "%"; any other escape is left as written. malloc'd.
 */
char *webhooks_dlr_url(const char *tmpl, const struct webhooks_dlr *d);

/* Seconds to wait after `failures` failed tries (>= 1): base, doubling, capped at max. */
int64_t webhooks_backoff(int failures, int64_t base, int64_t max);

#endif
