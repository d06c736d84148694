/*
 * modem: a modem's life: open the port, bring it up, keep an eye on it, and
 * recover it. Sending and receiving are in modem_sms.c.
 *
 * Bring-up is a table of steps run one after another through the AT engine;
 * a step's handler decides whether to go on, retry, try a fallback or fail.
 * A wrong SIM PIN is never retried: three wrong tries lock the SIM, and only
 * a person with the PUK can undo that.
 *
 * Recovery ladder, one rung per timeout in a row after the first:
 *   1. a plain "AT" (a modem that missed one command answers it),
 *   2. AT+CFUN=1,1 (function reset), then give it time to come back,
 *   3. close and reopen the port, and bring the modem up again,
 *   4. if even that finds it silent, reset its USB device (USBDEVFS_RESET).
 * An unplugged modem (read error or EOF) is closed and reopened with backoff
 * from 1 s to 30 s; a USB spec finds it again wherever it reappears.
 */
#include "modem/modem_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/log.h"
#include "gateway/loop.h"
#include "modem/serial.h"

#define AT_TICK_MS 100
#define REOPEN_MAX_MS 30000
#define POLL_TIMEOUT_MS 3000
#define CFUN_SETTLE_MS 8000

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static void start_bring_up(struct modem *m);
static void schedule_reopen(struct modem *m, int64_t delay_ms);

/* --- state ---------------------------------------------------------------- */

static const char *const state_names[] = { "closed", "initialising", "ready", "recovering",
                                           "failed" };

void modem_set_state(struct modem *m, enum modem_state state, const char *text)
{
    bool was_ready = m->state == MODEM_READY;
    m->state = state;
    snprintf(m->state_text, sizeof m->state_text, "%s%s%s", state_names[state],
             text && *text ? ": " : "", text ? text : "");
    if (was_ready != (state == MODEM_READY) && m->ev.ready)
        m->ev.ready(m->name, m->ev.arg);
}

bool modem_registered(const struct modem *m)
{
    return m->creg_stat == 1 || m->creg_stat == 5;
}

/* --- port I/O ------------------------------------------------------------- */

static void flush_out(struct modem *m)
{
    while (m->serial && m->out_len > 0) {
        ssize_t n = serial_write(m->serial, m->out, m->out_len);
        if (n <= 0)
            break; /* 0: full, wait for writable; -1: the read side notices it is gone */
        memmove(m->out, m->out + n, m->out_len - (size_t)n);
        m->out_len -= (size_t)n;
    }
    if (m->out_len > 0)
        loop_event_resume(m->write_ev);
    else
        loop_event_pause(m->write_ev);
}

static void at_write(const char *data, size_t len, void *arg)
{
    struct modem *m = arg;
    if (m->out_len + len > m->out_cap) {
        m->out_cap = (m->out_len + len) * 2;
        m->out = realloc(m->out, m->out_cap);
        if (!m->out)
            abort();
    }
    memcpy(m->out + m->out_len, data, len);
    m->out_len += len;
    flush_out(m);
}

static void close_port(struct modem *m)
{
    loop_event_free(m->read_ev);
    loop_event_free(m->write_ev);
    m->read_ev = m->write_ev = NULL;
    serial_close(m->serial);
    m->serial = NULL;
    m->out_len = 0;
}

/* The port is gone or being reopened: end all commands, hand back unsent work. */
static void lose_port(struct modem *m, const char *why, int64_t reopen_ms)
{
    log_warnx("modem=%s port=%s down: %s", m->name, m->port, why);
    close_port(m);
    m->creg_stat = -1;
    modem_set_state(m, MODEM_CLOSED, why);
    at_reset(m->at, AT_GONE);
    modem_sms_release(m, why);
    schedule_reopen(m, reopen_ms);
}

static void on_readable(void *arg)
{
    struct modem *m = arg;
    char buf[512];
    for (;;) {
        ssize_t n = serial_read(m->serial, buf, sizeof buf);
        if (n == 0)
            return;
        if (n < 0) {
            lose_port(m, "the port closed (unplugged?)", 1000);
            return;
        }
        at_input(m->at, buf, (size_t)n, clock_mono_ms());
        if (!m->serial)
            return; /* a handler closed the port */
    }
}

static void on_writable(void *arg)
{
    flush_out(arg);
}

