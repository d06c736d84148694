/*
 * store: homing's one durable state, an sqlite3 database in WAL mode.
 *
 * Every call that changes something runs in its own transaction and has
 * committed (synchronous=FULL) before it returns: a caller may tell the world
 * a message was accepted as soon as store_enqueue() returns STORE_OK. The
 * service and the CLI open the same file; a busy timeout lets them take turns.
 * This is the only module that includes sqlite3.h, so a second backend can
 * follow behind this header.
 *
 * Times are Unix seconds from the caller's clock (see gateway/clock.h), so a
 * virtual clock can drive them.
 */
#ifndef HOMING_STORE_H
#define HOMING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* no such row */
    STORE_DUPLICATE,   /* idempotency key seen with the same request: the old id is returned */
    STORE_CONFLICT,    /* idempotency key seen with a different request */
    STORE_ERROR,       /* the database failed; the reason is in the error buffer */
};

/* Outbound message states (DESIGN.md). */
enum msg_state {
    MSG_QUEUED, MSG_SENDING, MSG_SENT, MSG_DELIVERED, MSG_UNDELIVERED,
    MSG_FAILED, MSG_EXPIRED, MSG_SUPPRESSED,
};
#define MSG_STATE_COUNT 8

/* Per-segment states. */
enum part_state {
    PART_PENDING,      /* not yet accepted by a modem or SMSC */
    PART_SUBMITTED,    /* accepted; has a route-side reference */
    PART_DELIVERED,    /* receipt: delivered */
    PART_UNDELIVERED,  /* receipt: not delivered (expired, rejected ...) */
    PART_FAILED,       /* submit refused permanently */
};
#define PART_STATE_COUNT 5

const char *store_msg_state_name(enum msg_state s);
bool store_msg_state_parse(const char *name, enum msg_state *out);
const char *store_part_state_name(enum part_state s);

/*
 * The message state implied by its parts; `current` is returned while no part
 * has moved (a queued message stays queued). Pure: unit-tested on its own.
 */
enum msg_state store_derive_state(const enum part_state *parts, size_t n, enum msg_state current);

/*
 * Opens (creating if needed) the database at `path`, applies missing
 * migrations, and refuses a database written by a newer homing. On failure
 * returns NULL with the reason in err.
 */
struct store *store_open(const char *path, char *err, size_t err_size);
/*
 * A connection that only checkpoints (store_checkpoint): none of the queue's
 * statements are prepared on it, which saves their memory.
 */
struct store *store_open_for_checkpoints(const char *path, char *err, size_t err_size);
void store_close(struct store *st);
int store_schema_version(const struct store *st);
/*
 * The open sqlite connection, for the scheduler's own prepared statements
 * (scheduler/sched_db.c): they share this connection and its transactions.
 */
struct sqlite3 *store_handle(struct store *st);
/* The schema version this binary writes. */
int store_schema_latest(void);
/*
 * How long a call waits for another process's write lock before it fails
 * with "database is locked" (store_open sets 5 s, right for the CLI). The
 * service sets less: its one loop must not stall while it waits.
 */
void store_set_busy_timeout(struct store *st, int ms);
/*
 * Who checkpoints the WAL once this connection's commits have grown it:
 * NULL (the default), the connection itself, within the commit; else
 * `checkpointer(arg)` is told, and the service's syncer checkpoints on a
 * thread of its own, so no event loop waits for the disk.
 */
void store_set_checkpointer(struct store *st, void (*checkpointer)(void *arg), void *arg);
/*
 * The drivers' reports (store_apply) commit without waiting for the disk,
 * and `sync(arg)` is told to have the WAL synced soon by another thread (the
 * service's syncer, gateway/syncer.h): the main loop then never waits for
 * the disk while it sends. NULL: they sync
 * themselves again. Everything else on the connection still syncs before
 * COMMIT returns: an inbound message or an opt-out is on disk before the
 * modem or SMSC is told it was received.
 */
void store_defer_report_syncs(struct store *st, void (*sync)(void *arg), void *arg);
/* The connection's page cache (store_open sets 512 KiB); a connection that only checkpoints needs little. */
void store_set_cache_kib(struct store *st, int kib);
/* A PASSIVE checkpoint now: copies what it can without waiting for anyone. */
void store_checkpoint(struct store *st);

