/*
 * conn: one SMPP client connection on a libevent bufferevent.
 *
 * Input is framed here: the 4-byte command_length is read and bounded
 * (16 .. PDU_MAX_LEN) before anything is unpacked, and exactly one frame is
 * handed to pdu.c. A length out of bounds gets generic_nack ESME_RINVCMDLEN
 * and the connection is closed once that is written, since the stream can no
 * longer be framed.
 *
 * "slow" holds submit_sm_resp / data_sm_resp back in a per-connection FIFO
 * drained by one timer, so answers keep their order; nothing sleeps. A
 * connection that is freed takes its held answers with it: that is what a
 * dropped link mid-window looks like to the client.
 */
#include "sim.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct delayed {
    struct timeval due;
    size_t len;
    uint8_t buf[128];
    struct delayed *next;
};

struct conn {
    struct sim *sim;
    struct bufferevent *bev;
    unsigned id;
    enum bind_kind bound;
    char system_id[16];
    uint32_t next_seq;
    bool closing;         /* close once the output has drained */
    bool unbind_sent;     /* we sent unbind: close on unbind_resp */
    struct delayed *queue, *tail;
    struct event *timer;
    struct conn *next;
};

static const char *const bind_names[] = {"none", "transmitter", "receiver",
                                         "transceiver"};

unsigned conn_id(const struct conn *c)
{
    return c->id;
}

enum bind_kind conn_bound(const struct conn *c)
{
    return c->bound;
}

struct conn *conn_next(struct sim *sim, struct conn *c)
{
    return c ? c->next : sim->conns;
}

unsigned conn_count(const struct sim *sim, bool bound_only)
{
    unsigned n = 0;
    for (const struct conn *c = sim->conns; c; c = c->next)
        if (!bound_only || c->bound != BIND_NONE)
            n++;
    return n;
}

uint32_t conn_next_seq(struct conn *c)
{
    uint32_t s = c->next_seq;
    c->next_seq = s >= 0x7FFFFFFFu ? 1 : s + 1;
    return s;
}

static void send_bytes(struct conn *c, const uint8_t *buf, size_t len)
{
    if (!c->closing)
        bufferevent_write(c->bev, buf, len);
}

static void send_header(struct conn *c, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t buf[PDU_HEADER_LEN];
    pdu_header_write(buf, id, status, seq);
    send_bytes(c, buf, sizeof buf);
}

void conn_send_raw(struct conn *c, const uint8_t *buf, size_t len)
{
    send_bytes(c, buf, len);
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    struct conn **pp = &c->sim->conns;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    while (c->queue) {
        struct delayed *d = c->queue;
        c->queue = d->next;
        free(d);
    }
    if (c->timer)
        event_free(c->timer);
    bufferevent_free(c->bev);
    sim_debug(c->sim, "conn=%u closed", c->id);
    free(c);
}

void conn_free_all(struct sim *sim)
{
    while (sim->conns)
        conn_free(sim->conns);
}

static void on_event(struct bufferevent *bev, short what, void *arg);

static void on_drained(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_free(arg);
}

/* Stops reading, lets what was written go out, then closes. */
static void close_after_write(struct conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
}

static void arm_timer(struct conn *c)
{
    struct timeval now, left;
    if (!c->queue)
        return;
    gettimeofday(&now, NULL);
    if (timercmp(&c->queue->due, &now, <))
        timerclear(&left);
    else
        timersub(&c->queue->due, &now, &left);
    evtimer_add(c->timer, &left);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct timeval now;
    (void)fd;
    (void)what;
    gettimeofday(&now, NULL);
    while (c->queue && !timercmp(&c->queue->due, &now, >)) {
        struct delayed *d = c->queue;
        c->queue = d->next;
        send_bytes(c, d->buf, d->len);
        free(d);
    }
    if (!c->queue)
        c->tail = NULL;
    arm_timer(c);
}

