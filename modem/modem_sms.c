/*
 * modem_sms: what a modem is for. Outbound, a message becomes one SMS-SUBMIT
 * PDU per segment, sent one AT+CMGS at a time, paced to sends_per_minute;
 * the TP-MR the modem returns becomes the part's reference ("m1:17").
 * Inbound, a stored message (+CMTI, or found by the AT+CMGL sweep) is read,
 * decoded and handed to the core, and deleted from the SIM only once the core
 * says it is committed; a directly delivered one (+CMT) is acknowledged with
 * AT+CNMA as soon as it is stored. Status reports go the same ways (+CDSI,
 * +CDS) and become receipts matched by modem, TP-MR and recipient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/clock.h"
#include "gateway/codec.h"
#include "gateway/log.h"
#include "modem/modem_priv.h"

#define READ_TIMEOUT_MS 10000
#define MAX_VALIDITY_MIN 635040 /* 63 weeks: the longest relative TP-VP */

/* --- outbound ------------------------------------------------------------- */

static struct modem_msg *find_msg(struct modem *m, int64_t msg_id)
{
    for (struct modem_msg *t = m->msgs; t; t = t->next)
        if (t->msg_id == msg_id)
            return t;
    return NULL;
}

static void forget_msg(struct modem *m, struct modem_msg *gone)
{
    for (struct modem_msg **pp = &m->msgs; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            m->n_msgs--;
            return;
        }
    }
}

/* One result per part; when a message has none left, its slot frees up. */
static void resolve(struct modem *m, int64_t msg_id, int index, enum driver_result result,
                    const char *ref, const char *error)
{
    m->ev.part(msg_id, index, result, ref, error, m->ev.arg);
    struct modem_msg *t = find_msg(m, msg_id);
    if (t && --t->unresolved <= 0) {
        forget_msg(m, t);
        if (m->ev.ready)
            m->ev.ready(m->name, m->ev.arg);
    }
}

static unsigned validity_minutes(int64_t seconds)
{
    int64_t min = seconds / 60;
    if (min < 5)
        return 5;
    return min > MAX_VALIDITY_MIN ? MAX_VALIDITY_MIN : (unsigned)min;
}

static bool build_part(struct modem *m, const struct driver_msg *msg,
                       const struct codec_message *cm, unsigned i, struct modem_part *p,
                       char *err, size_t errsz)
{
    const struct codec_segment *seg = &cm->seg[i];
    struct pdu_submit s = {
        .to = msg->to, .dcs = codec_dcs(cm->encoding), .srr = m->status_reports && msg->want_receipt,
        .udhi = cm->udhi, .vp_minutes = validity_minutes(msg->validity_s),
        .ud = seg->ud, .ud_len = seg->ud_len, .udl = seg->udl,
    };
    p->length = pdu_encode_submit(&s, p->pdu, sizeof p->pdu, err, errsz);
    p->modem = m;
    p->msg_id = msg->id;
    p->index = (int)i;
    snprintf(p->to, sizeof p->to, "%s", msg->to);
    return p->length > 0;
}

static void queue_part(struct modem *m, struct modem_part *p)
{
    if (m->parts_tail)
        m->parts_tail->next = p;
    else
        m->parts_head = p;
    m->parts_tail = p;
}

void modem_sms_submit(struct modem *m, const struct driver_msg *msg)
{
    static struct codec_message cm; /* about 40 KB: kept off the stack */
    char err[PDU_ERROR_MAX];
    /* The concat reference comes from the id, so a retry rebuilds identical parts. */
    struct codec_options opt = { .max_segments = CODEC_MAX_SEGMENTS,
                                 .concat_ref = (uint8_t)(msg->id & 0xff) };
    struct modem_msg *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->msg_id = msg->id;
    t->next = m->msgs;
    m->msgs = t;
    m->n_msgs++;
    if (codec_encode(msg->text, strlen(msg->text), &opt, &cm) != 0) {
        t->unresolved = 1;
        m->ev.planned(msg->id, 1, m->name, m->ev.arg);
        resolve(m, msg->id, 0, DRIVER_PERMANENT, NULL, cm.error);
        return;
    }
    for (unsigned i = 0; i < cm.nsegments; i++)
        t->unresolved += !driver_msg_skips(msg, (int)i);
    m->ev.planned(msg->id, (int)cm.nsegments, m->name, m->ev.arg);
    for (unsigned i = 0; i < cm.nsegments; i++) {
        if (driver_msg_skips(msg, (int)i))
            continue;
        struct modem_part *p = calloc(1, sizeof *p);
        if (!p)
            abort();
        if (build_part(m, msg, &cm, i, p, err, sizeof err)) {
            queue_part(m, p);
        } else {
            free(p);
            resolve(m, msg->id, (int)i, DRIVER_PERMANENT, NULL, err);
        }
    }
    struct modem_msg *still = find_msg(m, msg->id); /* t may be gone: every part failed */
    if (still && still->unresolved == 0)
        forget_msg(m, still); /* every part was skipped: nothing to send */
    modem_sms_pump(m);
}