struct store_new_message {
    const char *to;              /* E.164 */
    const char *from;            /* sender id, or NULL */
    const char *body;            /* UTF-8 */
    const char *encoding;        /* "gsm7", "ucs2" ... */
    int segments;
    const char *route;           /* the only modem or bind it may go by, or NULL */
    const char *idempotency_key; /* or NULL */
    const char *source;          /* "cli", "http", "campaign" ... */
    int64_t expires_at;
    const char *dlr_url;         /* Kannel dlr-url to call on receipt events, or NULL */
    int dlr_mask;                /* Kannel dlr-mask: which events call it */
    /* Campaign messages only (source "campaign"); NULL / 0 otherwise. */
    const char *campaign;
    int step;                    /* index of the step in its campaign, from 0 */
    int64_t enrollment_id;
    const char *variant;         /* A/B variant name, or NULL */
};

/* Commits a new queued message. STORE_DUPLICATE and STORE_CONFLICT set *id to the earlier one. */
enum store_rc store_enqueue(struct store *st, const struct store_new_message *m, int64_t now,
                            int64_t *id, char *err, size_t err_size);

/*
 * At start-up: messages a previous run had claimed ("sending") go back in the
 * queue. Their parts already accepted are kept and not sent again.
 */
enum store_rc store_recover(struct store *st, int64_t now, int64_t *n, char *err, size_t err_size);

/* Marks a message suppressed (never sent: the recipient opted out), with the reason. */
enum store_rc store_suppress(struct store *st, int64_t msg_id, const char *why, int64_t now,
                             char *err, size_t err_size);

/* Marks queued messages whose validity has passed as expired; *n says how many. */
enum store_rc store_expire_due(struct store *st, int64_t now, int64_t *n,
                               char *err, size_t err_size);

/* One message's outcome in a batch. */
struct store_enqueue_result {
    enum store_rc rc;            /* OK, DUPLICATE (id: the first) or CONFLICT (id: the first) */
    int64_t id;
    char error[256];             /* for CONFLICT */
};

/*
 * Group commit: all of `msgs` in one transaction, so concurrent arrivals share
 * one fsync, committed without waiting for the disk: the caller has the WAL
 * synced (gateway/syncer.h) before it tells anyone the messages were accepted.
 * Each gets its own result; STORE_ERROR means none was committed.
 */
enum store_rc store_enqueue_batch_unsynced(struct store *st, const struct store_new_message *msgs,
                                           size_t n, int64_t now,
                                           struct store_enqueue_result *res, char *err,
                                           size_t err_size);

/*
 * The same without waiting for the write lock: when another connection holds
 * it, nothing is written and STORE_ERROR comes back with *busy set. The HTTP
 * thread goes on reading requests meanwhile (gateway/http_commit.c).
 */
enum store_rc store_try_enqueue_batch_unsynced(struct store *st,
                                               const struct store_new_message *msgs, size_t n,
                                               int64_t now, struct store_enqueue_result *res,
                                               bool *busy, char *err, size_t err_size);
/*
 * fn(arg) runs after each write transaction of this process ends (commit or
 * rollback), on the thread that ran it, while no listener can be set: keep it
 * short. One listener at a time; fn NULL removes it.
 */
void store_on_lock_released(void (*fn)(void *arg), void *arg);

/* The opt-out of `recipient`, if any: its keyword and time (keyword is copied into kw). */
enum store_rc store_optout_find(struct store *st, const char *recipient, char *kw,
                                size_t kw_size, int64_t *at, char *err, size_t err_size);

/*
 * Marks up to `max` (at most STORE_CLAIM_MAX) due queued messages as sending
 * and returns their ids in order of due time. Messages past their validity
 * are left for store_expire_due(), which the service tick runs.
 */
#define STORE_CLAIM_MAX 64
enum store_rc store_claim_due(struct store *st, int64_t now, int64_t *ids, size_t max,
                              size_t *n, char *err, size_t err_size);

struct store_message;
/*
 * store_claim_due() that also returns the claimed messages, with their parts,
 * as store_message_get() would read them right after the claim, and the
 * opt-out keyword of each one's recipient, if they opted out:
 * read in the claim's own transaction, so dispatch reads nothing per message.
 * Each of out[0..*n) is freed with store_message_free().
 */
enum store_rc store_claim(struct store *st, int64_t now, struct store_message **out, size_t max,
                          size_t *n, char *err, size_t err_size);

