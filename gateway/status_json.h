/*
 * status_json: the gateway's status as JSON (DESIGN.md: `modems`, `binds`,
 * `queue` counts by state), shared by `homing status --json`, which reads what
 * the service published, and GET /v1/status, which asks the live drivers.
 */
#ifndef HOMING_STATUS_JSON_H
#define HOMING_STATUS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/store.h"

/* {"service": {"running", "status_at"}, "modems": [], "binds": [], "queue": {}} */
json_t *status_json_new(bool running, int64_t status_at);
/* Adds a modem or bind (by row->kind). */
void status_json_add_driver(json_t *status, const struct store_driver_status *row);
void status_json_set_queue(json_t *status, const int64_t counts[MSG_STATE_COUNT]);

#endif
