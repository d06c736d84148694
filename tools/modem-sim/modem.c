/*
 * modem: the pseudo-terminal, byte I/O, unsolicited result codes and the SIM
 * message store of one simulated modem. AT commands live in at.c, control
 * verbs in mctl.c.
 *
 * We keep our own fd on the pty slave open: without it, the master reads EIO
 * (and polls as hung up) whenever the gateway has the slave closed, and the
 * loop would spin. Output goes through an evbuffer drained on EV_WRITE, since
 * a pty whose reader is away fills up and answers EAGAIN.
 */
#include "tools/modem-sim/modem_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_latency(evutil_socket_t fd, short what, void *arg);

/* ---- pseudo-terminal ---------------------------------------------------- */

/* Points path at target atomically: a temporary link renamed over the old one. */
static int link_replace(const char *target, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a symlink", path);
        return -1;
    }
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "link %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int pty_open(struct modem *m, char *err, size_t errlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    const char *name = fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0 ? NULL : ptsname(fd);
    if (name == NULL) {
        snprintf(err, errlen, "pty: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(m->slave_name, sizeof m->slave_name, "%s", name);
    m->slave_keep = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct termios t;
    if (m->slave_keep < 0 || tcgetattr(m->slave_keep, &t) != 0) {
        snprintf(err, errlen, "pty slave %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(m->slave_keep, TCSANOW, &t);
    m->master = fd;
    return link_replace(name, m->path, err, errlen);
}

static void pty_close(struct modem *m)
{
    if (m->ev_read)
        event_free(m->ev_read);
    if (m->ev_write)
        event_free(m->ev_write);
    m->ev_read = m->ev_write = NULL;
    if (m->master >= 0)
        close(m->master);
    if (m->slave_keep >= 0)
        close(m->slave_keep);
    m->master = m->slave_keep = -1;
    evbuffer_drain(m->out, evbuffer_get_length(m->out));
}

static int plug(struct modem *m, char *err, size_t errlen)
{
    if (pty_open(m, err, errlen) != 0) {
        pty_close(m);
        return -1;
    }
    m->ev_read = event_new(m->base, m->master, EV_READ | EV_PERSIST, on_read, m);
    m->ev_write = event_new(m->base, m->master, EV_WRITE, on_write, m);
    event_add(m->ev_read, NULL);
    m->plugged = true;
    m->hung = false;
    m->in_len = 0;
    m->input = MODEM_IN_COMMAND;
    m->n.plugs++;
    /* A power cycle: settings back to defaults, the SIM asks for its PIN again. */
    modem_reset_settings(m);
    if (m->pin_enabled && m->pin_state == MODEM_PIN_READY)
        m->pin_state = MODEM_PIN_SIM_PIN;
    return 0;
}

int modem_unplug(struct modem *m)
{
    if (!m->plugged)
        return -1;
    event_del(m->ev_latency);
    pty_close(m);
    unlink(m->path);
    evbuffer_drain(m->held, evbuffer_get_length(m->held));
    m->plugged = false;
    return 0;
}

int modem_replug(struct modem *m, char *err, size_t errlen)
{
    if (m->plugged) {
        snprintf(err, errlen, "already plugged");
        return -1;
    }
    return plug(m, err, errlen);
}

/* ---- lifecycle ---------------------------------------------------------- */

void modem_reset_settings(struct modem *m)
{
    m->set = (struct modem_settings){.echo = true, .cfun = 1};
    for (int k = 0; k < 3; k++)
        snprintf(m->set.cpms[k], sizeof m->set.cpms[k], "SM");
}

struct modem *modem_new(struct event_base *base, const struct modem_config *cfg,
                        char *err, size_t errlen)
{
    struct modem *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->base = base;
    snprintf(m->name, sizeof m->name, "%s", cfg->name);
    snprintf(m->path, sizeof m->path, "%s", cfg->path);
    m->index = cfg->index;
    m->log = cfg->log;
    m->master = m->slave_keep = -1;
    m->nslots = cfg->slots > 0 ? cfg->slots : 20;
    m->slots = calloc((size_t)m->nslots, sizeof *m->slots);
    m->out = evbuffer_new();
    m->held = evbuffer_new();
    m->ev_latency = evtimer_new(base, on_latency, m);
    m->pin_enabled = cfg->pin && cfg->pin[0];
    snprintf(m->pin, sizeof m->pin, "%s", m->pin_enabled ? cfg->pin : "0000");
    snprintf(m->puk, sizeof m->puk, "%s", cfg->puk && cfg->puk[0] ? cfg->puk : "12345678");
    m->pin_state = MODEM_PIN_READY;
    m->pin_tries = 3;
    m->puk_tries = 10;
    m->reg = 1;
    m->csq = 20;
    snprintf(m->op, sizeof m->op, "Homing Sim");
    snprintf(m->csca, sizeof m->csca, "+353870000000");
    m->next_mr = 0;
    m->concat_ref = 1 + cfg->index * 40;
    m->fail_code = 500;
    if (!m->slots || !m->out || !m->held || !m->ev_latency || plug(m, err, errlen) != 0) {
        modem_free(m);
        return NULL;
    }
    return m;
}

void modem_free(struct modem *m)
{
    if (m == NULL)
        return;
    if (m->plugged)
        modem_unplug(m);
    if (m->ev_latency)
        event_free(m->ev_latency);
    if (m->out)
        evbuffer_free(m->out);
    if (m->held)
        evbuffer_free(m->held);
    free(m->slots);
    free(m);
}

const char *modem_name(const struct modem *m)
{
    return m->name;
}

/* ---- byte I/O ------------------------------------------------------------ */

static void drain_out(struct modem *m)
{
    while (evbuffer_get_length(m->out) > 0) {
        int r = evbuffer_write(m->out, m->master);
        if (r > 0)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            event_add(m->ev_write, NULL);
        else
            evbuffer_drain(m->out, evbuffer_get_length(m->out));
        return;
    }
}

void modem_write(struct modem *m, const char *data, size_t len)
{
    /* A hung modem says nothing; output nobody reads is capped, like a UART FIFO. */
    if (!m->plugged || m->hung || evbuffer_get_length(m->out) + len > MODEM_OUT_MAX)
        return;
    evbuffer_add(m->out, data, len);
    drain_out(m);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain_out(arg);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct modem *m = arg;
    (void)what;
    char buf[1024];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0)
        return;    /* EAGAIN; EIO cannot happen while we hold the slave open */
    if (m->hung)
        return;
    size_t room = sizeof m->in - m->in_len;
    size_t k = (size_t)r < room ? (size_t)r : room;
    memcpy(m->in + m->in_len, buf, k);
    m->in_len += k;
    at_process(m);
}

static void on_latency(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    at_latency_done(arg);
}

/* ---- unsolicited result codes ---------------------------------------------- */

void modem_urc(struct modem *m, const char *line, const char *pdu)
{
    if (!m->plugged || m->hung) {
        m->n.urcs_dropped++;
        return;
    }
    m->n.urcs++;
    /* Held while a command runs or the gateway types a PDU, or by request
     * until the gateway's next command. */
    bool hold = m->defer_urcs || m->in_command || m->input == MODEM_IN_PDU;
    struct evbuffer *b = hold ? m->held : m->out;
    evbuffer_add_printf(b, "\r\n%s\r\n", line);
    if (pdu)
        evbuffer_add_printf(b, "%s\r\n", pdu);
    if (!hold)
        drain_out(m);
}

void modem_flush_held(struct modem *m)
{
    size_t len = evbuffer_get_length(m->held);
    if (len == 0)
        return;
    if (m->plugged && !m->hung)
        evbuffer_remove_buffer(m->held, m->out, len);
    evbuffer_drain(m->held, evbuffer_get_length(m->held));
    drain_out(m);
}

/* What +CREG reports: the network's state, if the radio is on and the SIM unlocked. */
int modem_creg_stat(const struct modem *m)
{
    if (m->set.cfun != 1 || m->pin_state != MODEM_PIN_READY)
        return 0;
    return m->reg;
}

void modem_net_changed(struct modem *m, int old_stat)
{
    int now = modem_creg_stat(m);
    if (now == old_stat || m->set.creg_n == 0)
        return;
    char line[64];
    if (m->set.creg_n == 2 && (now == 1 || now == 5))
        snprintf(line, sizeof line, "+CREG: %d,\"00A1\",\"%04X\"", now, 0x1000 + m->index);
    else
        snprintf(line, sizeof line, "+CREG: %d", now);
    modem_urc(m, line, NULL);
}

/* ---- SIM storage ------------------------------------------------------------- */

/* Stores a PDU in the first free slot; returns its 1-based index, or -1 when full. */
int modem_store(struct modem *m, const char *hex, int len, bool report)
{
    for (int k = 0; k < m->nslots; k++) {
        struct sim_slot *s = &m->slots[k];
        if (s->used)
            continue;
        *s = (struct sim_slot){.used = true, .report = report, .stat = 0, .len = len};
        snprintf(s->hex, sizeof s->hex, "%s", hex);
        return k + 1;
    }
    return -1;
}

/* ---- the submit log ---------------------------------------------------------- */

static void iso_now(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

static json_t *validity_json(const struct simpdu_submit *s)
{
    static const char *formats[] = {"none", "enhanced", "relative", "absolute"};
    if (s->vpf == 0)
        return json_null();
    if (s->vpf == 2)
        return json_pack("{s:s, s:i}", "format", formats[2], "relative", s->vp_relative);
    return json_pack("{s:s, s:s}", "format", formats[s->vpf], "raw", s->vp_hex);
}

static json_t *concat_json(const struct simpdu_concat *c)
{
    if (!c->present)
        return json_null();
    return json_pack("{s:i, s:i, s:i}", "ref", c->ref, "total", c->total, "seq", c->seq);
}

void modem_log_submit(struct modem *m, const struct simpdu_submit *s, int mr)
{
    static const char *encs[] = {"gsm7", "8bit", "ucs2"};
    if (m->log == NULL)
        return;
    char when[40];
    iso_now(when, sizeof when);
    json_t *text = json_string(s->text);
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:i, s:s, s:o, s:o, s:b, s:o, s:i, s:s, s:s}",
                          "modem", m->name, "mr", mr, "to", s->to, "toa", s->to_toa,
                          "dcs", s->dcs, "encoding", encs[s->enc],
                          "concat", concat_json(&s->concat),
                          "text", text ? text : json_null(), "srr", s->srr,
                          "validity", validity_json(s), "length", s->tpdu_len,
                          "pdu", m->pdu, "time", when);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) {
        fprintf(m->log, "%s\n", line);
        fflush(m->log);
    }
    free(line);
    json_decref(o);
}
