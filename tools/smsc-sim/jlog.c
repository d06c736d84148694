/*
 * jlog: the JSON-lines log of every message the simulator accepted.
 *
 * One object per line, flushed before the submit_sm_resp is written, so a
 * test that has the response can read the line. Field names are a contract
 * with homing's integration tests (see README.md).
 */
#include "sim.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Fields copied from the wire may hold any bytes: keep printable ASCII. */
static json_t *str_json(const char *in)
{
    char buf[128];
    size_t n = 0;
    for (; *in && n + 1 < sizeof buf; in++) {
        unsigned char ch = (unsigned char)*in;
        buf[n++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
    }
    buf[n] = '\0';
    return json_string(buf);
}

static json_t *addr_json(const struct sim_addr *a)
{
    return json_pack("{s:o, s:i, s:i}", "addr", str_json(a->addr), "ton", a->ton,
                     "npi", a->npi);
}

static json_t *concat_json(const struct sim_sm *sm, const struct sm_text *t)
{
    if (t->concat.present)
        return json_pack("{s:s, s:i, s:i, s:i, s:i}", "method", "udh",
                         "ref", t->concat.ref, "total", t->concat.total,
                         "seq", t->concat.seq, "ref_bits", t->concat.ref_bits);
    if (sm->has_sar)
        return json_pack("{s:s, s:i, s:i, s:i}", "method", "sar", "ref", sm->sar_ref,
                         "total", sm->sar_total, "seq", sm->sar_seq);
    if (sm->has_payload)
        return json_pack("{s:s}", "method", "payload");
    return json_null();
}

static json_t *hex_json(const uint8_t *buf, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (!hex)
        abort();
    text_hex(buf, len, hex);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static void now_iso(char *buf, size_t size)
{
    struct timeval tv;
    struct tm tm;
    char base[32];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%.19s.%03dZ", base, (int)(tv.tv_usec / 1000) % 1000);
}

static void add_text(json_t *o, const struct sim_sm *sm)
{
    static char text[TEXT_MAX];
    struct sm_text t;
    int rc = text_sm_decode(sm, &t, text, sizeof text);
    json_object_set_new(o, "text", rc == 0 ? json_string(text) : json_null());
    json_object_set_new(o, "concat", concat_json(sm, &t));
    json_object_set_new(o, "udh", t.udh_len ? hex_json(t.ud, t.udh_len) : json_null());
}

static void set_int(json_t *o, const char *key, long v)
{
    json_object_set_new(o, key, json_integer(v));
}

void jlog_submit(struct sim *sim, const char *kind, const struct sim_sm *sm,
                 const char *system_id, unsigned conn_id, const char *message_id)
{
    char when[48];
    if (!sim->log)
        return;
    now_iso(when, sizeof when);
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "message_id", json_string(message_id));
    json_object_set_new(o, "system_id", str_json(system_id));
    set_int(o, "conn", conn_id);
    json_object_set_new(o, "service_type", str_json(sm->service_type));
    json_object_set_new(o, "source", addr_json(&sm->src));
    json_object_set_new(o, "destination", addr_json(&sm->dst));
    set_int(o, "esm_class", sm->esm_class);
    set_int(o, "protocol_id", sm->protocol_id);
    set_int(o, "data_coding", sm->data_coding);
    set_int(o, "registered_delivery", sm->registered_delivery);
    json_object_set_new(o, "validity", str_json(sm->validity));
    json_object_set_new(o, "schedule", str_json(sm->schedule));
    add_text(o, sm);
    json_object_set_new(o, "short_message", hex_json(sm->sm, sm->sm_len));
    json_object_set_new(o, "message_payload",
                        sm->has_payload ? hex_json(sm->payload, sm->payload_len) : json_null());
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line) {
        sim_log("jlog: cannot write the log line for msg=%s", message_id);
        return;
    }
    fprintf(sim->log, "%s\n", line);
    fflush(sim->log);
    free(line);
}