/* Sends a response now, or after "slow" milliseconds behind earlier ones. */
static void respond(struct conn *c, const uint8_t *buf, size_t len)
{
    long ms = c->sim->set.slow_ms;
    if ((ms == 0 && !c->queue) || len > sizeof c->queue->buf) {
        send_bytes(c, buf, len);
        return;
    }
    struct delayed *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    struct timeval now, delay = { ms / 1000, (ms % 1000) * 1000 };
    gettimeofday(&now, NULL);
    timeradd(&now, &delay, &d->due);
    memcpy(d->buf, buf, len);
    d->len = len;
    if (c->tail)
        c->tail->next = d;
    else
        c->queue = d;
    c->tail = d;
    if (!evtimer_pending(c->timer, NULL))
        arm_timer(c);
}

static void respond_status(struct conn *c, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t buf[PDU_HEADER_LEN];
    pdu_header_write(buf, id, status, seq);
    respond(c, buf, sizeof buf);
}

static enum bind_kind bind_kind_of(uint32_t id)
{
    return id == CMD_BIND_TRANSMITTER ? BIND_TX
         : id == CMD_BIND_RECEIVER    ? BIND_RX
                                      : BIND_TRX;
}

static void handle_bind(struct conn *c, const uint8_t *buf, size_t len,
                        const struct pdu_header *h)
{
    struct sim *sim = c->sim;
    struct sim_bind b;
    char err[256];
    uint32_t status = ST_OK;
    if (c->bound != BIND_NONE)
        status = ST_ALYBND;
    else if (pdu_unpack_bind(buf, len, &b, err, sizeof err) != 0) {
        sim_log("conn=%u bind unpack failed: %s", c->id, err);
        status = 0x0D; /* ESME_RBINDFAIL */
    } else if (strcmp(b.system_id, sim->set.system_id) != 0)
        status = ST_INVSYSID;
    else if (strcmp(b.password, sim->set.password) != 0)
        status = ST_INVPASWD;
    if (status != ST_OK) {
        sim->count.bind_failures++;
        sim_debug(sim, "conn=%u bind refused status=0x%02x", c->id, (unsigned)status);
        send_header(c, h->id | CMD_RESP, status, h->seq);
        return;
    }
    uint8_t out[128];
    int n = pdu_pack_bind_resp(h->id | CMD_RESP, h->seq, "smsc-sim", out, sizeof out);
    if (n < 0) {
        send_header(c, h->id | CMD_RESP, ST_SYSERR, h->seq);
        return;
    }
    c->bound = bind_kind_of(h->id);
    snprintf(c->system_id, sizeof c->system_id, "%s", b.system_id);
    sim->count.binds++;
    sim_debug(sim, "conn=%u bound as %s system_id=%s", c->id, bind_names[c->bound],
              c->system_id);
    send_bytes(c, out, (size_t)n);
    if (c->bound != BIND_TX)
        receipt_flush(sim, c->system_id);
}

/* Strict length checks of a submit's user data; returns a command_status. */
static uint32_t check_lengths(const struct sim_sm *sm)
{
    struct udh_concat cc;
    size_t udh = 0;
    const uint8_t *ud = sm->has_payload ? sm->payload : sm->sm;
    size_t ud_len = sm->has_payload ? sm->payload_len : sm->sm_len;
    if (sm->esm_class & 0x40) {
        int n = text_udh_parse(ud, ud_len, &cc);
        if (n < 0)
            return ST_INVESMCLASS;
        udh = (size_t)n;
    }
    if (sm->data_coding == 8 && (ud_len - udh) % 2 != 0)
        return ST_INVMSGLEN;
    if (sm->has_payload)
        return ST_OK;
    if (sm->data_coding == 0) {
        size_t bits = (udh * 8 + 6) / 7 * 7 + (sm->sm_len - udh) * 7;
        return bits <= 140 * 8 ? ST_OK : ST_INVMSGLEN;
    }
    return sm->sm_len <= 140 ? ST_OK : ST_INVMSGLEN;
}

static uint32_t check_submit(const struct sim *sim, const struct sim_sm *sm)
{
    if (!sim->set.strict)
        return ST_OK;
    if (sm->dst.addr[0] == '\0')
        return ST_INVDSTADR;
    if (sm->has_payload && sm->sm_len > 0)
        return ST_INVMSGLEN;
    return check_lengths(sm);
}

static bool throttle_now(struct sim *sim)
{
    const struct settings *s = &sim->set;
    if (s->throttle == THROTTLE_EVERY)
        return ++sim->throttle_k % (unsigned long)s->throttle_n == 0;
    if (s->throttle != THROTTLE_PERCENT)
        return false;
    /* xorshift64: the same seed gives the same throttled submits. */
    uint64_t x = sim->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sim->rng = x;
    return (long)(x % 100) < s->throttle_n;
}

