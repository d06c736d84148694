/*
 * control: the simulator's control channel, one command per line.
 *
 * A Unix socket (--control PATH) or a loopback TCP port (--control
 * 127.0.0.1:PORT). Every line gets exactly one answer line, "ok ..." or
 * "error ...", so a test can send a command and read one line back. Settings
 * (receipts, slow, throttle ...) are the rows of settings.c; the commands that
 * act (mo, malformed, unbind, close, status) are here. README.md lists them.
 */
#include "sim.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_LEN 8192

struct ctl_client {
    struct sim *sim;
    struct bufferevent *bev;
    struct ctl_client *next;
};

static struct evconnlistener *listener;
static struct ctl_client *clients;
static char unix_path[sizeof ((struct sockaddr_un *)0)->sun_path];

/* ---- mo: building and sending mobile-originated deliver_sm ---- */

enum concat_method { CONCAT_UDH, CONCAT_UDH16, CONCAT_SAR, CONCAT_PAYLOAD };

struct mo_opts {
    int coding;               /* -1 auto, else 0, 3 or 8 */
    enum concat_method concat;
    int parts;                /* 0: as many as needed */
    int ref;                  /* -1: next reference */
    int order[32];
    int n_order;              /* 0: 1..N; -1: reverse */
};

struct mo_msg {
    struct sim_addr from, to;
    uint8_t ud[1100];
    size_t len;
    int coding;
};

static unsigned next_ref = 1;

static void parse_addr(const char *s, struct sim_addr *a)
{
    bool digits = *s != '\0';
    for (const char *p = (*s == '+') ? s + 1 : s; *p; p++)
        if (*p < '0' || *p > '9')
            digits = false;
    a->ton = digits ? 1 : 5;
    a->npi = digits ? 1 : 0;
    snprintf(a->addr, 21, "%s", (digits && *s == '+') ? s + 1 : s);
}