static bool open_port(struct modem *m)
{
    char err[256];
    m->serial = serial_open(m->port, m->baud, err, sizeof err);
    if (!m->serial) {
        modem_set_state(m, MODEM_CLOSED, err);
        return false;
    }
    int fd = serial_fd(m->serial);
    m->read_ev = loop_fd_new(m->loop, fd, LOOP_READ, on_readable, m);
    m->write_ev = loop_fd_new(m->loop, fd, LOOP_WRITE, on_writable, m);
    log_info("modem=%s opened port=%s device=%s", m->name, m->port, serial_path(m->serial));
    return true;
}

static void on_reopen(void *arg)
{
    struct modem *m = arg;
    loop_event_free(m->reopen_timer);
    m->reopen_timer = NULL;
    if (!open_port(m)) {
        int64_t delay = 1000LL << (m->reopen_attempts < 5 ? m->reopen_attempts : 5);
        m->reopen_attempts++;
        if (m->reopen_attempts == 1 || m->reopen_attempts % 10 == 0)
            log_warnx("modem=%s cannot open: %s; retrying", m->name, m->state_text);
        schedule_reopen(m, delay < REOPEN_MAX_MS ? delay : REOPEN_MAX_MS);
        return;
    }
    m->reopen_attempts = 0;
    start_bring_up(m);
}

static void schedule_reopen(struct modem *m, int64_t delay_ms)
{
    loop_event_free(m->reopen_timer);
    m->reopen_timer = loop_timer_new(m->loop, delay_ms, 0, on_reopen, m);
}

/* --- commands ------------------------------------------------------------- */

void modem_command(struct modem *m, const char *cmd, const char *expect, int timeout_ms,
                   at_done_fn *done)
{
    struct at_request r = { .command = cmd, .expect = expect, .timeout_ms = timeout_ms,
                            .done = done, .arg = m };
    at_submit(m->at, &r, clock_mono_ms());
}

void modem_command_pdu(struct modem *m, const char *cmd, const char *pdu, int timeout_ms,
                       at_done_fn *done, void *arg)
{
    struct at_request r = { .command = cmd, .pdu = pdu, .expect = "+CMGS:",
                            .timeout_ms = timeout_ms, .prompt_timeout_ms = m->prompt_timeout_ms,
                            .done = done, .arg = arg };
    at_submit(m->at, &r, clock_mono_ms());
}

static void on_at_tick(void *arg)
{
    struct modem *m = arg;
    at_tick(m->at, clock_mono_ms());
    if (m->state == MODEM_READY)
        modem_sms_pump(m);
}

static void on_pace(void *arg)
{
    struct modem *m = arg;
    loop_event_free(m->pace_timer);
    m->pace_timer = NULL;
    modem_sms_pump(m);
}

void modem_pace(struct modem *m, int64_t delay_ms)
{
    if (!m->pace_timer)
        m->pace_timer = loop_timer_new(m->loop, delay_ms, 0, on_pace, m);
}

static void on_urc(const struct at_urc_event *ev, void *arg)
{
    struct modem *m = arg;
    if (ev->kind == AT_URC_CREG) {
        int stat = -1;
        const char *comma = strchr(ev->line, ',');
        /* URC form "+CREG: <stat>[,<lac>,<ci>]": the first number is the state. */
        if (sscanf(ev->line, "+CREG: %d", &stat) == 1) {
            bool was = modem_registered(m);
            m->creg_stat = stat;
            (void)comma;
            if (was != modem_registered(m)) {
                log_info("modem=%s registration=%s", m->name, modem_registered(m) ? "yes" : "lost");
                if (m->ev.ready)
                    m->ev.ready(m->name, m->ev.arg);
            }
        }
        return;
    }
    modem_sms_urc(m, ev);
}

static void on_noise(const char *line, void *arg)
{
    struct modem *m = arg;
    log_debug("modem=%s ignored line=\"%s\"", m->name, line);
}

/* --- health ---------------------------------------------------------------- */

static void parse_csq(struct modem *m, const struct at_response *res)
{
    int rssi, ber;
    if (res->n_lines > 0 && sscanf(res->lines[0], "+CSQ: %d,%d", &rssi, &ber) == 2)
        m->signal_dbm = rssi >= 0 && rssi <= 31 ? -113 + 2 * rssi : 0;
}