struct store_part_update {
    int index;                   /* 0-based segment number */
    enum part_state state;
    const char *ref;             /* SMPP message_id or "modem:TP-MR"; NULL keeps the old */
    const char *route;           /* route that carried it; NULL keeps the old */
    const char *error;           /* reason for failure, or NULL */
    const char *receipt;         /* receipt detail ("TP-ST 0: ...", "DELIVRD"), or NULL */
};

/* A driver's report, to be committed with others (store_apply). */
struct store_update {
    enum { STORE_UPDATE_PLAN, STORE_UPDATE_PART } kind;
    int64_t msg_id;
    int n_parts;                 /* PLAN */
    const char *route;           /* PLAN */
    struct store_part_update part; /* PART */
};

/*
 * Group commit of drivers' reports: plans and part results in one
 * transaction, in order. A report about a message that no longer exists is
 * skipped; a database failure rolls back all of them. has_dlr (NULL, or room
 * for n) gets, for each part result, whether its message carries a Kannel
 * dlr-url (read on the way, so webhooks need not read it again).
 */
enum store_rc store_apply(struct store *st, const struct store_update *u, size_t n, int64_t now,
                          bool *has_dlr, char *err, size_t err_size);

/*
 * store_apply() and then store_claim() in the same transaction, so the
 * reports of a loop turn and the next batch of messages share one commit
 * (the reports' synchronous one: nothing is waited for that store_apply()
 * alone would not wait for). On STORE_ERROR neither happened.
 */
struct store_apply_claim {
    const struct store_update *u;    /* as store_apply() */
    size_t n;
    bool *has_dlr;
    struct store_message **claimed;  /* as store_claim(): room for max */
    size_t max;
    size_t n_claimed;                /* out */
};
enum store_rc store_apply_claim(struct store *st, struct store_apply_claim *ac, int64_t now,
                                char *err, size_t err_size);

/*
 * Puts a claimed message back in the queue, due at `next_at`. With
 * `count_attempt` this was a failed attempt: once `max_attempts` have failed,
 * the message fails instead, with `error` as its reason. A message whose
 * recipient has opted out (other than the opt-out's own confirmation) is
 * suppressed instead: what comes back unsent after a STOP never goes.
 * *state_out (may be NULL) says which it became.
 */
enum store_rc store_requeue(struct store *st, int64_t msg_id, int64_t next_at, const char *error,
                            bool count_attempt, int max_attempts, int64_t now,
                            enum msg_state *state_out, char *err, size_t err_size);

/*
 * Finds the part a receipt is for: the newest part sent by `route` under
 * `ref` since `since`, and when `recipient` is given, to a number ending in
 * the same digits (modems report recipients in national or international form).
 */
enum store_rc store_find_part(struct store *st, const char *route, const char *ref,
                              const char *recipient, int64_t since, int64_t *msg_id, int *index,
                              char *err, size_t err_size);

/* Keyword kinds a classifier reports (see gateway/keyword.h). */
enum store_keyword { STORE_KW_NONE, STORE_KW_OPTOUT, STORE_KW_OPTIN, STORE_KW_HELP };

/*
 * Consent handling applied to a received message in the transaction that
 * stores it: `classify` names the keyword of the complete text; an opt-out
 * records the opt-out, suppresses every queued message to the sender, ends
 * their active enrollments and writes an event; an opt-in removes it; each
 * kind may queue its reply (reply[kind], sent to the sender; an opt-out's
 * only if none was sent within confirm_again_after). Replies have source
 * "consent", the one source the suppression lets through. A text that is no
 * keyword is a reply: it ends the sender's active enrollments in campaigns
 * for which exits_on_reply() says so (their exit_on has "reply"; NULL: none),
 * as 'replied', with an event each. Both callbacks get `arg`.
 */
struct store_consent {
    enum store_keyword (*classify)(const char *text, char *word, size_t size, void *arg);
    bool (*exits_on_reply)(const char *campaign, void *arg);
    void *arg;
    const struct store_new_message *reply[4];
    int64_t confirm_again_after;
};

/* Keeps a receipt that matched no sent part (table receipts_unmatched). */
enum store_rc store_receipt_unmatched(struct store *st, const char *route, const char *ref,
                                      const char *recipient, const char *state,
                                      const char *detail, int64_t now, char *err, size_t err_size);

/* One received SMS, or one part of a long one. */
struct store_inbound_part {
    const char *sender, *recipient, *text, *route;
    bool concat;
    unsigned ref, total, seq;    /* 1-based seq */
    const struct store_consent *consent; /* or NULL */
};

