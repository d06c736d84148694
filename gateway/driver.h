/*
 * driver: the contract between the core and whatever carries messages (a USB
 * modem, an SMPP bind). In the spirit of Kannel's bb_smscconn_cb.h: a small
 * set of calls each way, with ownership and failure reasons spelled out.
 *
 * Core -> driver: driver_ops. The core hands a driver a whole message; the
 * driver splits it the way its technology needs (PDUs for a modem, short
 * messages with UDH, SAR or payload for SMPP) and says how many parts it made.
 *
 * Driver -> core: driver_events. Every part the driver planned gets exactly
 * one result (submitted with a reference, temporary failure, or permanent
 * failure); receipts and inbound messages arrive whenever they come.
 */
#ifndef HOMING_DRIVER_H
#define HOMING_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRIVER_MAX_PARTS 255

/* A message for a driver. The driver copies what it keeps; the core owns these strings. */
struct driver_msg {
    int64_t id;
    const char *to;              /* E.164 */
    const char *from;            /* sender id or NULL for the route's default */
    const char *text;            /* UTF-8 */
    bool want_receipt;
    int64_t validity_s;          /* how long the network may keep trying */
    /* Parts already accepted on an earlier attempt: not to be sent again. */
    uint8_t skip[(DRIVER_MAX_PARTS + 8) / 8];
};

static inline bool driver_msg_skips(const struct driver_msg *m, int index)
{
    return (m->skip[index / 8] >> (index % 8)) & 1;
}

enum driver_result {
    DRIVER_SUBMITTED,            /* accepted by the modem or SMSC; ref names it */
    DRIVER_TEMPORARY,            /* try again later, maybe by another route */
    DRIVER_PERMANENT,            /* will never work (bad number, text refused ...) */
    /*
     * Given back unsent because the driver cannot send now (it stopped
     * answering, went down, is shutting down): not the message's fault, so
     * the core sends it again at once by another member of its route, and
     * counts no attempt.
     */
    DRIVER_HANDBACK,
    /*
     * As HANDBACK, but the part had been written to the modem or SMSC when it
     * stopped answering, so it may have been sent: going again elsewhere may
     * make a duplicate, which the driver counts (driver_health.unconfirmed).
     */
    DRIVER_UNCONFIRMED,
};

enum driver_receipt {
    DRIVER_RECEIPT_DELIVERED,
    DRIVER_RECEIPT_UNDELIVERED,  /* final: expired, rejected, deleted ... */
    DRIVER_RECEIPT_PENDING,      /* not final: the network is still trying */
};

struct driver_inbound {
    const char *driver;          /* modem or bind name */
    const char *from;            /* E.164 or alphanumeric */
    const char *to;              /* our number, if known, else NULL */
    const char *text;            /* this part's text, UTF-8 */
    bool concat;                 /* part of a long message */
    unsigned concat_ref, concat_total, concat_seq;
    int64_t sent_at;             /* the network's timestamp (SCTS), 0 if unknown */
};

struct driver_events {
    /* The driver split message `msg_id` into n parts (n >= 1). */
    void (*planned)(int64_t msg_id, int n_parts, const char *driver, void *arg);
    /* One result per planned part; `ref` for SUBMITTED, `error` otherwise. */
    void (*part)(int64_t msg_id, int index, enum driver_result result, const char *ref,
                 const char *error, void *arg);
    /* A delivery receipt for the part the driver referred to as `ref`. */
    void (*receipt)(const char *driver, const char *ref, const char *recipient,
                    enum driver_receipt state, const char *detail, void *arg);
    /*
     * A received message (or one part of a long one). Returns true once it is
     * committed to the store: only then may the driver delete it from the SIM
     * or acknowledge it to the SMSC.
     */
    bool (*inbound)(const struct driver_inbound *in, void *arg);
    /* Health or capacity changed: the dispatcher may have work for it now. */
    void (*ready)(const char *driver, void *arg);
    void *arg;
};

struct driver_health {
    bool up;                     /* can take work now */
    const char *state;           /* "ready", "initialising", "down: ...", for status */
    int signal_dbm;              /* modems; 0 if unknown */
    const char *registration;    /* modems: "home", "roaming", "searching" ... */
    const char *operator_name;   /* modems */
    int in_flight;               /* messages taken and not finished */
    long unconfirmed;            /* parts reported DRIVER_UNCONFIRMED since start */
};

struct driver_ops {
    /* Messages it can take right now (0 when down or full). */
    int (*free_slots)(void *self);
    /* Takes a message; results come back through driver_events. */
    void (*submit)(void *self, const struct driver_msg *m);
    void (*health)(void *self, struct driver_health *out);
    /*
     * Shutting down: take no more work, and hand back (as TEMPORARY) what has
     * not started yet; what is in flight still reports. May be NULL.
     */
    void (*drain)(void *self);
    /*
     * The recipient `to` (E.164) opted out: parts of theirs still waiting
     * inside the driver (queued for the window or the rate, or after a
     * throttle) are taken back and reported TEMPORARY, so the core's last look
     * before sending suppresses their message. What was already written to
     * the modem or SMSC is in flight and reports as usual. May be NULL.
     */
    void (*withdraw)(void *self, const char *to);
};

struct driver {
    const char *name;
    const char *kind;            /* "modem" or "smpp" */
    const struct driver_ops *ops;
    void *self;
};

#endif
