/*
 * smpp: the driver side of an SMPP bind: messages in, parts out through a
 * window and a rate, results, receipts and received messages back to the
 * core. The sessions themselves are in smpp_conn.c.
 *
 * A message is split at once (smpp_text_encode, per the bind's concat) and
 * its parts wait in a queue; pump() moves them into the window while the
 * sending session is bound, the window has room and the rate has a token.
 * Each submit_sm_resp reports its part: ROK -> SUBMITTED with the
 * message_id as ref; ESME_RTHROTTLED / ESME_RMSGQFUL -> the rate is cut and
 * the part goes back to the head of the queue (after 10 throttles it is
 * reported TEMPORARY, so the core may try another route); other statuses
 * per smpp_status_temporary(). A submit unanswered within response_timeout
 * is reported TEMPORARY. When the sending session goes down every part in
 * the window and in the queue is reported TEMPORARY: the core retries them,
 * so a part the SMSC took but never answered may go twice (at-least-once).
 *
 * free_slots offers the window and QUEUE_AHEAD parts more, minus what is
 * queued or outstanding, so a queue is ready whenever a response frees a
 * slot, and deep enough to keep the window full while the dispatcher
 * gathers a few milliseconds of reports into one transaction (dispatch.c
 * TURN_GATHER_MS: at 25,000 a second, 2 ms is 50 parts).
 */
#include "gateway/smpp_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/log.h"
#include "gateway/loop.h"

#define TICK_MS 50
#define QUEUE_AHEAD 128
#define IDS_REMEMBERED 100000
#define THROTTLE_RETRIES 10
#define MO_TEXT_MAX 4096

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static struct smpp_conn *sender(struct smpp *s)
{
    return s->conns[0];
}

static bool is_up(const struct smpp *s)
{
    return s->conns[0]->state == CONN_BOUND;
}

/* --- reporting ------------------------------------------------------------- */

static void report(struct smpp *s, struct smpp_part *p, enum driver_result r, const char *ref,
                   const char *error)
{
    s->ev.part(p->msg_id, p->index, r, ref, error, s->ev.arg);
    free(p);
}

static void enqueue(struct smpp *s, struct smpp_part *p, bool at_head)
{
    if (at_head) {
        p->next = s->queue;
        s->queue = p;
        if (!s->queue_tail)
            s->queue_tail = p;
    } else {
        p->next = NULL;
        if (s->queue_tail)
            s->queue_tail->next = p;
        else
            s->queue = p;
        s->queue_tail = p;
    }
    s->queued++;
}

static struct smpp_part *dequeue(struct smpp *s)
{
    struct smpp_part *p = s->queue;
    if (!p)
        return NULL;
    s->queue = p->next;
    if (!s->queue)
        s->queue_tail = NULL;
    s->queued--;
    return p;
}

/* Takes the part whose submit had sequence number seq out of the window. */
static struct smpp_part *window_take(struct smpp *s, uint32_t seq)
{
    for (int i = 0; i < s->window; i++) {
        struct smpp_part *p = s->win[i];
        if (p && p->seq == seq) {
            s->win[i] = NULL;
            s->in_window--;
            s->freed_room = true;
            return p;
        }
    }
    return NULL;
}

static void window_put(struct smpp *s, struct smpp_part *p)
{
    for (int i = 0; i < s->window; i++) {
        if (!s->win[i]) {
            s->win[i] = p;
            s->in_window++;
            return;
        }
    }
    abort(); /* pump() checks for room first */
}

/* --- sending ------------------------------------------------------------- */

static void send_part(struct smpp *s, struct smpp_part *p)
{
    struct smpp_conn *c = sender(s);
    p->seq = smpp_conn_seq(c);
    uint8_t *seq = p->pdu + 12; /* the header's sequence_number, big endian */
    seq[0] = (uint8_t)(p->seq >> 24);
    seq[1] = (uint8_t)(p->seq >> 16);
    seq[2] = (uint8_t)(p->seq >> 8);
    seq[3] = (uint8_t)p->seq;
    p->sent_ms = clock_mono_ms();
    window_put(s, p);
    smpp_conn_send(c, p->pdu, p->len);
}

static void pump(struct smpp *s)
{
    int64_t now = clock_mono_ms();
    while (s->queue && is_up(s) && s->in_window < s->window && smpp_rate_take(&s->rate, now))
        send_part(s, dequeue(s));
}

