/*
 * receipt: delivery receipts, each on its own timer.
 *
 * A receipt goes, when its delay is up, to the connection that submitted the
 * message if that one is bound as receiver or transceiver, else to another
 * such bind of the same system_id. With none bound it waits, as an SMSC's
 * store would, and goes out when a receiver binds (receipt_flush).
 *
 * Forms ("receipts" setting): text is the de-facto standard body
 *   id:ID sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
 *   stat:DELIVRD err:000 text:first 20 chars
 * with esm_class 0x04; tlv carries receipted_message_id and message_state
 * (short_message empty); both carries the two together.
 */
#include "sim.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct receipt {
    struct sim *sim;
    struct event *timer;
    char system_id[16];
    unsigned conn_id;
    bool waiting;            /* due, but no receiver bound yet */
    struct sim_addr src, dst; /* of the submit */
    uint64_t message_id;
    char snippet[21];
    time_t submitted;
    struct receipt *next;
};

void receipt_format_id(uint64_t id, enum ids_mode mode, char *buf, size_t size)
{
    snprintf(buf, size, mode == IDS_HEX ? "%llx" : "%llu", (unsigned long long)id);
}

static void unlink_free(struct receipt *r)
{
    struct receipt **pp = &r->sim->receipts;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    event_free(r->timer);
    free(r);
}

struct receipt *receipt_next(struct receipt *r)
{
    return r->next;
}

void receipt_free_all(struct sim *sim)
{
    while (sim->receipts)
        unlink_free(sim->receipts);
}

static void ymdhm(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%y%m%d%H%M", &tm);
}

static void build(const struct receipt *r, const struct settings *s, struct sim_sm *d)
{
    char id[32], sub[16], done[16];
    int st = s->receipt_state;
    memset(d, 0, sizeof *d);
    d->src = r->dst;
    d->dst = r->src;
    d->esm_class = 0x04;
    receipt_format_id(r->message_id, s->receipt_ids, id, sizeof id);
    if (s->receipts & RECEIPTS_TEXT) {
        ymdhm(r->submitted, sub, sizeof sub);
        ymdhm(time(NULL), done, sizeof done);
        int n = snprintf((char *)d->sm, sizeof d->sm,
                         "id:%s sub:001 dlvrd:%03d submit date:%s done date:%s "
                         "stat:%s err:%03d text:%s",
                         id, settings_state_value(st) == 2 ? 1 : 0, sub, done,
                         settings_state_stat(st), s->receipt_err, r->snippet);
        d->sm_len = n > 253 ? 253 : (size_t)n;
    }
    if (s->receipts & RECEIPTS_TLV) {
        snprintf(d->receipted_id, sizeof d->receipted_id, "%s", id);
        d->has_state = true;
        d->message_state = settings_state_value(st);
    }
}

/* Sends r if a receiver is bound; frees it then. Returns true if sent. */
static bool try_send(struct receipt *r)
{
    struct sim *sim = r->sim;
    struct conn *c = conn_find_receiver(sim, r->system_id, r->conn_id);
    struct sim_sm d;
    char err[256];
    if (!c)
        return false;
    build(r, &sim->set, &d);
    if (conn_send_deliver(c, &d, err, sizeof err) != 0)
        sim_log("receipt for msg=%llu not sent: %s", (unsigned long long)r->message_id, err);
    else
        sim->count.receipts++;
    unlink_free(r);
    return true;
}

static void on_due(evutil_socket_t fd, short what, void *arg)
{
    struct receipt *r = arg;
    (void)fd;
    (void)what;
    if (!try_send(r)) {
        r->waiting = true;
        r->sim->count.receipts_queued++;
    }
}

/* The receipt's text: part of the original message, in characters that read
 * the same in ASCII and GSM 7-bit so the receipt itself needs no escaping. */
static void snippet(const struct sim_sm *sm, char *out, size_t size)
{
    char text[TEXT_MAX];
    struct sm_text t;
    size_t n = 0;
    if (text_sm_decode(sm, &t, text, sizeof text) < 0)
        text[0] = '\0';
    for (const char *p = text; *p && n + 1 < size; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch & 0xC0) == 0x80)
            continue; /* one '.' per non-ASCII character */
        bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9') || strchr(" !\"#%&'()*+,-./:;<=>?", ch);
        out[n++] = plain && ch ? (char)ch : '.';
    }
    out[n] = '\0';
}

void receipt_schedule(struct sim *sim, const struct sim_sm *submit,
                      const char *system_id, unsigned conn_id, uint64_t message_id)
{
    struct receipt *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->sim = sim;
    r->timer = evtimer_new(sim->base, on_due, r);
    if (!r->timer)
        abort();
    snprintf(r->system_id, sizeof r->system_id, "%s", system_id);
    r->conn_id = conn_id;
    r->src = submit->src;
    r->dst = submit->dst;
    r->message_id = message_id;
    r->submitted = time(NULL);
    snippet(submit, r->snippet, sizeof r->snippet);
    struct receipt **pp = &sim->receipts; /* in order, for receipt_flush */
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    long ms = sim->set.receipt_delay_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(r->timer, &tv);
}

void receipt_flush(struct sim *sim, const char *system_id)
{
    struct receipt *r = sim->receipts, *next;
    for (; r; r = next) {
        next = r->next;
        if (r->waiting && strcmp(r->system_id, system_id) == 0 && !try_send(r))
            return;
    }
}
