/*
 * http_sched: see http_sched.h. The handlers are synchronous: enrollment
 * and conversion are one short transaction each, committed before the
 * answer, so there is nothing to group as POST /v1/messages does.
 */
#include "gateway/http_sched.h"

#include "gateway/http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/http.h"
#include "gateway/phone.h"
#include "gateway/store.h"
#include "scheduler/sched_enroll.h"

/* The JSON object body, or NULL with a 400 sent. */
static json_t *read_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
    if (!body)
        http_reply_error(req, 400, "the body is not JSON: %s at line %d column %d", jerr.text,
                    jerr.line, jerr.column);
    else if (!json_is_object(body)) {
        http_reply_error(req, 400, "the body must be a JSON object");
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* A required string field, or NULL with a 400 sent. */
static const char *required_string(struct evhttp_request *req, json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (json_is_string(v) && json_string_length(v) > 0)
        return json_string_value(v);
    http_reply_error(req, 400, "%s: %s", key, v && !json_is_null(v) ? "must be a string" :
                "required");
    return NULL;
}

/* The recipient in E.164, or false with a 400 sent. */
static bool msisdn_field(struct evhttp_request *req, json_t *body, const struct conf *conf,
                         char e164[PHONE_E164_MAX])
{
    const char *number = required_string(req, body, "msisdn");
    char why[256];
    if (!number)
        return false;
    if (phone_normalize(number, conf->defaults.country, e164, why, sizeof why))
        return true;
    http_reply_error(req, 400, "msisdn: %s", why);
    return false;
}

static const char *refusal_name(enum sched_enroll_rc rc)
{
    switch (rc) {
    case SCHED_NO_CONSENT: return "no_consent";
    case SCHED_OPTED_OUT: return "opted_out";
    case SCHED_ALREADY_ENROLLED: return "already_enrolled";
    case SCHED_TOO_SOON: return "reenroll_after";
    case SCHED_MISSING_FIELD: return "missing_field";
    default: return "refused";
    }
}

static void answer_enrollment(struct evhttp_request *req, const struct sched_enrollment *e,
                              const struct sched_enroll_result *res)
{
    char due[40];
    switch (res->rc) {
    case SCHED_ENROLLED:
        http_reply_json(req, 201, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)res->id,
                                       "campaign", e->campaign, "msisdn", e->msisdn,
                                       "next_due_at",
                                       clock_iso8601(res->next_due_at, due, sizeof due)));
        break;
    case SCHED_UNKNOWN_CAMPAIGN: http_reply_error(req, 404, "%s", res->reason); break;
    case SCHED_BAD_VARS: http_reply_error(req, 400, "%s", res->reason); break;
    case SCHED_DB_ERROR:
        http_reply_error(req, 503, "the store is unavailable: %s", res->reason);
        break;
    default:
        http_reply_json(req, 422, json_pack("{s:s, s:s}", "error", res->reason, "refusal",
                                       refusal_name(res->rc)));
        break;
    }
}

static void post_enrollment(struct evhttp_request *req, const struct http_deps *deps)
{
    const struct conf *conf = deps->conf;
    json_t *body = read_body(req);
    char e164[PHONE_E164_MAX];
    if (!body)
        return;
    const char *campaign = required_string(req, body, "campaign");
    json_t *vars = json_object_get(body, "vars");
    if (campaign && msisdn_field(req, body, conf, e164)) {
        if (vars && !json_is_null(vars) && !json_is_object(vars)) {
            http_reply_error(req, 400, "vars: must be an object of strings and numbers");
        } else {
            struct sched_enrollment e = { .campaign = campaign, .msisdn = e164,
                                          .vars = json_is_object(vars) ? vars : NULL,
                                          .source = "http", .now = clock_now() };
            struct sched_enroll_result res;
            sched_enroll(deps->store, conf, &e, &res);
            answer_enrollment(req, &e, &res);
            if (res.rc == SCHED_ENROLLED && deps->enrolled)
                deps->enrolled(deps->arg, res.next_due_at);
        }
    }
    json_decref(body);
}

static void post_conversion(struct evhttp_request *req, const struct conf *conf,
                            struct store *st)
{
    json_t *body = read_body(req);
    char e164[PHONE_E164_MAX], err[300];
    if (!body)
        return;
    json_t *value = json_object_get(body, "value");
    if (msisdn_field(req, body, conf, e164)) {
        struct sched_conversion c = { .msisdn = e164, .source = "http", .now = clock_now(),
                                      .has_value = json_is_number(value),
                                      .value = json_number_value(value) };
        struct sched_convert_result res;
        if (value && !json_is_null(value) && !json_is_number(value))
            http_reply_error(req, 400, "value: must be a number (the amount)");
        else if (!sched_convert(st, conf, &c, &res, err, sizeof err))
            http_reply_error(req, 503, "the store is unavailable: %s", err);
        else
            http_reply_json(req, 201, sched_convert_json(e164, &c, &res));
    }
    json_decref(body);
}

bool http_sched_route(struct evhttp_request *req, const char *path, const struct http_deps *deps)
{
    bool enrollments = strcmp(path, "/v1/enrollments") == 0;
    if (!enrollments && strcmp(path, "/v1/conversions") != 0)
        return false;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        http_reply_error(req, 405, "method not allowed here: use POST");
    else if (enrollments)
        post_enrollment(req, deps);
    else
        post_conversion(req, deps->conf, deps->store);
    return true;
}