static void parse_creg(struct modem *m, const struct at_response *res)
{
    int n, stat;
    if (res->n_lines > 0 && sscanf(res->lines[0], "+CREG: %d,%d", &n, &stat) == 2)
        m->creg_stat = stat;
}

static void parse_cops(struct modem *m, const struct at_response *res)
{
    const char *q = res->n_lines > 0 ? strchr(res->lines[0], '"') : NULL;
    const char *end = q ? strchr(q + 1, '"') : NULL;
    if (q && end)
        snprintf(m->operator_name, sizeof m->operator_name, "%.*s", (int)(end - q - 1), q + 1);
}

static void on_poll_reply(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    if (res->status == AT_TIMEOUT) {
        modem_note_timeout(m, res);
        return;
    }
    if (res->status != AT_OK || res->n_lines == 0)
        return;
    bool was = modem_registered(m);
    if (strncmp(res->lines[0], "+CSQ:", 5) == 0)
        parse_csq(m, res);
    else if (strncmp(res->lines[0], "+CREG:", 6) == 0)
        parse_creg(m, res);
    if (was != modem_registered(m) && m->ev.ready)
        m->ev.ready(m->name, m->ev.arg);
    m->timeouts_in_row = 0;
}

static void on_poll(void *arg)
{
    struct modem *m = arg;
    if (m->state != MODEM_READY)
        return;
    modem_command(m, "AT+CSQ", "+CSQ:", POLL_TIMEOUT_MS, on_poll_reply);
    modem_command(m, "AT+CREG?", "+CREG:", POLL_TIMEOUT_MS, on_poll_reply);
}

static void on_ladder_reply(const struct at_response *res, void *arg);

static void on_cfun_settled(void *arg)
{
    struct modem *m = arg;
    loop_event_free(m->step_timer);
    m->step_timer = NULL;
    modem_command(m, "AT", NULL, 3000, on_ladder_reply);
}

static void climb_ladder(struct modem *m)
{
    m->ladder_step++;
    switch (m->ladder_step) {
    case 1:
        log_warnx("modem=%s stopped answering: recovery step 1, plain AT", m->name);
        modem_command(m, "AT", NULL, 3000, on_ladder_reply);
        break;
    case 2:
        log_warnx("modem=%s still silent: recovery step 2, function reset AT+CFUN=1,1", m->name);
        modem_command(m, "AT+CFUN=1,1", NULL, 5000, NULL);
        loop_event_free(m->step_timer);
        m->step_timer = loop_timer_new(m->loop, CFUN_SETTLE_MS, 0, on_cfun_settled, m);
        break;
    default:
        log_warnx("modem=%s still silent: recovery step 3, reopening the port", m->name);
        m->ladder_step = 3; /* bring-up after the reopen decides on step 4 */
        lose_port(m, "not answering; reopening", 500);
        break;
    }
}

static void on_ladder_reply(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    if (res->status == AT_GONE)
        return;
    if (res->status == AT_TIMEOUT) {
        climb_ladder(m);
        return;
    }
    log_info("modem=%s answers again after recovery step %d: bringing it up", m->name,
             m->ladder_step);
    m->ladder_step = 0;
    m->timeouts_in_row = 0;
    start_bring_up(m);
}

/* A poll may be lost on a busy modem: two unanswered in a row count as silence. */
void modem_note_timeout(struct modem *m, const struct at_response *res)
{
    (void)res;
    m->timeouts_in_row++;
    if (m->state != MODEM_READY || m->timeouts_in_row < 2)
        return;
    modem_recover(m, "not answering");
}

void modem_recover(struct modem *m, const char *why)
{
    if (m->state != MODEM_READY)
        return;
    modem_set_state(m, MODEM_RECOVERING, why);
    modem_sms_release(m, "modem not answering");
    at_reset(m->at, AT_GONE);
    climb_ladder(m);
}

/* --- bring-up -------------------------------------------------------------- */

static const char *const cnmi_choices[] = {
    "AT+CNMI=2,1,0,2,0",   /* store + +CMTI, status reports stored + +CDSI */
    "AT+CNMI=2,1,0,1,0",   /* status reports direct as +CDS */
    "AT+CNMI=1,1,0,2,0",
    "AT+CNMI=1,1,0,1,0",
    "AT+CNMI=2,1,0,0,0",   /* no status reports: receipts will not arrive */
};
#define N_CNMI (sizeof cnmi_choices / sizeof cnmi_choices[0])

