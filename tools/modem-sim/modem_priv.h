/*
 * modem_priv: the modem's state, shared by the files that make up the modem
 * (modem.c: pty, I/O, URCs, SIM storage; at.c: AT commands; mctl.c: control
 * verbs). Nothing outside tools/modem-sim/modem*.c, at.c and mctl.c includes it.
 */
#ifndef MODEMSIM_MODEM_PRIV_H
#define MODEMSIM_MODEM_PRIV_H

#include "tools/modem-sim/modem.h"
#include "tools/modem-sim/simpdu.h"

#include <limits.h>
#include <stdbool.h>

#define MODEM_LINE_MAX 1024
#define MODEM_IN_MAX 8192
#define MODEM_OUT_MAX 65536

enum modem_input { MODEM_IN_COMMAND, MODEM_IN_PDU, MODEM_IN_BUSY };
enum modem_pin { MODEM_PIN_READY, MODEM_PIN_SIM_PIN, MODEM_PIN_SIM_PUK };
/* How an inbound message or report reaches the gateway. */
enum modem_route { MODEM_ROUTE_AUTO, MODEM_ROUTE_STORE, MODEM_ROUTE_DIRECT };

struct sim_slot {
    bool used;
    bool report;          /* an SMS-STATUS-REPORT rather than an SMS-DELIVER */
    int stat;             /* 0 REC UNREAD, 1 REC READ */
    int len;              /* TPDU octets */
    char hex[SIMPDU_MAX_HEX];
};

/* Settings AT&F / ATZ / a power cycle put back. */
struct modem_settings {
    bool echo;
    int cmee;
    int creg_n;
    int cnmi[5];
    int csms;
    int cfun;
    char cpms[3][4];
};

struct modem_counters {
    unsigned long commands;
    unsigned long submits;       /* accepted, answered +CMGS */
    unsigned long send_errors;   /* +CMS ERROR after a PDU, injected or not */
    unsigned long cancelled;     /* ESC at the prompt */
    unsigned long bad_pdus;      /* +CMS ERROR: 304 */
    unsigned long urcs;
    unsigned long urcs_dropped;  /* hung or unplugged */
    unsigned long inbound;       /* SMS-DELIVER parts injected */
    unsigned long reports;
    unsigned long plugs;
};

struct modem {
    struct event_base *base;
    char name[32];
    char path[PATH_MAX];
    char slave_name[64];
    int index;
    FILE *log;

    int master;                  /* -1 while unplugged */
    int slave_keep;              /* keeps the master usable between gateway opens */
    struct event *ev_read;
    struct event *ev_write;
    struct event *ev_latency;
    struct evbuffer *out;
    struct evbuffer *held;       /* URCs waiting for a command echo or the end of a PDU */

    char in[MODEM_IN_MAX];
    size_t in_len;
    enum modem_input input;
    int cmgs_len;
    char pdu[MODEM_LINE_MAX];
    size_t pdu_len;
    bool pdu_overflow;
    char pending[96];            /* final response held back by the send latency */
    struct simpdu_submit pending_submit;
    bool pending_ok;
    bool in_command;             /* URCs raised by a command follow its final result */

    struct modem_settings set;
    enum modem_pin pin_state;
    bool pin_enabled;
    char pin[16];
    char puk[16];
    int pin_tries;
    int puk_tries;
    int reg;                     /* what the network offers: +CREG stat */
    int csq;
    char op[32];
    char csca[24];
    struct sim_slot *slots;
    int nslots;
    int next_mr;
    int concat_ref;
    char sent_to[256][24];       /* destination of the last submit with each TP-MR */
    int cnma_pending;

    int fail_count;
    int fail_code;
    bool hung;
    enum { HANG_NEVER, HANG_AT_CMGS, HANG_AT_PDU } hang_at; /* a hang armed for the next send */
    bool plugged;
    bool defer_urcs;
    int latency_ms;

    struct modem_counters n;
};

/* modem.c */
void modem_write(struct modem *m, const char *data, size_t len);
void modem_urc(struct modem *m, const char *line, const char *pdu);
void modem_flush_held(struct modem *m);
void modem_reset_settings(struct modem *m);
int modem_creg_stat(const struct modem *m);
void modem_net_changed(struct modem *m, int old_stat);
int modem_store(struct modem *m, const char *hex, int len, bool report);
int modem_unplug(struct modem *m);
int modem_replug(struct modem *m, char *err, size_t errlen);
void modem_log_submit(struct modem *m, const struct simpdu_submit *s, int mr);

/* at.c */
void at_process(struct modem *m);
void at_latency_done(struct modem *m);

#endif
