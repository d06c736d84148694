/*
 * modem_priv: the state shared by modem.c (port, bring-up, health) and
 * modem_sms.c (sending, receiving, status reports). Internal to modem/.
 */
#ifndef HOMING_MODEM_PRIV_H
#define HOMING_MODEM_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/driver.h"
#include "gateway/phone.h"
#include "modem/at.h"
#include "modem/modem.h"
#include "modem/pdu.h"

enum modem_state {
    MODEM_CLOSED,        /* not open: waiting to (re)open */
    MODEM_INIT,          /* bring-up commands running */
    MODEM_READY,         /* sending and receiving */
    MODEM_RECOVERING,    /* stopped answering: climbing the ladder */
    MODEM_FAILED,        /* needs a person (wrong PIN, SIM locked) */
};

/* One segment waiting for, or in, AT+CMGS. */
struct modem_part {
    struct modem_part *next;
    struct modem *modem;
    int64_t msg_id;
    int index;
    char to[PHONE_E164_MAX];
    char pdu[PDU_HEX_MAX];
    int length;              /* the AT+CMGS argument */
};

/* A message taken from the core: counts its parts still unresolved. */
struct modem_msg {
    struct modem_msg *next;
    int64_t msg_id;
    int unresolved;
};

struct modem {
    char *name, *port, *pin, *smsc;
    int baud, sends_per_minute;
    int send_timeout_ms, prompt_timeout_ms, poll_ms;
    bool status_reports;
    struct loop *loop;
    struct driver_events ev;

    struct serial *serial;
    struct loop_event *read_ev, *write_ev, *at_timer, *poll_timer, *reopen_timer, *step_timer;
    struct loop_event *pace_timer;
    struct at_engine *at;
    char *out;               /* bytes for the modem not yet written */
    size_t out_len, out_cap;

    enum modem_state state;
    char state_text[160];
    int reopen_attempts;
    int init_step, cnmi_choice, at_tries;
    bool pin_sent;
    bool escape_sent;    /* this bring-up already sent ESC to close a stale "> " prompt */
    int timeouts_in_row, ladder_step;
    long unconfirmed;        /* parts handed on after their PDU went out unanswered */

    char manufacturer[64], model[64], imei[32], imsi[32];
    int signal_dbm;
    int creg_stat;           /* 27.007 <stat>: 1 home, 5 roaming ... -1 unknown */
    char operator_name[64];

    struct modem_part *parts_head, *parts_tail;
    struct modem_msg *msgs;
    int n_msgs;
    struct modem_part *sending; /* the part whose AT+CMGS is queued or in flight, or NULL */
    bool draining;           /* shutting down: no new work */
    at_done_fn *sweep_done;  /* bring-up continues here after the SIM sweep */
    int64_t next_send_ms;    /* sends_per_minute pacing */
};

/* modem.c */
void modem_set_state(struct modem *m, enum modem_state state, const char *text);
void modem_command(struct modem *m, const char *cmd, const char *expect, int timeout_ms,
                   at_done_fn *done);
void modem_command_pdu(struct modem *m, const char *cmd, const char *pdu, int timeout_ms,
                       at_done_fn *done, void *arg);
void modem_note_timeout(struct modem *m, const struct at_response *res);
/* Stopped answering: unhealthy at once, its waiting parts handed back, the ladder climbed. */
void modem_recover(struct modem *m, const char *why);
bool modem_registered(const struct modem *m);
/* Calls modem_sms_pump() again in `delay_ms` (the sends_per_minute pacing). */
void modem_pace(struct modem *m, int64_t delay_ms);

/* modem_sms.c */
void modem_sms_submit(struct modem *m, const struct driver_msg *msg);
void modem_sms_pump(struct modem *m);
/* Hands every part not yet sent back to the core (DRIVER_HANDBACK). */
void modem_sms_release(struct modem *m, const char *why);
/* Takes back the waiting parts to `to` (an opt-out), reported HANDBACK; returns how many. */
int modem_sms_withdraw(struct modem *m, const char *to);
void modem_sms_urc(struct modem *m, const struct at_urc_event *ev);
/* Reads and clears everything stored on the SIM; calls `done` when finished. */
void modem_sms_sweep(struct modem *m, at_done_fn *done);
void modem_sms_free(struct modem *m);

#endif