enum step {
    STEP_AT, STEP_ECHO, STEP_CMEE, STEP_CPIN, STEP_CGMI, STEP_CGMM, STEP_CGSN, STEP_CIMI,
    STEP_CMGF, STEP_CSCA, STEP_CPMS, STEP_CNMI, STEP_CREG_URC, STEP_CREG, STEP_CSQ, STEP_COPS,
    STEP_SWEEP, STEP_DONE,
};

static void run_step(struct modem *m);

static void next_step(struct modem *m)
{
    m->init_step++;
    run_step(m);
}

static void copy_first_line(char *dst, size_t size, const struct at_response *res)
{
    if (res->status == AT_OK && res->n_lines > 0)
        snprintf(dst, size, "%s", res->lines[0]);
}

static void fail_modem(struct modem *m, const char *why)
{
    log_error("modem=%s failed: %s", m->name, why);
    modem_set_state(m, MODEM_FAILED, why);
    modem_sms_release(m, why);
}

static void on_pin_entered(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    if (res->status == AT_GONE)
        return;
    if (res->status != AT_OK) {
        fail_modem(m, "the SIM refused the PIN in modems[].pin; not retried, since three "
                      "wrong tries lock the SIM; fix the PIN and reload");
        return;
    }
    log_info("modem=%s SIM PIN accepted", m->name);
    run_step(m); /* AT+CPIN? again: READY now, or a failure that is not retried */
}

static void handle_cpin(struct modem *m, const struct at_response *res)
{
    const char *line = res->n_lines > 0 ? res->lines[0] : "";
    if (res->status == AT_OK && strstr(line, "READY")) {
        next_step(m);
    } else if (res->status == AT_OK && strstr(line, "SIM PIN") && !m->pin_sent) {
        if (!*m->pin) {
            fail_modem(m, "the SIM asks for a PIN and modems[].pin is empty");
            return;
        }
        char cmd[64];
        snprintf(cmd, sizeof cmd, "AT+CPIN=\"%s\"", m->pin);
        m->pin_sent = true;
        log_info("modem=%s entering the SIM PIN", m->name);
        modem_command(m, cmd, NULL, 10000, on_pin_entered);
    } else if (strstr(line, "SIM PIN")) {
        fail_modem(m, "the SIM still asks for its PIN after it was entered");
    } else if (strstr(line, "PUK")) {
        fail_modem(m, "the SIM is locked and needs its PUK (AT+CPIN=\"PUK\",\"NEWPIN\")");
    } else {
        fail_modem(m, res->status == AT_OK ? line : "the SIM state cannot be read (no SIM?)");
    }
}

static void handle_cnmi(struct modem *m, const struct at_response *res)
{
    if (res->status == AT_OK) {
        if (m->cnmi_choice == (int)N_CNMI - 1)
            log_warnx("modem=%s refuses status-report indications: no receipts", m->name);
        next_step(m);
    } else if (++m->cnmi_choice < (int)N_CNMI) {
        run_step(m);
    } else {
        log_warnx("modem=%s refuses every AT+CNMI setting: received messages are found by "
                  "polling only", m->name);
        next_step(m);
    }
}

static void on_sweep_done(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    (void)res;
    next_step(m);
}

static void reset_usb_device(struct modem *m)
{
    char err[256];
    m->ladder_step = 0;
    log_warnx("modem=%s silent after a reopen: recovery step 4, USB device reset", m->name);
    if (serial_usb_reset(serial_path(m->serial), err, sizeof err))
        log_info("modem=%s USB device reset; waiting for it to come back", m->name);
    else
        log_warnx("modem=%s no USB reset: %s", m->name, err);
}