static bool wants_receipt(const struct smpp *s, const struct driver_msg *m, int i, int n)
{
    if (!s->receipts || !m->want_receipt)
        return false;
    return s->receipt_part == 0 || (s->receipt_part == 1 && i == 0) ||
           (s->receipt_part == 2 && i == n - 1);
}

/*
 * Part i of a message, encoded (sequence number 1 until it is sent). NULL when
 * it cannot be encoded: then it is reported failed.
 */
static struct smpp_part *new_part(struct smpp *s, int64_t msg_id, int i,
                                  const struct smpp_text *t, const struct smpp_sm *common,
                                  bool receipt)
{
    static struct smpp_sm sm; /* 1.5 KB: one at a time on the one loop thread */
    uint8_t buf[SMPP_PDU_MAX + 1];
    char err[SMPP_ERROR_MAX];
    sm = *common;
    sm.registered_delivery = receipt ? 1 : 0;
    smpp_text_apply(t, (unsigned)i, &sm);
    int n = smpp_encode_sm(SMPP_SUBMIT_SM, &sm, 1, buf, sizeof buf, err, sizeof err);
    struct smpp_part *p = calloc(1, sizeof *p + (n > 0 ? (size_t)n : 0));
    if (!p)
        abort();
    p->msg_id = msg_id;
    p->index = i;
    if (n < 0) {
        log_warnx("bind=%s msg=%lld part=%d cannot be encoded: %s", s->name,
                  (long long)msg_id, i + 1, err);
        report(s, p, DRIVER_PERMANENT, NULL, err);
        return NULL;
    }
    p->receipt_asked = receipt;
    snprintf(p->dest, sizeof p->dest, "%s", sm.dest.addr);
    p->len = (size_t)n;
    memcpy(p->pdu, buf, p->len);
    return p;
}

/* The fields every part of m shares; -1 with err when an address is unusable. */
static int fill_common(struct smpp *s, const struct driver_msg *m, struct smpp_sm *sm, char *err,
                       size_t errsz)
{
    const char *from = m->from && *m->from ? m->from : s->from;
    if (*from && smpp_addr_from_text(from, &sm->source, err, errsz) != 0)
        return -1;
    if (smpp_addr_from_text(m->to, &sm->dest, err, errsz) != 0)
        return -1;
    if (m->validity_s > 0)
        smpp_validity_relative((uint64_t)m->validity_s, sm->validity_period);
    return 0;
}

static void plan_failed(struct smpp *s, const struct driver_msg *m, const char *err)
{
    log_warnx("bind=%s msg=%lld cannot be sent: %s", s->name, (long long)m->id, err);
    s->ev.planned(m->id, 1, s->name, s->ev.arg);
    if (!driver_msg_skips(m, 0))
        s->ev.part(m->id, 0, DRIVER_PERMANENT, NULL, err, s->ev.arg);
}

static void smpp_submit(void *self, const struct driver_msg *m)
{
    struct smpp *s = self;
    static struct smpp_text t; /* 41 KB: one at a time on the one loop thread */
    struct smpp_sm common = { 0 };
    char err[SMPP_ERROR_MAX];
    struct smpp_text_options opt = { .concat = s->concat, .data_coding = s->data_coding,
                                     .max_parts = DRIVER_MAX_PARTS, .ref = ++s->concat_ref };
    if (fill_common(s, m, &common, err, sizeof err) != 0 ||
        smpp_text_encode(m->text, strlen(m->text), &opt, &t, err, sizeof err) != 0) {
        plan_failed(s, m, err);
        return;
    }
    int n = (int)t.nparts;
    s->ev.planned(m->id, n, s->name, s->ev.arg);
    for (int i = 0; i < n; i++) {
        if (driver_msg_skips(m, i))
            continue;
        struct smpp_part *p = new_part(s, m->id, i, &t, &common, wants_receipt(s, m, i, n));
        if (!p)
            continue; /* reported */
        if (is_up(s))
            enqueue(s, p, false);
        else
            report(s, p, DRIVER_HANDBACK, NULL, "bind down");
    }
    pump(s);
}

/* --- receipts ahead of their submit_sm_resp ------------------------------------ */

static void early_report(struct smpp *s, struct smpp_early *e, const char *ref)
{
    e->used = false;
    s->ev.receipt(s->name, ref, NULL, (enum driver_receipt)e->state, e->detail, s->ev.arg);
}

