/*
 * mctl: the control verbs of one simulated modem: traffic (inbound SMS,
 * status reports, raw URCs) and faults (send errors, hang, unplug, loss of
 * registration, latency, SIM PIN). Each verb answers one line, "ok ..." or
 * "error ...", so a test can drive the modem deterministically and check
 * what happened with `status`. The protocol is documented in README.md.
 */
#include "tools/modem-sim/modem_priv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

/* Options shared by the verbs that inject a message. */
struct inject_opts {
    enum modem_route route;
    bool silent;          /* store without +CMTI, as if it arrived before the gateway */
    bool read;            /* store as REC READ */
    int enc;              /* -1 auto, else enum simpdu_enc */
    int parts;            /* 0: as many as the text needs */
    char order[128];      /* part numbers to inject, in order, e.g. "2,1" */
    int ref;              /* -1: the modem's next concat reference */
    const char *to;       /* report recipient */
    const char *from_smsc;
    long when;            /* TP-SCTS as Unix time; 0: now (tests pin it for exact PDUs) */
    int tz;               /* quarters of an hour east of UTC */
    int toa;              /* sender type of address; 0: from the number */
};

static void reply(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 0);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* Reads --options off argv; returns the index of the first operand or -1. */
static int parse_opts(int argc, char **argv, struct inject_opts *o)
{
    *o = (struct inject_opts){.enc = -1, .ref = -1};
    int k = 1;
    for (; k < argc && strncmp(argv[k], "--", 2) == 0; k++) {
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (strcmp(a, "--store") == 0) o->route = MODEM_ROUTE_STORE;
        else if (strcmp(a, "--direct") == 0) o->route = MODEM_ROUTE_DIRECT;
        else if (strcmp(a, "--silent") == 0) o->silent = true, o->route = MODEM_ROUTE_STORE;
        else if (strcmp(a, "--read") == 0) o->read = true;
        else if (strcmp(a, "--gsm7") == 0) o->enc = SIMPDU_ENC_GSM7;
        else if (strcmp(a, "--ucs2") == 0) o->enc = SIMPDU_ENC_UCS2;
        else if (strcmp(a, "--8bit") == 0) o->enc = SIMPDU_ENC_8BIT;
        else if (!v) return -1;
        else if (strcmp(a, "--parts") == 0 && parse_int(v, 1, 255, &o->parts)) k++;
        else if (strcmp(a, "--ref") == 0 && parse_int(v, 0, 255, &o->ref)) k++;
        else if (strcmp(a, "--order") == 0) snprintf(o->order, sizeof o->order, "%s", v), k++;
        else if (strcmp(a, "--to") == 0) o->to = v, k++;
        else if (strcmp(a, "--smsc") == 0) o->from_smsc = v, k++;
        else if (strcmp(a, "--toa") == 0 && parse_int(v, 0, 255, &o->toa)) k++;
        else if (strcmp(a, "--tz") == 0 && parse_int(v, -79, 79, &o->tz)) k++;
        else if (strcmp(a, "--time") == 0 && (o->when = strtol(v, NULL, 10)) > 0) k++;
        else return -1;
    }
    return k;
}

/* Joins argv[from..] with single spaces (quote the text to keep other spacing). */
static void join_args(int argc, char **argv, int from, char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (int k = from; k < argc && pos < cap; k++)
        pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", k > from ? " " : "", argv[k]);
}

/* ---- delivering messages and reports ------------------------------------- */

/*
 * Hands one PDU to the gateway as the CNMI settings (or the override) say:
 * +CMT/+CDS direct, or stored with +CMTI/+CDSI. Writes where it went into
 * `at` ("cmt", "cds", a SIM index, "dropped"); returns false when the SIM is full.
 */
static bool deliver(struct modem *m, const char *hex, int len, bool report,
                    const struct inject_opts *o, char *at, size_t cap)
{
    int mode = m->set.cnmi[0], want = report ? m->set.cnmi[3] : m->set.cnmi[1];
    bool direct = o->route == MODEM_ROUTE_DIRECT
               || (o->route == MODEM_ROUTE_AUTO && mode != 0 && want == (report ? 1 : 2));
    if (direct) {
        char line[32];
        snprintf(line, sizeof line, report ? "+CDS: %d" : "+CMT: ,%d", len);
        modem_urc(m, line, hex);
        m->cnma_pending++;
        snprintf(at, cap, report ? "cds" : "cmt");
        return true;
    }
    if (report && o->route == MODEM_ROUTE_AUTO && want == 0) {
        snprintf(at, cap, "dropped");   /* CNMI ds=0: the network keeps it */
        return true;
    }
    int idx = modem_store(m, hex, len, report);
    if (idx < 0)
        return false;
    m->slots[idx - 1].stat = o->read ? 1 : 0;
    bool notify = !o->silent && mode != 0 && (report ? want == 2 : (want == 1 || want == 3));
    if (notify) {
        char line[48];
        /* The index is in <mem3>, where AT+CPMS put received messages. */
        snprintf(line, sizeof line, "+%s: \"%s\",%d", report ? "CDSI" : "CMTI",
                 m->set.cpms[2], idx);
        modem_urc(m, line, NULL);
    }
    snprintf(at, cap, "%d", idx);
    return true;
}