void conn_throttle_reset(struct sim *sim)
{
    sim->throttle_k = 0;
    sim->rng = sim->set.seed ^ 0x9E3779B97F4A7C15ull; /* never zero for seeds < 2^31 */
}

static bool wants_receipt(const struct sim *sim, const struct sim_sm *sm)
{
    unsigned rd = sm->registered_delivery & 0x03;
    if (sim->set.receipts == RECEIPTS_OFF || rd == 0)
        return false;
    /* 2: receipt on failure only. */
    return rd != 2 || settings_state_value(sim->set.receipt_state) != 2;
}

static void accept_submit(struct conn *c, const struct pdu_header *h,
                          const struct sim_sm *sm)
{
    struct sim *sim = c->sim;
    char id[32];
    uint64_t mid = sim->next_message_id++;
    receipt_format_id(mid, sim->set.ids, id, sizeof id);
    sim->count.accepted++;
    const char *kind = h->id == CMD_DATA_SM ? "data_sm" : "submit_sm";
    jlog_submit(sim, kind, sm, c->system_id, c->id, id);
    uint8_t out[128];
    int n = pdu_pack_message_id_resp(h->id | CMD_RESP, h->seq, id, out, sizeof out);
    if (n < 0) {
        respond_status(c, h->id | CMD_RESP, ST_SYSERR, h->seq);
        return;
    }
    respond(c, out, (size_t)n);
    if (wants_receipt(sim, sm))
        receipt_schedule(sim, sm, c->system_id, c->id, mid);
}

/* "drop after N": true when this submit is the one to drop the link on. */
static bool drop_now(struct conn *c, const struct pdu_header *h)
{
    struct sim *sim = c->sim;
    if (sim->set.drop_after > 0)
        sim->set.drop_after--;
    else if (sim->set.drop_after == 0) {
        sim->set.drop_after = -1;
        sim->count.drops++;
        sim_log("conn=%u dropped on submit seq=%u (drop after)", c->id, (unsigned)h->seq);
        /* Answers already written go out; this one and any held back do not. */
        close_after_write(c);
        return true;
    }
    return false;
}

/* Unpacks a submit; on failure answers it and returns false. */
static bool unpack_or_reject(struct conn *c, const uint8_t *buf, size_t len,
                             const struct pdu_header *h, struct sim_sm *sm)
{
    char err[256];
    int rc = pdu_unpack_sm(buf, len, sm, err, sizeof err);
    if (rc == 0)
        return true;
    c->sim->count.rejected++;
    if (rc > 0) {
        sim_log("conn=%u %s", c->id, err);
        respond_status(c, h->id | CMD_RESP, (uint32_t)rc, h->seq);
        return false;
    }
    /* libsmpp34 refused what the precheck let through: answer, then drop, in
     * case it kept (leaked) part of it. */
    sim_log("conn=%u %s; closing", c->id, err);
    send_header(c, h->id | CMD_RESP, ST_SYSERR, h->seq);
    close_after_write(c);
    return false;
}

static void handle_submit(struct conn *c, const uint8_t *buf, size_t len,
                          const struct pdu_header *h)
{
    struct sim *sim = c->sim;
    struct sim_sm sm;
    if (c->bound != BIND_TX && c->bound != BIND_TRX) {
        send_header(c, h->id | CMD_RESP, ST_INVBNDSTS, h->seq);
        return;
    }
    sim->count.submits++;
    if (drop_now(c, h) || !unpack_or_reject(c, buf, len, h, &sm))
        return;
    uint32_t status = check_submit(sim, &sm);
    if (status == ST_OK && throttle_now(sim)) {
        status = ST_THROTTLED;
        sim->count.throttled++;
    } else if (status != ST_OK) {
        sim->count.rejected++;
    }
    if (status != ST_OK)
        respond_status(c, h->id | CMD_RESP, status, h->seq);
    else
        accept_submit(c, h, &sm);
}