static void early_report_guess(struct smpp *s, struct smpp_early *e)
{
    char guess[SMPP_ID_MAX * 3];
    early_report(s, e, smpp_ids_guess(s->id_mode, e->id, guess, sizeof guess));
}

/* Keeps a receipt that matches no submit yet while submits are outstanding. */
static void early_keep(struct smpp *s, const char *id, enum driver_receipt state,
                       const char *detail)
{
    struct smpp_early *slot = &s->early[0];
    for (int i = 0; i < SMPP_EARLY_MAX; i++) {
        if (!s->early[i].used) {
            slot = &s->early[i];
            break;
        }
        if (s->early[i].at_ms < slot->at_ms)
            slot = &s->early[i];
    }
    if (slot->used)
        early_report_guess(s, slot); /* full: the oldest goes as it is */
    *slot = (struct smpp_early){ .used = true, .state = (int)state, .at_ms = clock_mono_ms() };
    snprintf(slot->id, sizeof slot->id, "%s", id);
    snprintf(slot->detail, sizeof slot->detail, "%s", detail);
    log_debug("bind=%s receipt id=%s came before its submit_sm_resp: kept", s->name, id);
}

static void early_match(struct smpp *s)
{
    for (int i = 0; i < SMPP_EARLY_MAX; i++) {
        const char *ref;
        if (s->early[i].used && (ref = smpp_ids_find(s->ids, s->early[i].id)))
            early_report(s, &s->early[i], ref);
    }
}

/* Kept longer than a submit may wait for its answer: no submit of ours. */
static void early_expire(struct smpp *s, int64_t now, bool all)
{
    for (int i = 0; i < SMPP_EARLY_MAX; i++)
        if (s->early[i].used && (all || now - s->early[i].at_ms > s->response_ms))
            early_report_guess(s, &s->early[i]);
}

/* --- answers to submits ------------------------------------------------------ */

static void on_throttled(struct smpp *s, struct smpp_part *p, const char *why)
{
    int64_t now = clock_mono_ms();
    if (now - s->throttle_logged_ms >= 1000) { /* at most a line a second under load */
        s->throttle_logged_ms = now;
        log_info("bind=%s throttled by the SMSC (%s): resubmitting; rate %.1f/s", s->name, why,
                 s->rate.current);
    }
    if (++p->throttled > THROTTLE_RETRIES) {
        report(s, p, DRIVER_TEMPORARY, NULL, why);
        return;
    }
    enqueue(s, p, true);
}

bool smpp_on_submit_resp(struct smpp *s, struct smpp_conn *c, const struct smpp_pdu *pdu)
{
    if (!c->sends || c->state != CONN_BOUND)
        return false;
    struct smpp_part *p = window_take(s, pdu->h.sequence_number);
    if (!p)
        return false;
    uint32_t st = pdu->h.command_status;
    if (smpp_rate_answer(&s->rate, clock_mono_ms(), smpp_status_throttle(st)))
        log_info("bind=%s throttled by the SMSC: rate now %.1f/s", s->name, s->rate.current);
    char why[SMPP_ERROR_MAX + 32], text[SMPP_ERROR_MAX];
    if (pdu->h.command_id == SMPP_GENERIC_NACK || st != SMPP_ESME_ROK) { /* not on success */
        smpp_status_text(st, text, sizeof text);
        snprintf(why, sizeof why, "%s %s", smpp_command_name(pdu->h.command_id), text);
    }
    if (pdu->h.command_id == SMPP_GENERIC_NACK) {
        report(s, p, DRIVER_TEMPORARY, NULL, why);
    } else if (st == SMPP_ESME_ROK && pdu->message_id[0]) {
        log_debug("bind=%s msg=%lld part=%d submitted ref=%s", s->name, (long long)p->msg_id,
                  p->index + 1, pdu->message_id);
        bool receipt_asked = p->receipt_asked;
        report(s, p, DRIVER_SUBMITTED, pdu->message_id, NULL); /* frees p */
        if (receipt_asked) /* only ids a receipt will name are worth the memory */
            smpp_ids_add(s->ids, pdu->message_id);
        early_match(s); /* after the part is recorded with its ref */
    } else if (st == SMPP_ESME_ROK) {
        report(s, p, DRIVER_TEMPORARY, NULL, "submit_sm_resp without a message_id");
    } else if (smpp_status_throttle(st)) {
        on_throttled(s, p, why);
    } else {
        report(s, p, smpp_status_temporary(st) ? DRIVER_TEMPORARY : DRIVER_PERMANENT, NULL, why);
    }
    pump(s);
    return true;
}