/* Part numbers to inject: --order "2,1,2" or 1..n. Returns the count or -1. */
static int part_order(const char *order, int n, int *seq, int max)
{
    if (order[0] == '\0') {
        for (int k = 0; k < n; k++)
            seq[k] = k + 1;
        return n;
    }
    char copy[128];
    snprintf(copy, sizeof copy, "%s", order);
    int count = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (count == max || !parse_int(t, 1, n, &seq[count]))
            return -1;
        count++;
    }
    return count;
}

static void verb_sms(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    struct inject_opts o;
    int k = parse_opts(argc, argv, &o);
    if (k < 0 || k + 1 >= argc) {
        reply(out, cap, "error usage: sms [--store|--direct|--silent] [--read] "
              "[--gsm7|--ucs2|--8bit] [--parts N] [--order 2,1] [--ref R] FROM TEXT");
        return;
    }
    char text[SIMPDU_TEXT_MAX * 4];
    join_args(argc, argv, k + 1, text, sizeof text);
    size_t len = strlen(text);
    enum simpdu_enc enc = o.enc >= 0 ? (enum simpdu_enc)o.enc
                     : simpdu_gsm7_fits(text, len) ? SIMPDU_ENC_GSM7 : SIMPDU_ENC_UCS2;
    size_t cuts[256];
    int n = simpdu_split(text, len, enc, o.parts, cuts, 255);
    int seq[64];
    int count = n < 0 ? -1 : part_order(o.order, n, seq, 64);
    if (count < 0) {
        reply(out, cap, "error text does not fit the encoding or part count, or bad --order");
        return;
    }
    int ref = o.ref >= 0 ? o.ref : m->concat_ref;
    if (o.ref < 0 && n > 1)
        m->concat_ref = (m->concat_ref + 1) % 256;
    size_t pos = (size_t)snprintf(out, cap, "ok parts=%d ref=%d at=", n, ref);
    for (int i = 0; i < count; i++) {
        int s = seq[i];
        struct simpdu_deliver d = {
            .smsc = o.from_smsc ? o.from_smsc : m->csca, .from = argv[k], .from_toa = o.toa,
            .scts = o.when ? (time_t)o.when : time(NULL), .tz_quarters = o.tz, .enc = enc,
            .concat = {n > 1, ref, n, s},
            .text = text + cuts[s - 1], .text_len = cuts[s] - cuts[s - 1],
        };
        char hex[SIMPDU_MAX_HEX + 64], at[16];
        int tpdu = simpdu_deliver_encode(&d, hex, sizeof hex);
        if (tpdu < 0 || !deliver(m, hex, tpdu, false, &o, at, sizeof at)) {
            reply(out, cap, tpdu < 0 ? "error cannot encode part %d" : "error SIM full at part %d", s);
            return;
        }
        m->n.inbound++;
        if (pos < cap)
            pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i ? "," : "", at);
    }
}

static void verb_pdu(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    struct inject_opts o;
    int k = parse_opts(argc, argv, &o);
    uint8_t b[SIMPDU_MAX_OCTETS];
    int n = k < 0 || k >= argc ? -1 : simpdu_hex_decode(argv[k], strlen(argv[k]), b, sizeof b);
    int smsc = n < 0 ? -1 : simpdu_smsc_octets(b, (size_t)n);
    if (smsc < 0 || n - smsc < 2) {
        reply(out, cap, "error usage: pdu [--store|--direct|--silent] [--read] HEX "
              "(SMSC octets first, as a modem prints it)");
        return;
    }
    /* The TPDU's message type says whether it is a report (MTI 10) or a deliver. */
    bool report = (b[smsc] & 3) == 2;
    char at[16], hex[SIMPDU_MAX_HEX];
    simpdu_hex_encode(b, (size_t)n, hex);   /* modems print upper case */
    if (!deliver(m, hex, n - smsc, report, &o, at, sizeof at)) {
        reply(out, cap, "error SIM full");
        return;
    }
    if (report)
        m->n.reports++;
    else
        m->n.inbound++;
    reply(out, cap, "ok at=%s", at);
}