/* "\n" and "\\" in the text of a control line. */
static void unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            *w++ = '\n';
            s++;
        } else if (*s == '\\' && s[1] == '\\') {
            *w++ = '\\';
            s++;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

static int encode_text(const char *text, struct mo_msg *m)
{
    int n = -1;
    if (m->coding == -1 || m->coding == 0) {
        n = text_gsm_from_utf8(text, m->ud, sizeof m->ud);
        m->coding = (n < 0 && m->coding == -1) ? 8 : 0;
    }
    if (n < 0 && m->coding == 3)
        n = text_latin1_from_utf8(text, m->ud, sizeof m->ud);
    if (n < 0 && m->coding == 8)
        n = text_ucs2_from_utf8(text, m->ud, sizeof m->ud);
    if (n < 0)
        return -1;
    m->len = (size_t)n;
    return 0;
}

/* Octets of user data per part, after any UDH. */
static size_t part_capacity(int coding, enum concat_method c, bool single)
{
    size_t cap7 = 160, cap8 = 140;
    if (!single) {
        cap7 = c == CONCAT_UDH16 ? 152 : 153;
        cap8 = c == CONCAT_UDH16 ? 133 : 134;
    }
    if (coding == 0)
        return cap7;
    if (coding == 8)
        return cap8 & ~(size_t)1;
    return cap8;
}

/* Moves a cut back so it does not split an escape or a surrogate pair. */
static size_t safe_cut(const struct mo_msg *m, size_t start, size_t end)
{
    if (end >= m->len)
        return m->len;
    if (m->coding == 0 && end > start + 1 && m->ud[end - 1] == 0x1B) {
        size_t esc = 0; /* an odd run of 0x1B before the cut ends in an escape */
        while (end - esc > start && m->ud[end - 1 - esc] == 0x1B)
            esc++;
        if (esc % 2 == 1)
            end--;
    }
    if (m->coding == 8 && end > start + 2 && (m->ud[end - 2] & 0xFC) == 0xD8)
        end -= 2;
    return end;
}

/* Splits m into parts; fills cuts[0..n] (cuts[i]..cuts[i+1] is part i+1). */
static int split(const struct mo_msg *m, const struct mo_opts *o, size_t *cuts, int max)
{
    bool single = o->parts <= 1 && o->concat != CONCAT_PAYLOAD &&
                  m->len <= part_capacity(m->coding, o->concat, true);
    if (o->concat == CONCAT_PAYLOAD || single) {
        cuts[0] = 0;
        cuts[1] = m->len;
        return 1;
    }
    size_t cap = part_capacity(m->coding, o->concat, false);
    if (o->parts > 1) {
        size_t even = (m->len + (size_t)o->parts - 1) / (size_t)o->parts;
        if (m->coding == 8)
            even = (even + 1) & ~(size_t)1;
        cap = even < cap ? even : cap;
    }
    int n = 0;
    cuts[0] = 0;
    while (cuts[n] < m->len || n == 0) {
        if (n == max)
            return -1;
        cuts[n + 1] = safe_cut(m, cuts[n], cuts[n] + cap);
        n++;
    }
    return n;
}

static void build_part(const struct mo_msg *m, const struct mo_opts *o, int total,
                       int seq, const size_t *cuts, unsigned ref, struct sim_sm *d)
{
    const uint8_t *chunk = m->ud + cuts[seq - 1];
    size_t len = cuts[seq] - cuts[seq - 1], udh = 0;
    memset(d, 0, sizeof *d);
    d->src = m->from;
    d->dst = m->to;
    d->data_coding = (uint8_t)m->coding;
    if (o->concat == CONCAT_PAYLOAD) {
        d->has_payload = true;
        memcpy(d->payload, chunk, len);
        d->payload_len = len;
        return;
    }
    if (total > 1 && o->concat == CONCAT_SAR) {
        d->has_sar = true;
        d->sar_ref = (uint16_t)ref;
        d->sar_total = (uint8_t)total;
        d->sar_seq = (uint8_t)seq;
    } else if (total > 1) {
        bool wide = o->concat == CONCAT_UDH16;
        uint8_t h8[] = {5, 0x00, 3, (uint8_t)ref, (uint8_t)total, (uint8_t)seq};
        uint8_t h16[] = {6, 0x08, 4, (uint8_t)(ref >> 8), (uint8_t)ref,
                         (uint8_t)total, (uint8_t)seq};
        udh = wide ? sizeof h16 : sizeof h8;
        memcpy(d->sm, wide ? h16 : h8, udh);
        d->esm_class = 0x40;
    }
    memcpy(d->sm + udh, chunk, len);
    d->sm_len = udh + len;
}

static int parse_order(const char *v, struct mo_opts *o)
{
    if (strcmp(v, "reverse") == 0) {
        o->n_order = -1;
        return 0;
    }
    o->n_order = 0;
    for (const char *p = v; *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > 255 || o->n_order == 32)
            return -1;
        o->order[o->n_order++] = (int)k;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return o->n_order > 0 ? 0 : -1;
}

static int parse_mo_option(const char *opt, const char *v, struct mo_opts *o)
{
    if (strcmp(opt, "--coding") == 0) {
        o->coding = strcmp(v, "gsm") == 0 ? 0 : strcmp(v, "ucs2") == 0 ? 8
                  : strcmp(v, "latin1") == 0 ? 3 : -2;
        return o->coding == -2 ? -1 : 0;
    }
    if (strcmp(opt, "--concat") == 0) {
        static const char *names[] = {"udh", "udh16", "sar", "payload"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, names[i]) == 0) {
                o->concat = (enum concat_method)i;
                return 0;
            }
        return -1;
    }
    if (strcmp(opt, "--parts") == 0)
        return (o->parts = atoi(v)) >= 1 && o->parts <= 255 ? 0 : -1;
    if (strcmp(opt, "--ref") == 0)
        return (o->ref = atoi(v)) >= 0 && o->ref <= 65535 ? 0 : -1;
    if (strcmp(opt, "--order") == 0)
        return parse_order(v, o);
    return -1;
}