/* Submits unanswered for longer than response_timeout. */
static void expire_window(struct smpp *s, int64_t now)
{
    char why[80];
    for (int i = 0; i < s->window; i++) {
        struct smpp_part *p = s->win[i];
        if (!p || now - p->sent_ms <= s->response_ms)
            continue;
        s->win[i] = NULL;
        s->in_window--;
        s->freed_room = true;
        snprintf(why, sizeof why, "no submit_sm_resp within %llds",
                 (long long)(s->response_ms / 1000));
        log_warnx("bind=%s msg=%lld part=%d: %s", s->name, (long long)p->msg_id, p->index + 1,
                  why);
        report(s, p, DRIVER_TEMPORARY, NULL, why);
    }
}

/* --- session events ---------------------------------------------------------- */

void smpp_on_bound(struct smpp *s, struct smpp_conn *c)
{
    if (c->sends)
        smpp_rate_init(&s->rate, s->rate.configured, clock_mono_ms());
}

void smpp_on_lost(struct smpp *s, struct smpp_conn *c, const char *why)
{
    if (!c->sends)
        return;
    char text[240];
    snprintf(text, sizeof text, "link lost: %s", why);
    int lost = 0;
    for (int i = 0; i < s->window; i++) {
        struct smpp_part *p = s->win[i];
        if (!p)
            continue;
        s->win[i] = NULL;
        s->in_window--;
        lost++;
        report(s, p, DRIVER_UNCONFIRMED, NULL, text); /* the SMSC may have taken it */
    }
    s->unconfirmed += lost;
    for (struct smpp_part *p; (p = dequeue(s));)
        report(s, p, DRIVER_HANDBACK, NULL, text);
    early_expire(s, 0, true); /* their submit_sm_resp will never come */
    if (lost > 0)
        log_warnx("bind=%s %d submits unanswered when the link went down: sent again by another "
                  "route member, as possible duplicates", s->name, lost);
}

/* --- receipts and received messages ---------------------------------------- */

static bool is_receipt(const struct smpp_sm *sm)
{
    uint8_t type = sm->esm_class & 0x3C;
    return type == SMPP_ESM_RECEIPT || type == 0x20 /* intermediate notification */ ||
           sm->has_receipted_id;
}

static void on_receipt(struct smpp *s, const struct smpp_sm *sm, const char *text)
{
    struct smpp_receipt r = { .sub = -1 };
    bool parsed = smpp_receipt_parse(text, strlen(text), &r) == 0;
    const char *id = sm->has_receipted_id ? sm->receipted_message_id : r.id;
    enum smpp_msg_state state = SMPP_STATE_UNKNOWN;
    if (sm->has_message_state)
        state = (enum smpp_msg_state)sm->message_state;
    else if (r.has_state)
        state = r.state;
    if (!*id || (!sm->has_message_state && !parsed)) {
        log_warnx("bind=%s receipt without an id or a state: ignored", s->name);
        return;
    }
    char guess[SMPP_ID_MAX * 3], detail[96];
    snprintf(detail, sizeof detail, "%s%s%s", smpp_state_name(state), r.err[0] ? " err:" : "",
             r.err);
    static const enum driver_receipt outcomes[] = {
        [SMPP_OUTCOME_PENDING] = DRIVER_RECEIPT_PENDING,
        [SMPP_OUTCOME_DELIVERED] = DRIVER_RECEIPT_DELIVERED,
        [SMPP_OUTCOME_UNDELIVERED] = DRIVER_RECEIPT_UNDELIVERED,
    };
    enum driver_receipt outcome = outcomes[smpp_state_outcome(state)];
    const char *ref = smpp_ids_find(s->ids, id);
    if (!ref && s->in_window > 0) {
        early_keep(s, id, outcome, detail);
        return;
    }
    if (!ref)
        ref = smpp_ids_guess(s->id_mode, id, guess, sizeof guess);
    log_debug("bind=%s receipt id=%s ref=%s %s", s->name, id, ref, detail);
    s->ev.receipt(s->name, ref, NULL, outcome, detail, s->ev.arg);
}

static void addr_text(const struct smpp_addr *a, char *out, size_t size)
{
    bool plus = a->ton == 1 && a->addr[0] && a->addr[0] != '+';
    snprintf(out, size, "%s%s", plus ? "+" : "", a->addr);
}