static void verb_report(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    struct inject_opts o;
    int k = parse_opts(argc, argv, &o), mr, st;
    if (k < 0 || k + 2 != argc || !parse_int(argv[k], 0, 255, &mr)
        || !parse_int(argv[k + 1], 0, 255, &st)) {
        reply(out, cap, "error usage: report [--store|--direct] [--to NUMBER] MR ST");
        return;
    }
    const char *to = o.to ? o.to : m->sent_to[mr];
    if (to[0] == '\0') {
        reply(out, cap, "error no submit with mr %d: give --to", mr);
        return;
    }
    time_t now = o.when ? (time_t)o.when : time(NULL);
    struct simpdu_report r = {.smsc = o.from_smsc ? o.from_smsc : m->csca, .mr = mr,
                           .recipient = to, .scts = now, .dt = now, .tz_quarters = o.tz,
                           .st = st};
    char hex[SIMPDU_MAX_HEX], at[16];
    int len = simpdu_report_encode(&r, hex, sizeof hex);
    if (len < 0 || !deliver(m, hex, len, true, &o, at, sizeof at)) {
        reply(out, cap, len < 0 ? "error cannot encode the report" : "error SIM full");
        return;
    }
    m->n.reports++;
    reply(out, cap, "ok at=%s", at);
}

/* ---- faults and network ------------------------------------------------------ */

static void verb_fail(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    int count, code = 500;
    if (argc < 2 || !parse_int(argv[1], 0, 1000000, &count)
        || (argc > 2 && !parse_int(argv[2], 0, 999, &code))) {
        reply(out, cap, "error usage: fail N [CMS_CODE]");
        return;
    }
    m->fail_count = count;
    m->fail_code = code;
    reply(out, cap, "ok fail=%d code=%d", count, code);
}

/* A hang at a chosen moment of the next send: before its prompt, or once its PDU went out. */
static void verb_hang_at(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    if (argc == 2 && strcmp(argv[1], "cmgs") == 0)
        m->hang_at = HANG_AT_CMGS;
    else if (argc == 2 && strcmp(argv[1], "pdu") == 0)
        m->hang_at = HANG_AT_PDU;
    else {
        reply(out, cap, "error usage: hang-at cmgs|pdu");
        return;
    }
    reply(out, cap, "ok hang-at=%s", argv[1]);
}

static void verb_unhang(struct modem *m, char *out, size_t cap)
{
    m->hung = false;
    m->hang_at = HANG_NEVER;
    m->in_len = 0;
    if (m->input == MODEM_IN_PDU)
        m->input = MODEM_IN_COMMAND; /* a prompt left open by the hang is gone */
    reply(out, cap, "ok");
}

static void verb_register(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    int stat;
    if (argc != 2 || !parse_int(argv[1], 0, 5, &stat)) {
        reply(out, cap, "error usage: register STAT (0 none, 1 home, 2 searching, 3 denied, 5 roaming)");
        return;
    }
    int old = modem_creg_stat(m);
    m->reg = stat;
    modem_net_changed(m, old);
    reply(out, cap, "ok creg=%d", modem_creg_stat(m));
}

static void verb_pin(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    if (argc != 2 || strlen(argv[1]) >= sizeof m->pin) {
        reply(out, cap, "error usage: pin PIN|off");
        return;
    }
    int old = modem_creg_stat(m);
    m->pin_enabled = strcmp(argv[1], "off") != 0;
    if (m->pin_enabled) {
        snprintf(m->pin, sizeof m->pin, "%s", argv[1]);
        m->pin_state = MODEM_PIN_SIM_PIN;
        m->pin_tries = 3;
    } else {
        m->pin_state = MODEM_PIN_READY;
    }
    modem_net_changed(m, old);
    reply(out, cap, "ok pin=%s", m->pin_enabled ? "required" : "off");
}

static void verb_plug(struct modem *m, bool unplug, char *out, size_t cap)
{
    char err[256];
    if (unplug && modem_unplug(m) != 0)
        reply(out, cap, "error already unplugged");
    else if (!unplug && modem_replug(m, err, sizeof err) != 0)
        reply(out, cap, "error %s", err);
    else
        reply(out, cap, "ok %s", unplug ? "unplugged" : m->slave_name);
}

static void verb_urc(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    char line[MODEM_LINE_MAX];
    if (argc < 2) {
        reply(out, cap, "error usage: urc LINE");
        return;
    }
    join_args(argc, argv, 1, line, sizeof line);
    modem_urc(m, line, NULL);
    reply(out, cap, "ok");
}

static void verb_timing(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    if (argc != 2 || (strcmp(argv[1], "now") != 0 && strcmp(argv[1], "next") != 0)) {
        reply(out, cap, "error usage: urc-timing now|next");
        return;
    }
    m->defer_urcs = strcmp(argv[1], "next") == 0;
    reply(out, cap, "ok urc-timing=%s", argv[1]);
}

