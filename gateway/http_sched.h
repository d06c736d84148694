/*
 * http_sched: the scheduler's routes of the HTTP API, behind the same
 * bearer token, body limit and JSON error style as POST /v1/messages:
 *
 *   POST /v1/enrollments  {"campaign", "msisdn", "vars"?} -> 201 {"id", "campaign",
 *                         "msisdn", "next_due_at"}; 400 a bad field, 404 no such
 *                         campaign, 422 refused {"error": reason, "refusal": kind}
 *   POST /v1/conversions  {"msisdn", "value"?} -> 201 what was credited and ended
 *                         (sched_convert_json)
 *
 * Both commit before they answer.
 */
#ifndef HOMING_HTTP_SCHED_H
#define HOMING_HTTP_SCHED_H

#include <stdbool.h>

struct evhttp_request;
struct http_deps;

/* Answers the request when `path` is one of the routes above; false otherwise. */
bool http_sched_route(struct evhttp_request *req, const char *path, const struct http_deps *deps);

#endif