static void on_step(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    if (res->status == AT_GONE)
        return;
    if (res->status == AT_TIMEOUT && m->init_step == STEP_AT && ++m->at_tries < 3) {
        run_step(m);
        return;
    }
    if (res->status == AT_TIMEOUT) {
        if (m->ladder_step >= 3)
            reset_usb_device(m);
        lose_port(m, "no answer during bring-up", 5000);
        return;
    }
    switch ((enum step)m->init_step) {
    case STEP_CPIN: handle_cpin(m, res); return;
    case STEP_CNMI: handle_cnmi(m, res); return;
    case STEP_CGMI: copy_first_line(m->manufacturer, sizeof m->manufacturer, res); break;
    case STEP_CGMM: copy_first_line(m->model, sizeof m->model, res); break;
    case STEP_CGSN: copy_first_line(m->imei, sizeof m->imei, res); break;
    case STEP_CIMI: copy_first_line(m->imsi, sizeof m->imsi, res); break;
    case STEP_CREG: parse_creg(m, res); break;
    case STEP_CSQ: parse_csq(m, res); break;
    case STEP_COPS: parse_cops(m, res); break;
    case STEP_CMGF:
        if (res->status != AT_OK) {
            fail_modem(m, "the modem refuses PDU mode (AT+CMGF=0)");
            return;
        }
        break;
    default:
        break; /* optional steps: an ERROR is logged at debug and ignored */
    }
    if (res->status != AT_OK)
        log_debug("modem=%s step=%d answered %s", m->name, m->init_step, res->final_line);
    next_step(m);
}

/* Whatever the answer to ESC (OK from a closed prompt, or none), try "AT" again. */
static void on_escape(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    if (res->status != AT_GONE)
        run_step(m);
}

static void finish_bring_up(struct modem *m)
{
    log_info("modem=%s ready manufacturer=\"%s\" model=\"%s\" imei=%s imsi=%.6s... signal=%ddBm "
             "registered=%s operator=\"%s\"", m->name, m->manufacturer, m->model, m->imei,
             m->imsi, m->signal_dbm, modem_registered(m) ? "yes" : "no", m->operator_name);
    m->timeouts_in_row = 0;
    m->ladder_step = 0;
    modem_set_state(m, MODEM_READY, NULL);
    modem_sms_pump(m);
}

static void run_step(struct modem *m)
{
    char cmd[80];
    switch ((enum step)m->init_step) {
    case STEP_AT:
        /*
         * A modem that keeps no answer to "AT" may still be at the "> " prompt
         * of an AT+CMGS a crashed predecessor left open, reading our commands
         * as PDU text: ESC closes the prompt (V.250 ignores it otherwise).
         */
        if (m->at_tries > 0 && !m->escape_sent) {
            m->escape_sent = true;
            modem_command(m, "\x1b", NULL, 1000, on_escape);
            break;
        }
        modem_command(m, "AT", NULL, 2000, on_step);
        break;
    case STEP_ECHO: modem_command(m, "ATE0", NULL, 5000, on_step); break;
    case STEP_CMEE: modem_command(m, "AT+CMEE=1", NULL, 5000, on_step); break;
    case STEP_CPIN: modem_command(m, "AT+CPIN?", "+CPIN:", 10000, on_step); break;
    case STEP_CGMI: modem_command(m, "AT+CGMI", NULL, 5000, on_step); break;
    case STEP_CGMM: modem_command(m, "AT+CGMM", NULL, 5000, on_step); break;
    case STEP_CGSN: modem_command(m, "AT+CGSN", NULL, 5000, on_step); break;
    case STEP_CIMI: modem_command(m, "AT+CIMI", NULL, 5000, on_step); break;
    case STEP_CMGF: modem_command(m, "AT+CMGF=0", NULL, 5000, on_step); break;
    case STEP_CSCA:
        if (!*m->smsc) {
            next_step(m);
            return;
        }
        snprintf(cmd, sizeof cmd, "AT+CSCA=\"%s\",%d", m->smsc, m->smsc[0] == '+' ? 145 : 129);
        modem_command(m, cmd, NULL, 5000, on_step);
        break;
    case STEP_CPMS:
        modem_command(m, "AT+CPMS=\"SM\",\"SM\",\"SM\"", "+CPMS:", 5000, on_step);
        break;
    case STEP_CNMI: modem_command(m, cnmi_choices[m->cnmi_choice], NULL, 5000, on_step); break;
    case STEP_CREG_URC: modem_command(m, "AT+CREG=1", NULL, 5000, on_step); break;
    case STEP_CREG: modem_command(m, "AT+CREG?", "+CREG:", 5000, on_step); break;
    case STEP_CSQ: modem_command(m, "AT+CSQ", "+CSQ:", 5000, on_step); break;
    case STEP_COPS: modem_command(m, "AT+COPS?", "+COPS:", 10000, on_step); break;
    case STEP_SWEEP: modem_sms_sweep(m, on_sweep_done); break;
    case STEP_DONE: finish_bring_up(m); break;
    }
}