static void describe_failure(const struct at_response *res, char *out, size_t size)
{
    if (res->final == AT_FINAL_CMS && res->code >= 0)
        snprintf(out, size, "+CMS ERROR: %d (%s)", res->code, modem_cms_text(res->code));
    else
        snprintf(out, size, "%s", res->final_line);
}

static bool failure_is_temporary(const struct at_response *res)
{
    if (res->status != AT_ERROR)
        return true;
    if (res->final == AT_FINAL_CMS && res->code >= 0)
        return modem_cms_temporary(res->code);
    return true; /* ERROR or +CME ERROR: the modem, not the message */
}

/*
 * A send the modem never answered. Without a prompt nothing left, so the part
 * goes elsewhere as it is; after the PDU it may have reached the network, and
 * going elsewhere may make a duplicate, which is counted. Either way the
 * modem is unhealthy from now on (the router passes it by) until the
 * recovery ladder finds it answering again.
 */
static void on_cmgs_unanswered(struct modem *m, const struct modem_part *p,
                               const struct at_response *res)
{
    char why[200];
    bool written = res->pdu_written;
    if (res->status == AT_GONE)
        snprintf(why, sizeof why, "modem %s went away during AT+CMGS%s", m->name,
                 written ? ", after the PDU: possibly sent" : "");
    else if (written)
        snprintf(why, sizeof why, "modem %s gave no answer within %d s to the PDU after "
                 "AT+CMGS's prompt: possibly sent", m->name, m->send_timeout_ms / 1000);
    else
        snprintf(why, sizeof why, "modem %s gave no \"> \" prompt within %d s of AT+CMGS",
                 m->name, m->prompt_timeout_ms / 1000);
    if (res->status == AT_TIMEOUT) {
        log_warnx("modem=%s did not answer AT+CMGS (%s): marked unhealthy; msg=%lld part=%d "
                  "goes to another route member%s", m->name, written ? "no +CMGS" : "no prompt",
                  (long long)p->msg_id, p->index + 1,
                  written ? " as a possible duplicate" : "");
        modem_recover(m, "did not answer AT+CMGS");
    }
    m->unconfirmed += written;
    resolve(m, p->msg_id, p->index, written ? DRIVER_UNCONFIRMED : DRIVER_HANDBACK, NULL, why);
}

static void on_cmgs(const struct at_response *res, void *arg)
{
    struct modem_part *p = arg;
    struct modem *m = p->modem;
    char ref[64], why[160];
    int mr;
    m->sending = NULL;
    if (res->status == AT_OK && res->n_lines > 0 && sscanf(res->lines[0], "+CMGS: %d", &mr) == 1) {
        snprintf(ref, sizeof ref, "%s:%d", m->name, mr);
        m->timeouts_in_row = 0;
        resolve(m, p->msg_id, p->index, DRIVER_SUBMITTED, ref, NULL);
    } else if (res->status == AT_TIMEOUT || res->status == AT_GONE) {
        on_cmgs_unanswered(m, p, res);
    } else {
        describe_failure(res, why, sizeof why);
        log_warnx("modem=%s msg=%lld part=%d not sent: %s", m->name, (long long)p->msg_id,
                  p->index + 1, why);
        resolve(m, p->msg_id, p->index,
                failure_is_temporary(res) ? DRIVER_TEMPORARY : DRIVER_PERMANENT, NULL, why);
    }
    free(p);
    modem_sms_pump(m);
}

void modem_sms_pump(struct modem *m)
{
    if (m->state != MODEM_READY || m->sending || !m->parts_head || !modem_registered(m))
        return;
    int64_t now = clock_mono_ms();
    if (now < m->next_send_ms) {
        modem_pace(m, m->next_send_ms - now); /* sends_per_minute: come back then */
        return;
    }
    struct modem_part *p = m->parts_head;
    m->parts_head = p->next;
    if (!m->parts_head)
        m->parts_tail = NULL;
    p->next = NULL;
    m->sending = p;
    m->next_send_ms = now + 60000 / m->sends_per_minute;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+CMGS=%d", p->length);
    modem_command_pdu(m, cmd, p->pdu, m->send_timeout_ms, on_cmgs, p);
}