/* Sends the parts in the chosen order; returns how many deliver_sm went. */
static int send_parts(struct conn *c, const struct mo_msg *m, const struct mo_opts *o,
                      const size_t *cuts, int total, unsigned ref, char *err, size_t errlen)
{
    int n = o->n_order > 0 ? o->n_order : total;
    for (int i = 0; i < n; i++) {
        int seq = o->n_order > 0 ? o->order[i] : o->n_order < 0 ? total - i : i + 1;
        struct sim_sm d;
        if (seq > total) {
            snprintf(err, errlen, "--order names part %d of %d", seq, total);
            return -1;
        }
        build_part(m, o, total, seq, cuts, ref, &d);
        if (conn_send_deliver(c, &d, err, errlen) != 0)
            return -1;
    }
    return n;
}

/* Parses "[--opt V ...] FROM TO TEXT" into o and m; NULL text on error. */
static char *parse_mo(char *args, struct mo_opts *o, struct mo_msg *m, char *out,
                      size_t outsize)
{
    char *save = NULL, *from, *to, *text;
    char *p = strtok_r(args, " ", &save);
    while (p && strncmp(p, "--", 2) == 0) {
        char *v = strtok_r(NULL, " ", &save);
        if (!v || parse_mo_option(p, v, o) != 0) {
            snprintf(out, outsize, "error mo: bad option %.40s", p);
            return NULL;
        }
        p = strtok_r(NULL, " ", &save);
    }
    from = p;
    to = from ? strtok_r(NULL, " ", &save) : NULL;
    text = to ? strtok_r(NULL, "", &save) : NULL;
    if (!text) {
        snprintf(out, outsize, "error usage: mo [--coding gsm|ucs2|latin1] "
                 "[--concat udh|udh16|sar|payload] [--parts N] [--ref N] "
                 "[--order reverse|2,1,3] FROM TO TEXT");
        return NULL;
    }
    unescape(text);
    parse_addr(from, &m->from);
    parse_addr(to, &m->to);
    m->coding = o->coding;
    return text;
}

static void cmd_mo(struct sim *sim, char *args, char *out, size_t outsize)
{
    struct mo_opts o = { .coding = -1, .concat = CONCAT_UDH, .ref = -1 };
    struct mo_msg m;
    char err[256];
    memset(&m, 0, sizeof m);
    const char *text = parse_mo(args, &o, &m, out, outsize);
    if (!text)
        return;
    if (encode_text(text, &m) != 0) {
        snprintf(out, outsize, "error mo: text cannot be encoded (or is too long)");
        return;
    }
    struct conn *c = conn_find_receiver(sim, sim->set.system_id, 0);
    if (!c) {
        snprintf(out, outsize, "error mo: no receiver or transceiver bound");
        return;
    }
    size_t cuts[257];
    int total = split(&m, &o, cuts, 255);
    unsigned ref = o.ref >= 0 ? (unsigned)o.ref : next_ref++;
    ref &= o.concat == CONCAT_UDH ? 0xFFu : 0xFFFFu;
    int sent = total < 0 ? -1 : send_parts(c, &m, &o, cuts, total, ref, err, sizeof err);
    if (sent < 0) {
        snprintf(out, outsize, "error mo: %s", total < 0 ? "too many parts" : err);
        return;
    }
    sim->count.mo += (unsigned long)sent;
    snprintf(out, outsize, "ok mo parts=%d sent=%d ref=%u coding=%d conn=%u", total, sent,
             ref, m.coding, conn_id(c));
}

/* ---- malformed PDUs, unbind, close, status ---- */

