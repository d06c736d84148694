/*
 * smpp_conn: one TCP session to an SMSC, on the loop.
 *
 *   DOWN --retry timer--> CONNECTING --writable, no error--> BINDING
 *        --bind_resp ROK--> BOUND --link lost / unbind / malformed--> DOWN
 *
 * Connect and bind each have response_timeout to finish. A refused bind is
 * logged as an error naming the status, and like a failed connect is tried
 * again after a backoff that doubles from 1s up to reconnect_max, with
 * jitter. A bound session sends enquire_link every enquire_link interval;
 * no enquire_link_resp within response_timeout means the link is dead.
 *
 * Input is framed here (smpp_frame, bounded by SMPP_PDU_MAX) and decoded
 * (smpp_decode); a framing or decode error resets the session, since the
 * stream cannot be trusted after it (and libsmpp34 leaks on bad TLVs).
 * TCP_NODELAY is set: with Nagle, a window of small PDUs meets the peer's
 * delayed ACK and stalls for 40-200 ms at a time. While a read's PDUs are
 * handled, output is held and then sent in one send(): each submit_sm_resp
 * lets the next submit out, and these went one system call each.
 *
 * Host names are resolved with getaddrinfo(), which blocks for a name that
 * is not in /etc/hosts; carriers give addresses, so this was left simple.
 */
#include "gateway/smpp_priv.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/clock.h"
#include "gateway/log.h"
#include "gateway/loop.h"

#define RECONNECT_BASE_MS 1000
#define UNBIND_WAIT_MS 500

static void conn_connect(void *arg);

static const char *const state_names[] = { "down", "connecting", "binding", "bound" };

static void set_state(struct smpp_conn *c, enum conn_state state, const char *text)
{
    c->state = state;
    c->state_ms = clock_mono_ms();
    if (text)
        snprintf(c->status, sizeof c->status, "%s", text);
    else if (state == CONN_BOUND)
        snprintf(c->status, sizeof c->status, "bound (%s)", c->role);
    else
        snprintf(c->status, sizeof c->status, "%s", state_names[state]);
}

uint32_t smpp_conn_seq(struct smpp_conn *c)
{
    c->seq = smpp_seq_next(c->seq);
    return c->seq;
}

/* --- output --------------------------------------------------------------- */

static void flush_out(struct smpp_conn *c)
{
    while (c->fd >= 0 && c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EAGAIN: wait for writable; an error shows on the read side */
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (c->wr && c->state != CONN_CONNECTING) {
        if (c->out_len > 0)
            loop_event_resume(c->wr);
        else
            loop_event_pause(c->wr);
    }
}

void smpp_conn_send(struct smpp_conn *c, const uint8_t *buf, size_t len)
{
    if (c->fd < 0)
        return;
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out)
            abort();
    }
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    if (!c->corked)
        flush_out(c);
}

void smpp_conn_resp(struct smpp_conn *c, uint32_t command_id, uint32_t status, uint32_t seq)
{
    uint8_t buf[SMPP_PDU_MAX + 1];
    char err[SMPP_ERROR_MAX];
    int n = smpp_encode_resp(command_id, status, NULL, seq, buf, sizeof buf, err, sizeof err);
    if (n < 0)
        log_error("bind=%s %s: cannot encode %s: %s", c->s->name, c->role,
                  smpp_command_name(command_id), err);
    else
        smpp_conn_send(c, buf, (size_t)n);
}

static void send_simple(struct smpp_conn *c, uint32_t command_id, uint32_t seq)
{
    uint8_t buf[SMPP_HEADER_LEN + 1];
    char err[SMPP_ERROR_MAX];
    int n = smpp_encode_simple(command_id, seq, buf, sizeof buf, err, sizeof err);
    if (n > 0)
        smpp_conn_send(c, buf, (size_t)n);
}

/* --- closing and reconnecting ------------------------------------------------ */

static void close_fd(struct smpp_conn *c)
{
    if (c->corked && c->fd >= 0)
        flush_out(c); /* what was held, as if it had been sent at once */
    c->corked = false;
    loop_event_free(c->rd);
    loop_event_free(c->wr);
    c->rd = c->wr = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = c->out_len = 0;
    c->enquire_sent_ms = 0;
}

static int64_t schedule_retry(struct smpp_conn *c)
{
    int64_t delay = smpp_backoff_ms(c->failures > 0 ? c->failures - 1 : 0, RECONNECT_BASE_MS,
                                    c->s->reconnect_max_ms,
                                    (double)random() / ((double)RAND_MAX + 1));
    loop_event_free(c->retry);
    c->retry = loop_timer_new(c->s->loop, delay, 0, conn_connect, c);
    return delay;
}