/* A received message: true once the core has committed it. */
static bool on_mo(struct smpp *s, const struct smpp_sm *sm, const char *text,
                  const struct smpp_concat_info *ci)
{
    char from[SMPP_ADDR_MAX + 1], to[SMPP_ADDR_MAX + 1];
    addr_text(&sm->source, from, sizeof from);
    addr_text(&sm->dest, to, sizeof to);
    struct driver_inbound in = {
        .driver = s->name, .from = from, .to = to[0] ? to : NULL, .text = text,
        .concat = ci->present && ci->total > 1, .concat_ref = ci->ref,
        .concat_total = ci->total, .concat_seq = ci->seq,
    };
    return s->ev.inbound(&in, s->ev.arg);
}

void smpp_on_deliver(struct smpp *s, struct smpp_conn *c, const struct smpp_pdu *p,
                     const uint8_t *raw, size_t raw_len)
{
    static char text[MO_TEXT_MAX];
    char err[SMPP_ERROR_MAX], hex[160];
    struct smpp_concat_info ci = { 0 };
    uint32_t status = SMPP_ESME_ROK;
    bool receipt = is_receipt(&p->sm);
    if (smpp_sm_text(&p->sm, text, sizeof text, &ci, err, sizeof err) < 0) {
        log_error("bind=%s %s %s cannot be decoded: %s hex=%s", s->name,
                  smpp_command_name(p->h.command_id), receipt ? "receipt" : "message", err,
                  smpp_hex(raw, raw_len, hex, sizeof hex));
        text[0] = '\0';
        if (!receipt)
            status = 0x65; /* ESME_RX_P_APPN: permanent, do not send it again */
    }
    if (receipt)
        on_receipt(s, &p->sm, text);
    else if (status == SMPP_ESME_ROK && !on_mo(s, &p->sm, text, &ci))
        status = SMPP_ESME_RX_T_APPN; /* not stored: the SMSC should try again */
    smpp_conn_resp(c, p->h.command_id | SMPP_RESP_BIT, status, p->h.sequence_number);
}

/* --- health -------------------------------------------------------------- */

static int smpp_free_slots(void *self)
{
    struct smpp *s = self;
    if (!is_up(s) || s->draining)
        return 0;
    int room = s->window + QUEUE_AHEAD - s->in_window - s->queued;
    return room > 0 ? room : 0;
}

static void smpp_health(void *self, struct driver_health *out)
{
    struct smpp *s = self;
    out->up = is_up(s);
    if (s->n_conns == 1)
        snprintf(s->state_text, sizeof s->state_text, "%s", s->conns[0]->status);
    else if (s->conns[0]->state == CONN_BOUND && s->conns[1]->state == CONN_BOUND)
        snprintf(s->state_text, sizeof s->state_text, "bound (transmitter+receiver)");
    else
        snprintf(s->state_text, sizeof s->state_text, "transmitter: %s; receiver: %s",
                 s->conns[0]->status, s->conns[1]->status);
    out->state = s->state_text;
    out->in_flight = s->in_window + s->queued;
    out->unconfirmed = s->unconfirmed;
}

void smpp_after_io(struct smpp *s)
{
    bool up = is_up(s);
    bool tell = up != s->was_up || (up && s->freed_room && smpp_free_slots(s) > 0);
    s->was_up = up;
    s->freed_room = false;
    if (tell && s->ev.ready)
        s->ev.ready(s->name, s->ev.arg);
}

static void on_tick(void *arg)
{
    struct smpp *s = arg;
    int64_t now = clock_mono_ms();
    for (int i = 0; i < s->n_conns; i++)
        smpp_conn_tick(s->conns[i], now);
    expire_window(s, now);
    early_expire(s, now, false);
    pump(s);
    smpp_after_io(s);
}

/* --- life cycle ------------------------------------------------------------- */

static void smpp_drain(void *self)
{
    struct smpp *s = self;
    s->draining = true;
    for (struct smpp_part *p; (p = dequeue(s));)
        report(s, p, DRIVER_HANDBACK, NULL, "homing is shutting down");
}

/* Whether a part is addressed to `to` (E.164; the part's address may lack the '+'). */
static bool part_to(const struct smpp_part *p, const char *to)
{
    const char *a = p->dest;
    return strcmp(a, to) == 0 || (to[0] == '+' && a[0] != '+' && strcmp(a, to + 1) == 0);
}

