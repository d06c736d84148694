/*
 * smpp_priv: what smpp.c (the driver: queue, window, receipts, inbound) and
 * smpp_conn.c (one TCP session: connect, bind, frames, keep-alive) share.
 * Nothing outside these two files includes it.
 */
#ifndef HOMING_SMPP_PRIV_H
#define HOMING_SMPP_PRIV_H

#include "gateway/smpp.h"

struct loop_event;

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_BINDING, CONN_BOUND };

/* One TCP session to the SMSC. */
struct smpp_conn {
    struct smpp *s;
    const char *role;            /* "transceiver", "transmitter" or "receiver" */
    uint32_t bind_cmd;
    bool sends;                  /* submits go out on it */
    enum conn_state state;
    int fd;
    struct loop_event *rd, *wr, *retry;
    uint8_t in[SMPP_PDU_MAX * 2];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap;
    bool corked;                 /* reading: what the answers let out is sent after, in one call */
    uint32_t seq, bind_seq, enquire_seq;
    int64_t state_ms;            /* when the current state began */
    int64_t enquire_sent_ms;     /* 0: none outstanding */
    int64_t enquire_last_ms;
    int failures;                /* connects or binds failed in a row */
    char status[200];            /* for homing status */
};

/*
 * A part queued or in the window, kept as its encoded submit_sm: about 200
 * octets where the struct it came from takes 1.5 KB, and a bind queues over a
 * hundred parts ahead of its window. The sequence number is written into the
 * PDU at each send.
 */
struct smpp_part {
    struct smpp_part *next;
    int64_t msg_id;
    int index;
    uint32_t seq;
    int64_t sent_ms;
    int throttled;               /* times the SMSC throttled it */
    bool receipt_asked;          /* registered_delivery set */
    char dest[SMPP_ADDR_MAX];    /* destination_addr, for withdrawals */
    size_t len;
    uint8_t pdu[];               /* len octets */
};

/* A receipt that came before the submit_sm_resp it refers to (SMSCs race them). */
struct smpp_early {
    bool used;
    char id[SMPP_ID_MAX];
    int state;                   /* enum driver_receipt */
    char detail[96];
    int64_t at_ms;
};
#define SMPP_EARLY_MAX 64

struct smpp {
    char *name, *host, *system_id, *password, *system_type, *from;
    int port;
    int window;
    enum smpp_concat concat;
    uint8_t data_coding;
    bool receipts;
    int receipt_part;            /* 0 all, 1 first, 2 last */
    enum smpp_id_mode id_mode;
    int64_t enquire_ms, response_ms, reconnect_max_ms;
    struct loop *loop;
    struct driver_events ev;
    struct smpp_conn *conns[2];  /* [0] sends (transceiver or transmitter), [1] receiver */
    int n_conns;
    struct smpp_part *queue, *queue_tail;
    int queued;
    bool draining;           /* shutting down: no new work */
    int64_t throttle_logged_ms; /* last "throttled" log line */
    struct smpp_part **win;      /* `window` slots, NULL when free */
    int in_window;
    long unconfirmed;            /* parts unanswered when a link went down (DRIVER_UNCONFIRMED) */
    struct smpp_rate rate;
    struct smpp_ids *ids;
    struct smpp_early early[SMPP_EARLY_MAX];
    uint16_t concat_ref;
    struct loop_event *tick;
    bool was_up, freed_room;
    char state_text[440];
};

/* --- smpp_conn.c -------------------------------------------------------------- */
struct smpp_conn *smpp_conn_new(struct smpp *s, const char *role, uint32_t bind_cmd, bool sends);
/* Unbinds (bounded wait) and closes. Accepts NULL. */
void smpp_conn_free(struct smpp_conn *c);
/* Queues bytes for the SMSC. */
void smpp_conn_send(struct smpp_conn *c, const uint8_t *buf, size_t len);
/* Sends a resp; logs when it cannot be encoded. */
void smpp_conn_resp(struct smpp_conn *c, uint32_t command_id, uint32_t status, uint32_t seq);
/* Closes the session and reconnects after a backoff. */
void smpp_conn_down(struct smpp_conn *c, const char *why);
/* Timeouts and keep-alive; called from the driver's tick. */
void smpp_conn_tick(struct smpp_conn *c, int64_t now_ms);
/* The next sequence number of this session. */
uint32_t smpp_conn_seq(struct smpp_conn *c);

/* --- smpp.c, called by smpp_conn.c ------------------------------------------------ */
/* The session is bound, or has gone down (its outstanding submits are failed). */
void smpp_on_bound(struct smpp *s, struct smpp_conn *c);
void smpp_on_lost(struct smpp *s, struct smpp_conn *c, const char *why);
/* submit_sm_resp, data_sm_resp, or a generic_nack: true if it answered a submit. */
bool smpp_on_submit_resp(struct smpp *s, struct smpp_conn *c, const struct smpp_pdu *p);
/* deliver_sm or data_sm from the SMSC; answers it. */
void smpp_on_deliver(struct smpp *s, struct smpp_conn *c, const struct smpp_pdu *p,
                     const uint8_t *raw, size_t raw_len);
/* After a batch of input: tells the core when health or room changed. */
void smpp_after_io(struct smpp *s);
/* The first `len` bytes of raw as hex (at most 64 of them, then "..."). */
const char *smpp_hex(const uint8_t *raw, size_t len, char *out, size_t size);

#endif