/* Closes and schedules the next try; `failed` counts it towards the backoff. */
static void conn_close(struct smpp_conn *c, const char *why, bool failed)
{
    close_fd(c);
    c->failures = failed ? c->failures + 1 : 0;
    int64_t delay = schedule_retry(c);
    char text[sizeof c->status];
    snprintf(text, sizeof text, "%s, retry in %.1fs", why, (double)delay / 1000);
    set_state(c, CONN_DOWN, text);
    log_warnx("bind=%s %s down: %s", c->s->name, c->role, text);
    smpp_on_lost(c->s, c, why);
}

void smpp_conn_down(struct smpp_conn *c, const char *why)
{
    conn_close(c, why, false);
}

/* --- binding --------------------------------------------------------------- */

static void send_bind(struct smpp_conn *c)
{
    struct smpp_bind b = { .interface_version = 0x34 };
    snprintf(b.system_id, sizeof b.system_id, "%s", c->s->system_id);
    snprintf(b.password, sizeof b.password, "%s", c->s->password);
    snprintf(b.system_type, sizeof b.system_type, "%s", c->s->system_type);
    uint8_t buf[SMPP_PDU_MAX + 1];
    char err[SMPP_ERROR_MAX];
    c->bind_seq = smpp_conn_seq(c);
    int n = smpp_encode_bind(c->bind_cmd, &b, c->bind_seq, buf, sizeof buf, err, sizeof err);
    if (n < 0) {
        log_error("bind=%s cannot encode %s: %s", c->s->name, smpp_command_name(c->bind_cmd), err);
        conn_close(c, err, true);
        return;
    }
    set_state(c, CONN_BINDING, NULL);
    smpp_conn_send(c, buf, (size_t)n);
}

static void on_bind_resp(struct smpp_conn *c, const struct smpp_pdu *p)
{
    uint32_t st = p->h.command_status;
    if (st != SMPP_ESME_ROK) {
        char why[SMPP_ERROR_MAX], text[SMPP_ERROR_MAX + 16];
        const char *name = smpp_status_name(st);
        smpp_status_text(st, why, sizeof why);
        log_error("bind=%s %s refused by the SMSC: %s (check system_id, password and "
                  "system_type)", c->s->name, smpp_command_name(c->bind_cmd), why);
        snprintf(text, sizeof text, "bind failed: %s", name ? name : why);
        conn_close(c, text, true);
        return;
    }
    c->failures = 0;
    c->enquire_last_ms = clock_mono_ms();
    set_state(c, CONN_BOUND, NULL);
    log_info("bind=%s bound (%s) host=%s port=%d smsc_system_id=%s", c->s->name, c->role,
             c->s->host, c->s->port, p->system_id);
    smpp_on_bound(c->s, c);
}

/* --- input ------------------------------------------------------------------ */

const char *smpp_hex(const uint8_t *raw, size_t len, char *out, size_t size)
{
    size_t shown = len < 64 ? len : 64, used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < shown && used + 3 < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%02x", raw[i]);
    if (shown < len && used + 4 < size)
        snprintf(out + used, size - used, "...");
    return out;
}

/* The resp that answers a request: its own for those an SMSC sends us, else generic_nack. */
static uint32_t resp_of(uint32_t command_id)
{
    switch (command_id) {
    case SMPP_DELIVER_SM:
    case SMPP_DATA_SM:
    case SMPP_ENQUIRE_LINK:
    case SMPP_UNBIND:
        return command_id | SMPP_RESP_BIT;
    default:
        return SMPP_GENERIC_NACK;
    }
}

static void on_malformed(struct smpp_conn *c, const struct smpp_pdu *p, const uint8_t *raw,
                         size_t len, const char *err)
{
    char hex[160];
    log_error("bind=%s %s: malformed %s from the SMSC: %s; resetting the session hex=%s",
              c->s->name, c->role, smpp_command_name(p->h.command_id), err,
              smpp_hex(raw, len, hex, sizeof hex));
    if (!(p->h.command_id & SMPP_RESP_BIT) && p->h.sequence_number != 0)
        smpp_conn_resp(c, resp_of(p->h.command_id),
                       p->nack_status ? p->nack_status : SMPP_ESME_RSYSERR,
                       p->h.sequence_number);
    smpp_conn_down(c, "malformed PDU from the SMSC");
}

static void on_generic_nack(struct smpp_conn *c, const struct smpp_pdu *p)
{
    char why[SMPP_ERROR_MAX];
    if (smpp_on_submit_resp(c->s, c, p))
        return;
    smpp_status_text(p->h.command_status, why, sizeof why);
    if (c->state == CONN_BINDING && p->h.sequence_number == c->bind_seq) {
        struct smpp_pdu copy = *p;
        copy.h.command_status = p->h.command_status ? p->h.command_status : SMPP_ESME_RSYSERR;
        on_bind_resp(c, &copy);
    } else if (p->h.sequence_number == c->enquire_seq) {
        c->enquire_sent_ms = 0; /* it answered: the link is alive */
    } else {
        log_warnx("bind=%s %s: generic_nack %s seq=%u", c->s->name, c->role, why,
                  p->h.sequence_number);
    }
}