static void handle_response(struct conn *c, const struct pdu_header *h)
{
    struct sim *sim = c->sim;
    switch (h->id) {
    case CMD_DELIVER_SM | CMD_RESP:
        sim->count.deliver_resps++;
        if (h->status != ST_OK)
            sim->count.deliver_errors++;
        break;
    case CMD_UNBIND | CMD_RESP:
        if (c->unbind_sent)
            close_after_write(c);
        break;
    case CMD_GENERIC_NACK:
        sim->count.nacks++;
        sim_debug(sim, "conn=%u generic_nack status=0x%08x seq=%u", c->id,
                  (unsigned)h->status, (unsigned)h->seq);
        break;
    default:
        break;
    }
}

/* Handles one framed PDU. Never frees c: closing is deferred (close_after_write). */
static void handle_pdu(struct conn *c, const uint8_t *buf, size_t len)
{
    struct pdu_header h;
    pdu_header_read(buf, &h);
    sim_debug(c->sim, "conn=%u pdu id=0x%08x len=%u seq=%u", c->id, (unsigned)h.id,
              (unsigned)h.length, (unsigned)h.seq);
    switch (h.id) {
    case CMD_BIND_TRANSMITTER:
    case CMD_BIND_RECEIVER:
    case CMD_BIND_TRANSCEIVER:
        handle_bind(c, buf, len, &h);
        return;
    case CMD_SUBMIT_SM:
    case CMD_DATA_SM:
        handle_submit(c, buf, len, &h);
        return;
    case CMD_ENQUIRE_LINK:
        c->sim->count.enquires++;
        if (c->sim->set.enquire)
            send_header(c, CMD_ENQUIRE_LINK | CMD_RESP, ST_OK, h.seq);
        return;
    case CMD_UNBIND:
        send_header(c, CMD_UNBIND | CMD_RESP, ST_OK, h.seq);
        close_after_write(c);
        return;
    default:
        if (h.id & CMD_RESP) {
            handle_response(c, &h);
            return;
        }
        c->sim->count.nacks++;
        send_header(c, CMD_GENERIC_NACK, ST_INVCMDID, h.seq);
        return;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    static uint8_t buf[PDU_MAX_LEN];
    while (!c->closing && evbuffer_get_length(in) >= PDU_HEADER_LEN) {
        struct pdu_header h;
        evbuffer_copyout(in, buf, PDU_HEADER_LEN);
        pdu_header_read(buf, &h);
        if (h.length < PDU_HEADER_LEN || h.length > PDU_MAX_LEN) {
            sim_log("conn=%u bad command_length=%u; closing", c->id, (unsigned)h.length);
            send_header(c, CMD_GENERIC_NACK, ST_INVCMDLEN, h.seq);
            close_after_write(c);
            return;
        }
        if (evbuffer_get_length(in) < h.length)
            return;
        evbuffer_remove(in, buf, h.length);
        handle_pdu(c, buf, h.length);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(arg);
}

void conn_accept(struct sim *sim, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->sim = sim;
    c->id = ++sim->next_conn_id;
    c->next_seq = 1;
    c->bev = bufferevent_socket_new(sim->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(sim->base, on_timer, c);
    if (!c->bev || !c->timer)
        abort();
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = sim->conns;
    sim->conns = c;
    sim->count.connections++;
    sim_debug(sim, "conn=%u accepted", c->id);
}

struct conn *conn_find_receiver(struct sim *sim, const char *system_id,
                                unsigned prefer_id)
{
    struct conn *found = NULL;
    for (struct conn *c = sim->conns; c; c = c->next) {
        if (c->closing || (c->bound != BIND_RX && c->bound != BIND_TRX))
            continue;
        if (system_id && strcmp(c->system_id, system_id) != 0)
            continue;
        if (c->id == prefer_id)
            return c;
        if (!found || c->id < found->id)
            found = c;
    }
    return found;
}

int conn_send_deliver(struct conn *c, const struct sim_sm *sm, char *err, size_t errlen)
{
    uint8_t out[PDU_MAX_LEN];
    int n = pdu_pack_deliver_sm(conn_next_seq(c), sm, out, sizeof out, err, errlen);
    if (n < 0)
        return -1;
    send_bytes(c, out, (size_t)n);
    return 0;
}

void conn_send_unbind(struct conn *c)
{
    c->unbind_sent = true;
    send_header(c, CMD_UNBIND, ST_OK, conn_next_seq(c));
}
