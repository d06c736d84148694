/* status_json: see status_json.h. */
#include "gateway/status_json.h"

#include <string.h>

#include "gateway/clock.h"

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *status_json_new(bool running, int64_t status_at)
{
    char at[40];
    return json_pack("{s:{s:b, s:o}, s:[], s:[], s:{}}", "service", "running", running,
                     "status_at", status_at ? json_string(clock_iso8601(status_at, at, sizeof at))
                                            : json_null(),
                     "modems", "binds", "queue");
}

void status_json_add_driver(json_t *status, const struct store_driver_status *r)
{
    bool modem = strcmp(r->kind, "modem") == 0;
    json_t *j = json_pack("{s:s, s:b, s:s}", "name", r->name, "up", r->up, "state",
                          r->state ? r->state : "");
    if (modem) {
        json_object_set_new(j, "signal_dbm", r->signal_dbm ? json_integer(r->signal_dbm) : json_null());
        json_object_set_new(j, "registration", str_or_null(r->registration));
        json_object_set_new(j, "operator", str_or_null(r->operator_name));
    }
    json_object_set_new(j, "in_flight", json_integer(r->in_flight));
    json_array_append_new(json_object_get(status, modem ? "modems" : "binds"), j);
}

void status_json_set_queue(json_t *status, const int64_t counts[MSG_STATE_COUNT])
{
    json_t *queue = json_object_get(status, "queue");
    for (int i = 0; i < MSG_STATE_COUNT; i++)
        json_object_set_new(queue, store_msg_state_name((enum msg_state)i), json_integer(counts[i]));
}