/* What storing a received message did. */
struct store_inbound_result {
    int64_t id;                  /* the inbound row once complete, else 0 */
    enum store_keyword keyword;
    char word[32];
    int64_t reply_id;            /* the reply queued, or 0 */
    int suppressed;              /* queued messages suppressed by an opt-out */
    int ended;                   /* enrollments ended by an opt-out or a reply */
};

/*
 * Commits a received message. A part of a long message is kept until all its
 * parts are in (duplicates ignored), then the whole text is committed as one
 * inbound row and the parts dropped, with its consent handling (in->consent)
 * in the same transaction. res->id is the row's id once complete, else 0.
 */
enum store_rc store_inbound_add(struct store *st, const struct store_inbound_part *in,
                                int64_t now, struct store_inbound_result *res,
                                char *err, size_t err_size);

/* Opt-outs entered by hand (`homing optout add|remove`): the same effects as STOP/START. */
enum store_rc store_consent_optout(struct store *st, const char *recipient, const char *keyword,
                                   const char *actor, int64_t now, int *suppressed,
                                   char *err, size_t err_size);
enum store_rc store_consent_optin(struct store *st, const char *recipient, const char *actor,
                                  int64_t now, char *err, size_t err_size);

/* One opt-out of a suppression list being imported (`homing optout import`). */
struct store_optout_import {
    const char *recipient;       /* E.164 */
    const char *keyword;
    int64_t at;                  /* when they opted out (optouts.received_at) */
};

struct store_import_result {
    int added;                   /* new opt-outs */
    int already;                 /* numbers already opted out: kept as they were */
    int suppressed;              /* queued messages suppressed */
    int ended;                   /* enrollments ended */
};

/*
 * Commits a list of opt-outs in one transaction, each with the effects of
 * STOP but no reply, and events with actor "import" (one per number and one
 * for the whole import, naming `what`, e.g. the file).
 */
enum store_rc store_consent_import(struct store *st, const struct store_optout_import *rows,
                                   size_t n, const char *what, int64_t now,
                                   struct store_import_result *res, char *err, size_t err_size);

struct store_optout {
    const char *recipient, *keyword, *source;
    int64_t at;
};
enum store_rc store_optout_list(struct store *st,
                                void (*fn)(const struct store_optout *o, void *arg), void *arg,
                                char *err, size_t err_size);

struct store_inbound_row {
    int64_t id, received_at;
    const char *sender, *text, *route, *keyword;
    bool complete;
};
/* Newest first, at most `limit`. */
enum store_rc store_inbound_list(struct store *st, int limit,
                                 void (*fn)(const struct store_inbound_row *r, void *arg),
                                 void *arg, char *err, size_t err_size);

/*
 * Delivers, marked incomplete, long messages whose parts stopped coming before
 * `before`: at most STORE_INBOUND_EXPIRE_MAX per call. *n says how many, and
 * `ids` (NULL, or room for STORE_INBOUND_EXPIRE_MAX) gets their inbound ids.
 * With `consent` (or NULL), one that has its first part gets the keyword
 * handling of a complete one (a lost second part must not swallow a STOP);
 * one without it counts as a reply.
 */
#define STORE_INBOUND_EXPIRE_MAX 100
enum store_rc store_inbound_expire(struct store *st, int64_t before, int64_t now,
                                   const struct store_consent *consent, int *n, int64_t *ids,
                                   char *err, size_t err_size);

struct store_part {
    int index;
    enum part_state state;
    char *ref;
    char *receipt;               /* receipt detail (dlr state / error), or NULL */
    int64_t submitted_at, done_at;
};

struct store_message {
    int64_t id;
    char *to, *from, *body, *encoding, *source, *last_error, *campaign;
    char *route;                 /* the modem or bind that carried it, once dispatched */
    char *route_forced;          /* the one it must go by (send --route), or NULL */
    char *dlr_url;               /* Kannel dlr-url, or NULL */
    char *optout_keyword;        /* store_claim only: the recipient's opt-out keyword, or NULL */
    int dlr_mask;
    int segments, step, attempts;
    enum msg_state state;
    int64_t created_at, updated_at, sent_at, expires_at;
    struct store_part *parts;    /* filled by store_message_get only */
    size_t n_parts;
};

/* Reads one message with its parts. *out is freed with store_message_free(). */
enum store_rc store_message_get(struct store *st, int64_t id, struct store_message **out,
                                char *err, size_t err_size);