static void smpp_withdraw(void *self, const char *to)
{
    struct smpp *s = self;
    struct smpp_part *keep = NULL, *keep_tail = NULL;
    int withdrawn = 0;
    for (struct smpp_part *p; (p = dequeue(s));) {
        if (part_to(p, to)) {
            report(s, p, DRIVER_HANDBACK, NULL, "withdrawn: the recipient opted out");
            withdrawn++;
            continue;
        }
        p->next = NULL;
        if (keep_tail)
            keep_tail->next = p;
        else
            keep = p;
        keep_tail = p;
    }
    for (struct smpp_part *p = keep, *next; p; p = next) {
        next = p->next;
        enqueue(s, p, false); /* the others keep their order */
    }
    if (withdrawn)
        log_info("bind=%s withdrew %d queued part(s) after an opt-out", s->name, withdrawn);
}

static const struct driver_ops smpp_ops = {
    .free_slots = smpp_free_slots, .submit = smpp_submit, .health = smpp_health,
    .drain = smpp_drain, .withdraw = smpp_withdraw,
};

static void copy_conf(struct smpp *s, const struct conf_smpp *cfg)
{
    s->name = xstrdup(cfg->name);
    s->host = xstrdup(cfg->host);
    s->system_id = xstrdup(cfg->system_id);
    s->password = xstrdup(cfg->password);
    s->system_type = xstrdup(cfg->system_type);
    s->from = xstrdup(cfg->from);
    s->port = (int)cfg->port;
    s->window = (int)cfg->window;
    s->receipts = cfg->receipts;
    s->enquire_ms = cfg->enquire_link * 1000;
    s->response_ms = cfg->response_timeout * 1000;
    s->reconnect_max_ms = cfg->reconnect_max * 1000;
    if (smpp_concat_parse(cfg->concat, &s->concat) != 0)
        s->concat = SMPP_CONCAT_UDH;
    if (smpp_id_mode_parse(cfg->ids, &s->id_mode) != 0)
        s->id_mode = SMPP_ID_AUTO;
    s->receipt_part = strcmp(cfg->receipt_part, "first") == 0  ? 1
                      : strcmp(cfg->receipt_part, "last") == 0 ? 2 : 0;
    s->data_coding = strcmp(cfg->data_coding, "latin1") == 0 ? SMPP_DC_LATIN1
                     : strcmp(cfg->data_coding, "ucs2") == 0 ? SMPP_DC_UCS2 : SMPP_DC_AUTO;
}

struct smpp *smpp_new(const struct conf_smpp *cfg, struct loop *loop,
                      const struct driver_events *events)
{
    struct smpp *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    copy_conf(s, cfg);
    s->loop = loop;
    s->ev = *events;
    s->win = calloc((size_t)s->window, sizeof *s->win);
    if (!s->win)
        abort();
    s->ids = smpp_ids_new(s->id_mode, IDS_REMEMBERED);
    smpp_rate_init(&s->rate, (double)cfg->tps, clock_mono_ms());
    s->concat_ref = (uint16_t)random();
    if (strcmp(cfg->bind, "transmitter+receiver") == 0) {
        s->conns[0] = smpp_conn_new(s, "transmitter", SMPP_BIND_TRANSMITTER, true);
        s->conns[1] = smpp_conn_new(s, "receiver", SMPP_BIND_RECEIVER, false);
        s->n_conns = 2;
    } else {
        s->conns[0] = smpp_conn_new(s, "transceiver", SMPP_BIND_TRANSCEIVER, true);
        s->n_conns = 1;
    }
    s->tick = loop_timer_new(loop, TICK_MS, 1, on_tick, s);
    return s;
}

void smpp_free(struct smpp *s)
{
    if (!s)
        return;
    loop_event_free(s->tick);
    for (int i = 0; i < s->n_conns; i++) {
        struct smpp_conn *c = s->conns[i];
        c->sends = false; /* nothing is reported while freeing */
        smpp_conn_free(c);
    }
    for (int i = 0; i < s->window; i++)
        free(s->win[i]);
    for (struct smpp_part *p; (p = dequeue(s));)
        free(p);
    free(s->win);
    smpp_ids_free(s->ids);
    free(s->name);
    free(s->host);
    free(s->system_id);
    free(s->password);
    free(s->system_type);
    free(s->from);
    free(s);
}

struct driver smpp_driver(struct smpp *s)
{
    return (struct driver){ .name = s->name, .kind = "smpp", .ops = &smpp_ops, .self = s };
}