void modem_sms_release(struct modem *m, const char *why)
{
    while (m->parts_head) {
        struct modem_part *p = m->parts_head;
        m->parts_head = p->next;
        resolve(m, p->msg_id, p->index, DRIVER_HANDBACK, NULL, why);
        free(p);
    }
    m->parts_tail = NULL;
}

int modem_sms_withdraw(struct modem *m, const char *to)
{
    int n = 0;
    struct modem_part **pp = &m->parts_head;
    m->parts_tail = NULL;
    while (*pp) {
        struct modem_part *p = *pp;
        if (strcmp(p->to, to) != 0) {
            m->parts_tail = p;
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        resolve(m, p->msg_id, p->index, DRIVER_HANDBACK, NULL,
                "withdrawn: the recipient opted out");
        free(p);
        n++;
    }
    return n;
}

void modem_sms_free(struct modem *m)
{
    free(m->sending); /* its AT+CMGS is dropped unanswered with the engine */
    while (m->parts_head) {
        struct modem_part *p = m->parts_head;
        m->parts_head = p->next;
        free(p);
    }
    while (m->msgs) {
        struct modem_msg *t = m->msgs;
        m->msgs = t->next;
        free(t);
    }
}

/* --- inbound -------------------------------------------------------------- */

static int64_t pdu_epoch(const struct pdu_time *t)
{
    struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->month - 1, .tm_mday = t->day,
                     .tm_hour = t->hour, .tm_min = t->minute, .tm_sec = t->second };
    return t->year ? (int64_t)timegm(&tm) - t->tz_minutes * 60 : 0;
}

static bool deliver(struct modem *m, const struct pdu_sms *s)
{
    struct driver_inbound in = {
        .driver = m->name, .from = s->addr.text, .text = s->text, .concat = s->udh.concat,
        .concat_ref = s->udh.concat_ref, .concat_total = s->udh.concat_total,
        .concat_seq = s->udh.concat_seq, .sent_at = pdu_epoch(&s->scts),
    };
    return m->ev.inbound(&in, m->ev.arg);
}

static void report(struct modem *m, const struct pdu_sms *s)
{
    static const enum driver_receipt states[] = {
        [PDU_STATUS_DELIVERED] = DRIVER_RECEIPT_DELIVERED,
        [PDU_STATUS_TEMPORARY] = DRIVER_RECEIPT_PENDING,
        [PDU_STATUS_PERMANENT] = DRIVER_RECEIPT_UNDELIVERED,
    };
    char ref[64], detail[160];
    snprintf(ref, sizeof ref, "%s:%u", m->name, s->mr);
    snprintf(detail, sizeof detail, "TP-ST %u: %s", s->status, pdu_status_text(s->status));
    m->ev.receipt(m->name, ref, s->addr.text, states[pdu_status_kind(s->status)], detail,
                  m->ev.arg);
}

/* Decodes one PDU line and hands it on; true when it may be deleted or acknowledged. */
static bool handle_pdu(struct modem *m, const char *hex, int sim_index)
{
    static struct pdu_sms s;
    uint8_t buf[PDU_MAX];
    char err[PDU_ERROR_MAX];
    int n = pdu_from_hex(hex, strlen(hex), buf, sizeof buf, err, sizeof err);
    if (n < 0 || pdu_decode(buf, (size_t)n, &s, err, sizeof err) < 0) {
        log_warnx("modem=%s sim_index=%d cannot decode a received PDU, left on the SIM: %s",
                  m->name, sim_index, err);
        return false;
    }
    switch (s.type) {
    case PDU_DELIVER: return deliver(m, &s);
    case PDU_STATUS_REPORT: report(m, &s); return true;
    default: return false; /* an SMS-SUBMIT stored on the SIM is somebody's draft */
    }
}

static void delete_stored(struct modem *m, int index)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+CMGD=%d", index);
    modem_command(m, cmd, NULL, READ_TIMEOUT_MS, NULL);
}

struct read_ctx {
    struct modem *modem;
    int index;
};

static void on_cmgr(const struct at_response *res, void *arg)
{
    struct read_ctx *ctx = arg;
    struct modem *m = ctx->modem;
    if (res->status == AT_OK && res->n_lines >= 2) {
        if (handle_pdu(m, res->lines[1], ctx->index))
            delete_stored(m, ctx->index);
    } else if (res->status == AT_TIMEOUT) {
        modem_note_timeout(m, res);
    }
    free(ctx);
}

static void read_stored(struct modem *m, const char *line)
{
    const char *comma = strrchr(line, ',');
    int index = comma ? atoi(comma + 1) : -1;
    if (index < 0)
        return;
    struct read_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
        abort();
    ctx->modem = m;
    ctx->index = index;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+CMGR=%d", index);
    struct at_request r = { .command = cmd, .expect = "+CMGR:", .timeout_ms = READ_TIMEOUT_MS,
                            .done = on_cmgr, .arg = ctx };
    at_submit(m->at, &r, clock_mono_ms());
}