static void on_pdu(struct smpp_conn *c, const struct smpp_pdu *p, const uint8_t *raw, size_t len)
{
    uint32_t seq = p->h.sequence_number;
    switch (p->h.command_id) {
    case SMPP_BIND_TRANSCEIVER_RESP:
    case SMPP_BIND_TRANSMITTER_RESP:
    case SMPP_BIND_RECEIVER_RESP:
        if (c->state == CONN_BINDING && seq == c->bind_seq)
            on_bind_resp(c, p);
        break;
    case SMPP_ENQUIRE_LINK:
        smpp_conn_resp(c, SMPP_ENQUIRE_LINK_RESP, SMPP_ESME_ROK, seq);
        break;
    case SMPP_ENQUIRE_LINK_RESP:
        c->enquire_sent_ms = 0;
        break;
    case SMPP_UNBIND:
        smpp_conn_resp(c, SMPP_UNBIND_RESP, SMPP_ESME_ROK, seq);
        smpp_conn_down(c, "the SMSC unbound");
        break;
    case SMPP_UNBIND_RESP:
        smpp_conn_down(c, "unbound");
        break;
    case SMPP_GENERIC_NACK:
        on_generic_nack(c, p);
        break;
    case SMPP_SUBMIT_SM_RESP:
    case SMPP_DATA_SM_RESP:
        if (!smpp_on_submit_resp(c->s, c, p))
            log_debug("bind=%s %s for no outstanding submit seq=%u", c->s->name,
                      smpp_command_name(p->h.command_id), seq);
        break;
    case SMPP_DELIVER_SM:
    case SMPP_DATA_SM:
        smpp_on_deliver(c->s, c, p, raw, len);
        break;
    default: /* a request an ESME does not serve (submit_sm, bind ...) */
        if (!(p->h.command_id & SMPP_RESP_BIT))
            smpp_conn_resp(c, SMPP_GENERIC_NACK, SMPP_ESME_RINVCMDID, seq);
        break;
    }
}

static void handle_frame(struct smpp_conn *c, const uint8_t *buf, size_t len)
{
    struct smpp_pdu p;
    char err[SMPP_ERROR_MAX];
    int v = smpp_decode(buf, len, &p, err, sizeof err);
    if (v < 0) {
        on_malformed(c, &p, buf, len, err);
        return;
    }
    log_debug("bind=%s %s got %s seq=%u status=0x%08x", c->s->name, c->role,
              smpp_command_name(p.h.command_id), p.h.sequence_number, p.h.command_status);
    if (v == SMPP_NACK) {
        log_warnx("bind=%s %s: command_id 0x%08x unknown: answered generic_nack", c->s->name,
                  c->role, p.h.command_id);
        smpp_conn_resp(c, SMPP_GENERIC_NACK, p.nack_status, p.h.sequence_number);
    } else if (v == SMPP_HANDLE) {
        on_pdu(c, &p, buf, len);
    }
}

/* Handles every whole PDU in the input buffer; false once the session closed. */
static bool drain_input(struct smpp_conn *c)
{
    size_t used = 0;
    while (c->fd >= 0) {
        ssize_t n = smpp_frame(c->in + used, c->in_len - used, SMPP_PDU_MAX);
        if (n == -2)
            break;
        if (n < 0) {
            char hex[160];
            log_error("bind=%s %s: bad PDU framing from the SMSC (command_length out of "
                      "16..%d); resetting the session hex=%s", c->s->name, c->role,
                      SMPP_PDU_MAX, smpp_hex(c->in + used, c->in_len - used, hex, sizeof hex));
            smpp_conn_down(c, "malformed PDU framing from the SMSC");
            return false;
        }
        handle_frame(c, c->in + used, (size_t)n);
        used += (size_t)n;
    }
    if (c->fd < 0)
        return false;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return true;
}

static void on_readable(void *arg)
{
    struct smpp_conn *c = arg;
    struct smpp *s = c->s;
    c->corked = true;
    for (int rounds = 0; rounds < 16 && c->fd >= 0; rounds++) {
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (n <= 0) {
            char why[160];
            snprintf(why, sizeof why, "%s", n == 0 ? "the SMSC closed the connection"
                                                   : strerror(errno));
            conn_close(c, why, c->state != CONN_BOUND);
            break;
        }
        c->in_len += (size_t)n;
        if (!drain_input(c))
            break;
    }
    c->corked = false;
    flush_out(c);
    smpp_after_io(s);
}