static size_t build_malformed(const char *kind, uint32_t seq, uint8_t *buf, size_t size)
{
    static const uint8_t body[] = {0x00, 0x01, 0x01, '1', '2', '3'};
    pdu_header_write(buf, CMD_DELIVER_SM, ST_OK, seq);
    if (strcmp(kind, "length") == 0) {
        buf[3] = 8; /* command_length below the 16-byte header */
        return PDU_HEADER_LEN;
    }
    if (strcmp(kind, "huge") == 0) {
        buf[1] = 0x10; /* command_length 1 MiB + 16, never sent */
        return PDU_HEADER_LEN;
    }
    if (strcmp(kind, "cmdid") == 0) {
        pdu_header_write(buf, 0x00000999u, ST_OK, seq);
        return PDU_HEADER_LEN;
    }
    if (strcmp(kind, "body") == 0 && size >= PDU_HEADER_LEN + sizeof body) {
        memcpy(buf + PDU_HEADER_LEN, body, sizeof body);
        buf[3] = (uint8_t)(PDU_HEADER_LEN + sizeof body);
        return PDU_HEADER_LEN + sizeof body;
    }
    return 0;
}

static void cmd_malformed(struct sim *sim, const char *kind, char *out, size_t outsize)
{
    uint8_t buf[64];
    unsigned n = 0;
    if (!*kind)
        kind = "body";
    if (build_malformed(kind, 1, buf, sizeof buf) == 0) {
        snprintf(out, outsize, "error malformed: kind is body|length|huge|cmdid");
        return;
    }
    for (struct conn *c = conn_next(sim, NULL); c; c = conn_next(sim, c)) {
        if (conn_bound(c) == BIND_NONE)
            continue;
        size_t len = build_malformed(kind, conn_next_seq(c), buf, sizeof buf);
        conn_send_raw(c, buf, len);
        n++;
    }
    snprintf(out, outsize, "ok malformed %s conns=%u", kind, n);
}

static void cmd_unbind(struct sim *sim, char *out, size_t outsize)
{
    unsigned n = 0;
    for (struct conn *c = conn_next(sim, NULL); c; c = conn_next(sim, c)) {
        if (conn_bound(c) != BIND_NONE) {
            conn_send_unbind(c);
            n++;
        }
    }
    snprintf(out, outsize, "ok unbind conns=%u", n);
}

static void cmd_close(struct sim *sim, char *out, size_t outsize)
{
    unsigned n = conn_count(sim, false);
    conn_free_all(sim);
    snprintf(out, outsize, "ok close conns=%u", n);
}

static void cmd_status(struct sim *sim, char *out, size_t outsize)
{
    const struct counters *k = &sim->count;
    unsigned waiting = 0;
    for (struct receipt *r = sim->receipts; r; r = receipt_next(r))
        waiting++;
    snprintf(out, outsize,
             "ok connections=%u bound=%u accepted_connections=%lu binds=%lu "
             "bind_failures=%lu submits=%lu accepted=%lu throttled=%lu rejected=%lu "
             "receipts=%lu receipts_pending=%u mo=%lu deliver_resps=%lu "
             "deliver_errors=%lu enquires=%lu drops=%lu nacks=%lu",
             conn_count(sim, false), conn_count(sim, true), k->connections, k->binds,
             k->bind_failures, k->submits, k->accepted, k->throttled, k->rejected,
             k->receipts, waiting, k->mo, k->deliver_resps, k->deliver_errors,
             k->enquires, k->drops, k->nacks);
}

static const char help_text[] =
    "ok commands: status | settings | mo [opts] FROM TO TEXT | malformed [body|length|huge|cmdid]"
    " | unbind | close | shutdown | SETTING VALUE (receipts, receipt-delay, receipt-state,"
    " receipt-err, ids, receipt-ids, throttle, seed, slow, enquire, drop, strict, verbose,"
    " system-id, password)";

static void cmd_setting(struct sim *sim, const char *name, const char *value,
                        char *out, size_t outsize)
{
    char err[256];
    if (!*value) {
        snprintf(out, outsize, "error %s: needs a value", name);
        return;
    }
    if (settings_set(&sim->set, name, value, err, sizeof err) != 0) {
        snprintf(out, outsize, "error %s", err);
        return;
    }
    if (strcmp(name, "throttle") == 0 || strcmp(name, "seed") == 0)
        conn_throttle_reset(sim);
    snprintf(out, outsize, "ok %s %s", name, value);
}