static void start_bring_up(struct modem *m)
{
    modem_set_state(m, MODEM_INIT, NULL);
    m->init_step = STEP_AT;
    m->cnmi_choice = 0;
    m->at_tries = 0;
    m->pin_sent = false;
    m->escape_sent = false;
    run_step(m);
}

/* --- driver ---------------------------------------------------------------- */

static int modem_free_slots(void *self)
{
    struct modem *m = self;
    if (m->state != MODEM_READY || !modem_registered(m) || m->draining)
        return 0;
    /* Two messages: one being sent, one waiting, so the modem never idles. */
    return m->n_msgs < 2 ? 2 - m->n_msgs : 0;
}

static void modem_submit(void *self, const struct driver_msg *msg)
{
    modem_sms_submit(self, msg);
}

static const char *registration_name(int stat)
{
    switch (stat) {
    case 0: return "not registered";
    case 1: return "home";
    case 2: return "searching";
    case 3: return "denied";
    case 5: return "roaming";
    default: return "unknown";
    }
}

static void modem_health(void *self, struct driver_health *out)
{
    struct modem *m = self;
    out->up = m->state == MODEM_READY && modem_registered(m);
    out->state = m->state_text;
    out->signal_dbm = m->signal_dbm;
    out->registration = registration_name(m->creg_stat);
    out->operator_name = m->operator_name;
    out->in_flight = m->n_msgs;
    out->unconfirmed = m->unconfirmed;
}

static void modem_drain(void *self)
{
    struct modem *m = self;
    m->draining = true;
    modem_sms_release(m, "homing is shutting down");
}

static void modem_withdraw(void *self, const char *to)
{
    struct modem *m = self;
    int n = modem_sms_withdraw(m, to);
    if (n)
        log_info("modem=%s withdrew %d waiting part(s) after an opt-out", m->name, n);
}

static const struct driver_ops modem_ops = {
    .free_slots = modem_free_slots, .submit = modem_submit, .health = modem_health,
    .drain = modem_drain, .withdraw = modem_withdraw,
};

struct driver modem_driver(struct modem *m)
{
    struct driver d = { .name = m->name, .kind = "modem", .ops = &modem_ops, .self = m };
    return d;
}

struct modem *modem_new(const struct conf_modem *cfg, struct loop *loop,
                        const struct driver_events *events)
{
    struct modem *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->name = xstrdup(cfg->name);
    m->port = xstrdup(cfg->port);
    m->pin = xstrdup(cfg->pin);
    m->smsc = xstrdup(cfg->smsc);
    m->baud = (int)cfg->baud;
    m->sends_per_minute = (int)cfg->sends_per_minute;
    m->status_reports = cfg->status_reports;
    m->send_timeout_ms = (int)cfg->send_timeout * 1000;
    m->prompt_timeout_ms = (int)cfg->prompt_timeout * 1000;
    m->poll_ms = (int)cfg->poll * 1000;
    m->loop = loop;
    m->ev = *events;
    m->creg_stat = -1;
    struct at_io io = { .write = at_write, .urc = on_urc, .noise = on_noise, .arg = m };
    m->at = at_new(&io);
    m->at_timer = loop_timer_new(loop, AT_TICK_MS, 1, on_at_tick, m);
    m->poll_timer = loop_timer_new(loop, m->poll_ms, 1, on_poll, m);
    modem_set_state(m, MODEM_CLOSED, "opening");
    schedule_reopen(m, 0);
    return m;
}

void modem_free(struct modem *m)
{
    if (!m)
        return;
    loop_event_free(m->at_timer);
    loop_event_free(m->poll_timer);
    loop_event_free(m->reopen_timer);
    loop_event_free(m->step_timer);
    loop_event_free(m->pace_timer);
    close_port(m);
    m->ev.ready = NULL; /* no callbacks into a core that is shutting down */
    at_free(m->at);
    modem_sms_free(m);
    free(m->out);
    free(m->name);
    free(m->port);
    free(m->pin);
    free(m->smsc);
    free(m);
}