void store_message_free(struct store_message *m);
struct store_filter {
    bool has_state;
    enum msg_state state;
    const char *to;              /* E.164, or NULL */
    int limit;                   /* 0: 100 */
};

/* Newest first. Calls fn for each (without parts); fn's message is freed after it returns. */
enum store_rc store_messages_list(struct store *st, const struct store_filter *f,
                                  void (*fn)(const struct store_message *m, void *arg), void *arg,
                                  char *err, size_t err_size);

/* Counts of parts by state, and the creation time of the oldest queued message (0: none). */
enum store_rc store_part_counts(struct store *st, int64_t counts[PART_STATE_COUNT],
                                int64_t *oldest_queued, char *err, size_t err_size);

/* Counts of messages by state (queue depths). */
enum store_rc store_count_by_state(struct store *st, int64_t counts[MSG_STATE_COUNT],
                                   char *err, size_t err_size);

/* A driver as the running service last saw it (`homing status`). */
struct store_driver_status {
    const char *name, *kind, *state, *registration, *operator_name;
    bool up;
    int signal_dbm, in_flight;
    int64_t updated_at;          /* wall-clock Unix seconds of the service's write */
};

/* Replaces the whole table with `rows`, in one transaction. */
enum store_rc store_driver_status_write(struct store *st, const struct store_driver_status *rows,
                                        size_t n, int64_t wall_now, char *err, size_t err_size);
enum store_rc store_driver_status_list(struct store *st,
                                       void (*fn)(const struct store_driver_status *row, void *arg),
                                       void *arg, char *err, size_t err_size);

/*
 * The service clock under `homing run --time-scale`: the service writes its
 * virtual time, scale and the wall time of that reading on every tick, so CLI
 * commands that stamp times stay on the service's clock. Cleared when the
 * service runs in real time. store_clock_read() gives STORE_NOT_FOUND then.
 */
struct store_clock {
    int64_t virtual_ms;
    double scale;
    int64_t wall_ms;
};
enum store_rc store_clock_write(struct store *st, const struct store_clock *c,
                                char *err, size_t err_size);
enum store_rc store_clock_clear(struct store *st, char *err, size_t err_size);
enum store_rc store_clock_read(struct store *st, struct store_clock *c, char *err, size_t err_size);

/*
 * The outbox: HTTP calls (webhooks, Kannel dlr-url) to make, kept until the
 * endpoint has answered, so they survive restarts and failing endpoints.
 */
struct store_outbox_new {
    const char *kind;            /* "receipt", "inbound", "dlr" */
    const char *method;          /* "POST" (body is JSON) or "GET" (no body) */
    const char *url;
    const char *body;            /* or NULL */
    int64_t entity_id;           /* the message or inbound id it is about */
};

/* Commits one call to make, due now. */
enum store_rc store_outbox_add(struct store *st, const struct store_outbox_new *e, int64_t now,
                               int64_t *id, char *err, size_t err_size);

struct store_outbox_row {
    int64_t id, entity_id;
    char *kind, *method, *url, *body;   /* body may be NULL */
    int attempts;                       /* tries made before this one */
};

/*
 * Marks up to `max` due pending calls as sending and returns them, oldest due
 * first. Each row's strings are freed with store_outbox_row_clear().
 */
enum store_rc store_outbox_claim(struct store *st, int64_t now, struct store_outbox_row *rows,
                                 size_t max, size_t *n, char *err, size_t err_size);
void store_outbox_row_clear(struct store_outbox_row *row);

/* The call was answered: the row is deleted. */
enum store_rc store_outbox_done(struct store *st, int64_t id, char *err, size_t err_size);

/*
 * The try failed with `error`: counts it and makes the row due at `next_at`,
 * or marks it failed for good when `give_up`.
 */
enum store_rc store_outbox_retry(struct store *st, int64_t id, int64_t next_at, bool give_up,
                                 const char *error, int64_t now, char *err, size_t err_size);

/* At start-up: calls in flight when the service stopped are due again now. */
enum store_rc store_outbox_recover(struct store *st, int64_t now, int64_t *n,
                                   char *err, size_t err_size);

/* One received message, as stored (store_inbound_get). */
struct store_inbound {
    int64_t id, received_at;
    char *sender, *recipient, *text, *route;   /* recipient and route may be NULL */
    bool complete;
};

enum store_rc store_inbound_get(struct store *st, int64_t id, struct store_inbound *out,
                                char *err, size_t err_size);
void store_inbound_clear(struct store_inbound *in);

#endif
