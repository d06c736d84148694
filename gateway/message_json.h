/*
 * message_json: one outbound message as JSON, with the contract names of
 * DESIGN.md (id, to, state, encoding, segments, route, created_at, sent_at,
 * campaign, step, parts[index, state, ref, receipt]), shared by `homing show
 * --json`, `homing messages --json` and GET /v1/messages/{id}.
 */
#ifndef HOMING_MESSAGE_JSON_H
#define HOMING_MESSAGE_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "gateway/store.h"

/* A new reference; `parts` only when with_parts (m must have been read with them). */
json_t *message_json(const struct store_message *m, bool with_parts);

#endif
