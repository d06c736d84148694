/* message_json: a message as the CLI's --json and the HTTP API show it (DESIGN.md names). */
#include "gateway/message_json.h"

#include "gateway/clock.h"

static json_t *json_time(int64_t t)
{
    char buf[40];
    return t > 0 ? json_string(clock_iso8601(t, buf, sizeof buf)) : json_null();
}

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *parts_json(const struct store_message *m)
{
    json_t *list = json_array();
    for (size_t i = 0; i < m->n_parts; i++) {
        const struct store_part *p = &m->parts[i];
        json_array_append_new(list, json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}",
            "index", p->index, "state", store_part_state_name(p->state),
            "ref", json_str_or_null(p->ref), "receipt", json_str_or_null(p->receipt),
            "submitted_at", json_time(p->submitted_at), "done_at", json_time(p->done_at)));
    }
    return list;
}

json_t *message_json(const struct store_message *m, bool with_parts)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "to", json_string(m->to));
    json_object_set_new(o, "from", json_str_or_null(m->from));
    json_object_set_new(o, "state", json_string(store_msg_state_name(m->state)));
    json_object_set_new(o, "encoding", json_string(m->encoding));
    json_object_set_new(o, "segments", json_integer(m->segments));
    json_object_set_new(o, "route", json_str_or_null(m->route));
    json_object_set_new(o, "created_at", json_time(m->created_at));
    json_object_set_new(o, "sent_at", json_time(m->sent_at));
    json_object_set_new(o, "expires_at", json_time(m->expires_at));
    json_object_set_new(o, "campaign", json_str_or_null(m->campaign));
    json_object_set_new(o, "step", m->campaign ? json_integer(m->step) : json_null());
    json_object_set_new(o, "attempts", json_integer(m->attempts));
    json_object_set_new(o, "source", json_str_or_null(m->source));
    json_object_set_new(o, "last_error", json_str_or_null(m->last_error));
    json_object_set_new(o, "text", json_string(m->body));
    if (with_parts)
        json_object_set_new(o, "parts", parts_json(m));
    return o;
}