static void verb_set_int(int *field, int lo, int hi, int argc, char **argv, char *out, size_t cap)
{
    if (argc != 2 || !parse_int(argv[1], lo, hi, field))
        reply(out, cap, "error usage: %s N (%d..%d)", argv[0], lo, hi);
    else
        reply(out, cap, "ok %s=%d", argv[0], *field);
}

/* ---- reporting ------------------------------------------------------------------ */

static void verb_status(struct modem *m, char *out, size_t cap)
{
    static const char *pins[] = {"ready", "sim-pin", "sim-puk"};
    int stored = 0, unread = 0;
    for (int k = 0; k < m->nslots; k++) {
        stored += m->slots[k].used;
        unread += m->slots[k].used && m->slots[k].stat == 0;
    }
    const int *v = m->set.cnmi;
    reply(out, cap, "ok modem=%s path=%s plugged=%d hung=%d echo=%d cmee=%d pin=%s "
          "pin_tries=%d creg=%d creg_n=%d cfun=%d cnmi=%d,%d,%d,%d,%d csq=%d next_mr=%d "
          "latency_ms=%d fail=%d urc_timing=%s stored=%d unread=%d slots=%d cnma_pending=%d "
          "commands=%lu submits=%lu send_errors=%lu cancelled=%lu bad_pdus=%lu urcs=%lu "
          "urcs_dropped=%lu inbound=%lu reports=%lu plugs=%lu",
          m->name, m->path, m->plugged, m->hung, m->set.echo, m->set.cmee, pins[m->pin_state],
          m->pin_tries, modem_creg_stat(m), m->set.creg_n, m->set.cfun, v[0], v[1], v[2], v[3],
          v[4], m->csq, m->next_mr, m->latency_ms, m->fail_count,
          m->defer_urcs ? "next" : "now", stored, unread, m->nslots, m->cnma_pending,
          m->n.commands, m->n.submits, m->n.send_errors, m->n.cancelled, m->n.bad_pdus,
          m->n.urcs, m->n.urcs_dropped, m->n.inbound, m->n.reports, m->n.plugs);
}

static void verb_sim(struct modem *m, char *out, size_t cap)
{
    size_t pos = (size_t)snprintf(out, cap, "ok");
    for (int k = 0; k < m->nslots && pos < cap; k++) {
        const struct sim_slot *s = &m->slots[k];
        if (s->used)
            pos += (size_t)snprintf(out + pos, cap - pos, " %d:%s:%s", k + 1,
                                    s->stat ? "read" : "unread", s->report ? "report" : "deliver");
    }
}

void modem_control(struct modem *m, int argc, char **argv, char *out, size_t cap)
{
    const char *v = argc > 0 ? argv[0] : "";
    if (strcmp(v, "status") == 0) verb_status(m, out, cap);
    else if (strcmp(v, "sms") == 0) verb_sms(m, argc, argv, out, cap);
    else if (strcmp(v, "pdu") == 0) verb_pdu(m, argc, argv, out, cap);
    else if (strcmp(v, "report") == 0) verb_report(m, argc, argv, out, cap);
    else if (strcmp(v, "fail") == 0) verb_fail(m, argc, argv, out, cap);
    else if (strcmp(v, "hang") == 0) m->hung = true, reply(out, cap, "ok hung");
    else if (strcmp(v, "hang-at") == 0) verb_hang_at(m, argc, argv, out, cap);
    else if (strcmp(v, "unhang") == 0) verb_unhang(m, out, cap);
    else if (strcmp(v, "unplug") == 0) verb_plug(m, true, out, cap);
    else if (strcmp(v, "replug") == 0) verb_plug(m, false, out, cap);
    else if (strcmp(v, "register") == 0) verb_register(m, argc, argv, out, cap);
    else if (strcmp(v, "signal") == 0) verb_set_int(&m->csq, 0, 99, argc, argv, out, cap);
    else if (strcmp(v, "latency") == 0) verb_set_int(&m->latency_ms, 0, 600000, argc, argv, out, cap);
    else if (strcmp(v, "urc") == 0 || strcmp(v, "noise") == 0) verb_urc(m, argc, argv, out, cap);
    else if (strcmp(v, "urc-timing") == 0) verb_timing(m, argc, argv, out, cap);
    else if (strcmp(v, "pin") == 0) verb_pin(m, argc, argv, out, cap);
    else if (strcmp(v, "sim") == 0) verb_sim(m, out, cap);
    else if (strcmp(v, "operator") == 0 && argc == 2)
        snprintf(m->op, sizeof m->op, "%s", argv[1]), reply(out, cap, "ok operator=%s", m->op);
    else reply(out, cap, "error unknown verb '%s' (see tools/modem-sim/README.md)", v);
}