static void on_writable(void *arg)
{
    struct smpp_conn *c = arg;
    if (c->state != CONN_CONNECTING) {
        flush_out(c);
        return;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (soerr != 0) {
        char why[160];
        snprintf(why, sizeof why, "connect to %s:%d: %s", c->s->host, c->s->port, strerror(soerr));
        conn_close(c, why, true);
        smpp_after_io(c->s);
        return;
    }
    loop_event_pause(c->wr);
    c->state = CONN_BINDING; /* flush_out manages the write watch from here */
    send_bind(c);
}

/* --- connecting ----------------------------------------------------------------- */

static int open_socket(struct smpp_conn *c, char *why, size_t size)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV }, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", c->s->port);
    int rc = getaddrinfo(c->s->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, size, "cannot resolve %s: %s", c->s->host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, size, "socket: %s", strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(why, size, "connect to %s:%d: %s", c->s->host, c->s->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void conn_connect(void *arg)
{
    struct smpp_conn *c = arg;
    char why[200];
    loop_event_free(c->retry);
    c->retry = NULL;
    c->fd = open_socket(c, why, sizeof why);
    if (c->fd < 0) {
        conn_close(c, why, true);
        smpp_after_io(c->s);
        return;
    }
    c->seq = 0;
    set_state(c, CONN_CONNECTING, NULL);
    c->rd = loop_fd_new(c->s->loop, c->fd, LOOP_READ, on_readable, c);
    c->wr = loop_fd_new(c->s->loop, c->fd, LOOP_WRITE, on_writable, c);
    loop_event_resume(c->wr);
}

/* --- timers ------------------------------------------------------------------ */

void smpp_conn_tick(struct smpp_conn *c, int64_t now)
{
    char why[120];
    int64_t limit = c->s->response_ms;
    if ((c->state == CONN_CONNECTING || c->state == CONN_BINDING) && now - c->state_ms > limit) {
        snprintf(why, sizeof why, "no %s within %llds",
                 c->state == CONN_CONNECTING ? "connection" : "bind_resp",
                 (long long)(limit / 1000));
        conn_close(c, why, true);
        return;
    }
    if (c->state != CONN_BOUND)
        return;
    if (c->enquire_sent_ms && now - c->enquire_sent_ms > limit) {
        snprintf(why, sizeof why, "no enquire_link_resp within %llds: link dead",
                 (long long)(limit / 1000));
        smpp_conn_down(c, why);
        return;
    }
    if (!c->enquire_sent_ms && now - c->enquire_last_ms >= c->s->enquire_ms) {
        c->enquire_seq = smpp_conn_seq(c);
        c->enquire_sent_ms = c->enquire_last_ms = now;
        send_simple(c, SMPP_ENQUIRE_LINK, c->enquire_seq);
    }
}

/* --- life cycle ----------------------------------------------------------------- */

struct smpp_conn *smpp_conn_new(struct smpp *s, const char *role, uint32_t bind_cmd, bool sends)
{
    struct smpp_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->s = s;
    c->role = role;
    c->bind_cmd = bind_cmd;
    c->sends = sends;
    c->fd = -1;
    set_state(c, CONN_DOWN, "connecting");
    c->retry = loop_timer_new(s->loop, 0, 0, conn_connect, c);
    return c;
}

/* Sends unbind and reads until its answer, the peer closing, or UNBIND_WAIT_MS. */
static void unbind_briefly(struct smpp_conn *c)
{
    uint8_t buf[SMPP_HEADER_LEN + 1];
    char err[SMPP_ERROR_MAX];
    int n = smpp_encode_simple(SMPP_UNBIND, smpp_conn_seq(c), buf, sizeof buf, err, sizeof err);
    if (n < 0 || send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
        return;
    int64_t until = clock_mono_ms() + UNBIND_WAIT_MS;
    size_t have = 0;
    uint8_t in[SMPP_HEADER_LEN * 4];
    for (int64_t left; (left = until - clock_mono_ms()) > 0;) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        if (poll(&pfd, 1, (int)left) <= 0)
            return;
        ssize_t got = recv(c->fd, in + have, sizeof in - have, 0);
        if (got <= 0)
            return;
        have += (size_t)got;
        struct smpp_header h;
        while (have >= SMPP_HEADER_LEN && smpp_header_read(in, have, &h) == 0) {
            if (h.command_id == SMPP_UNBIND_RESP)
                return;
            have = 0; /* anything else in the way (a deliver_sm): the SMSC will resend it */
        }
    }
}

void smpp_conn_free(struct smpp_conn *c)
{
    if (!c)
        return;
    if (c->state == CONN_BOUND && c->fd >= 0) {
        flush_out(c);
        unbind_briefly(c);
        log_info("bind=%s %s unbound", c->s->name, c->role);
    }
    close_fd(c);
    loop_event_free(c->retry);
    free(c->out);
    free(c);
}