void modem_sms_urc(struct modem *m, const struct at_urc_event *ev)
{
    switch (ev->kind) {
    case AT_URC_CMTI:
    case AT_URC_CDSI:
        read_stored(m, ev->line);
        break;
    case AT_URC_CMT:
    case AT_URC_CDS:
        /* Direct delivery: store it, then acknowledge at once, or the network resends. */
        handle_pdu(m, ev->pdu, -1);
        modem_command(m, "AT+CNMA", NULL, READ_TIMEOUT_MS, NULL);
        break;
    default:
        break;
    }
}

static void on_cmgl(const struct at_response *res, void *arg)
{
    struct modem *m = arg;
    int found = 0;
    for (size_t i = 0; res->status == AT_OK && i + 1 < res->n_lines; i++) {
        int index;
        if (sscanf(res->lines[i], "+CMGL: %d,", &index) != 1)
            continue;
        found++;
        if (handle_pdu(m, res->lines[i + 1], index))
            delete_stored(m, index);
        i++;
    }
    if (found > 0)
        log_info("modem=%s sweep found=%d stored message%s", m->name, found, found == 1 ? "" : "s");
    else if (res->status != AT_OK)
        log_warnx("modem=%s cannot list stored messages: %s", m->name,
                  res->status == AT_TIMEOUT ? "timeout" : res->final_line);
    at_done_fn *done = m->sweep_done;
    m->sweep_done = NULL;
    if (done && res->status != AT_GONE)
        done(res, m);
}

void modem_sms_sweep(struct modem *m, at_done_fn *done)
{
    m->sweep_done = done;
    modem_command(m, "AT+CMGL=4", "+CMGL:", 30000, on_cmgl);
}

/* --- +CMS ERROR codes (3GPP TS 27.005 3.2.5) ------------------------------- */

struct cms_code {
    int code;
    bool temporary;
    const char *text;
};

static const struct cms_code cms_codes[] = {
    { 1, false, "unassigned (unallocated) number" },
    { 8, false, "operator determined barring" },
    { 10, false, "call barred" },
    { 21, false, "short message transfer rejected" },
    { 27, false, "destination out of service" },
    { 28, false, "unidentified subscriber" },
    { 29, false, "facility rejected" },
    { 30, false, "unknown subscriber" },
    { 38, true, "network out of order" },
    { 41, true, "temporary failure" },
    { 42, true, "congestion" },
    { 47, true, "resources unavailable, unspecified" },
    { 50, false, "requested facility not subscribed" },
    { 69, false, "requested facility not implemented" },
    { 81, true, "invalid short message transfer reference value" },
    { 95, false, "invalid message, unspecified" },
    { 96, false, "invalid mandatory information" },
    { 97, false, "message type non-existent or not implemented" },
    { 98, true, "message not compatible with short message protocol state" },
    { 99, false, "information element non-existent or not implemented" },
    { 111, true, "protocol error, unspecified" },
    { 127, true, "interworking, unspecified" },
    { 300, true, "ME failure" },
    { 301, false, "SMS service of ME reserved" },
    { 302, false, "operation not allowed" },
    { 303, false, "operation not supported" },
    { 304, false, "invalid PDU mode parameter" },
    { 305, false, "invalid text mode parameter" },
    { 310, true, "SIM not inserted" },
    { 311, true, "SIM PIN required" },
    { 312, true, "PH-SIM PIN required" },
    { 313, true, "SIM failure" },
    { 314, true, "SIM busy" },
    { 315, true, "SIM wrong" },
    { 316, true, "SIM PUK required" },
    { 320, true, "memory failure" },
    { 321, false, "invalid memory index" },
    { 322, true, "memory full" },
    { 330, false, "SMSC address unknown" },
    { 331, true, "no network service" },
    { 332, true, "network timeout" },
    { 340, false, "no +CNMA acknowledgement expected" },
    { 500, true, "unknown error" },
    { 512, true, "manufacturer specific" },
};

static const struct cms_code *cms_lookup(int code)
{
    for (size_t i = 0; i < sizeof cms_codes / sizeof cms_codes[0]; i++)
        if (cms_codes[i].code == code)
            return &cms_codes[i];
    return NULL;
}

bool modem_cms_temporary(int code)
{
    const struct cms_code *c = cms_lookup(code);
    return c ? c->temporary : code >= 500; /* 0-127 network causes unknown here: final */
}

const char *modem_cms_text(int code)
{
    const struct cms_code *c = cms_lookup(code);
    return c ? c->text : code >= 512 ? "manufacturer specific" : "unknown cause";
}