void control_execute(struct sim *sim, char *line, char *out, size_t outsize)
{
    line[strcspn(line, "\r\n")] = '\0';
    while (*line == ' ')
        line++;
    char *args = line + strcspn(line, " ");
    if (*args)
        *args++ = '\0';
    while (*args == ' ')
        args++;
    if (strcmp(line, "mo") == 0)
        cmd_mo(sim, args, out, outsize);
    else if (strcmp(line, "malformed") == 0)
        cmd_malformed(sim, args, out, outsize);
    else if (strcmp(line, "status") == 0)
        cmd_status(sim, out, outsize);
    else if (strcmp(line, "settings") == 0) {
        char buf[512];
        settings_describe(&sim->set, buf, sizeof buf);
        snprintf(out, outsize, "ok %s", buf);
    } else if (strcmp(line, "unbind") == 0)
        cmd_unbind(sim, out, outsize);
    else if (strcmp(line, "close") == 0)
        cmd_close(sim, out, outsize);
    else if (strcmp(line, "shutdown") == 0) {
        struct timeval grace = { 0, 50000 }; /* lets this answer go out */
        event_base_loopexit(sim->base, &grace);
        snprintf(out, outsize, "ok shutdown");
    } else if (strcmp(line, "help") == 0)
        snprintf(out, outsize, "%s", help_text);
    else if (*line == '\0')
        snprintf(out, outsize, "error empty command");
    else
        cmd_setting(sim, line, args, out, outsize);
}

/* ---- the channel itself ---- */

static void client_free(struct ctl_client *cl)
{
    struct ctl_client **pp = &clients;
    while (*pp && *pp != cl)
        pp = &(*pp)->next;
    if (*pp)
        *pp = cl->next;
    bufferevent_free(cl->bev);
    free(cl);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct ctl_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    static char answer[LINE_MAX_LEN];
    while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL) {
        control_execute(cl->sim, line, answer, sizeof answer);
        free(line);
        answer[strcspn(answer, "\n")] = '\0';
        bufferevent_write(bev, answer, strlen(answer));
        bufferevent_write(bev, "\n", 1);
    }
    if (evbuffer_get_length(in) > LINE_MAX_LEN) {
        sim_log("control: line too long; closing that client");
        client_free(cl);
    }
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int socklen, void *arg)
{
    (void)l;
    (void)sa;
    (void)socklen;
    struct ctl_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        abort();
    cl->sim = arg;
    cl->bev = bufferevent_socket_new(cl->sim->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!cl->bev)
        abort();
    bufferevent_setcb(cl->bev, on_client_read, NULL, on_client_event, cl);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
    cl->next = clients;
    clients = cl;
}

static int listen_tcp(struct sim *sim, const char *spec, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int len;
    if (sim_parse_addr(spec, &ss, &len) != 0) {
        snprintf(err, errlen, "control: bad address '%s'", spec);
        return -1;
    }
    listener = evconnlistener_new_bind(sim->base, on_accept, sim,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                       (struct sockaddr *)&ss, len);
    if (!listener) {
        snprintf(err, errlen, "control: cannot listen on %s", spec);
        return -1;
    }
    return 0;
}

int control_listen(struct sim *sim, const char *spec, char *err, size_t errlen)
{
    if (spec[0] != '/' && spec[0] != '.' && strchr(spec, ':'))
        return listen_tcp(sim, spec, err, errlen);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(spec) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "control: socket path too long: %s", spec);
        return -1;
    }
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", spec);
    unlink(spec);
    listener = evconnlistener_new_bind(sim->base, on_accept, sim, LEV_OPT_CLOSE_ON_FREE, 16,
                                       (struct sockaddr *)&sun, sizeof sun);
    if (!listener) {
        snprintf(err, errlen, "control: cannot listen on %s", spec);
        return -1;
    }
    snprintf(unix_path, sizeof unix_path, "%s", spec);
    return 0;
}

void control_free(void)
{
    while (clients)
        client_free(clients);
    if (listener)
        evconnlistener_free(listener);
    listener = NULL;
    if (unix_path[0])
        unlink(unix_path);
    unix_path[0] = '\0';
}
