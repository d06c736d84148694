/* accept: see accept.h. */
#include "gateway/accept.h"

#include <stdio.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/codec.h"

#define MAX_VALIDITY_S (30 * 86400)

static enum accept_status refuse(struct accepted *out, enum accept_status status,
                                 const char *field)
{
    out->status = status;
    out->field = field;
    return status;
}

/*
 * Only the Kannel door reads other than nationally; its refusals name the key
 * that chose the reading, so the operator sees why a number was read so.
 */
static bool read_recipient(const struct conf *conf, const struct accept_request *req,
                           struct accepted *out)
{
    char why[300];
    if (!req->to) {
        snprintf(out->error, sizeof out->error, "to: missing");
        return false;
    }
    enum phone_result r = phone_read(req->to, conf->defaults.country, req->numbers, out->to, why,
                                     sizeof why);
    if (r == PHONE_OK)
        return true;
    const char *hint = "";
    if (r == PHONE_AMBIGUOUS)
        hint = ", or set kannel_compat.numbers to \"national\" or \"international\"";
    else if (req->numbers == PHONE_READ_INTERNATIONAL)
        hint = " (kannel_compat.numbers is \"international\")";
    snprintf(out->error, sizeof out->error, "to: %s%s", why, hint);
    return false;
}

static enum accept_status check_fields(const struct conf *conf, const struct accept_request *req,
                                       struct accepted *out)
{
    static _Thread_local struct codec_message cm; /* about 40 KB: off the stack; one per thread */
    if (!read_recipient(conf, req, out))
        return refuse(out, ACCEPT_BAD_FIELD, "to");
    if (!req->text || !*req->text) {
        snprintf(out->error, sizeof out->error, "text: missing or empty");
        return refuse(out, ACCEPT_BAD_FIELD, "text");
    }
    struct codec_options opt = { .smart = conf->defaults.smart_encoding,
                                 .max_segments = (unsigned)conf->defaults.max_segments };
    if (codec_encode(req->text, strlen(req->text), &opt, &cm) != 0) {
        snprintf(out->error, sizeof out->error, "text: %s", cm.error);
        return refuse(out, ACCEPT_BAD_FIELD, "text");
    }
    out->encoding = codec_encoding_name(cm.encoding);
    out->segments = (int)cm.nsegments;
    if (req->from && (strlen(req->from) == 0 || strlen(req->from) > 20)) {
        snprintf(out->error, sizeof out->error, "from: must be 1 to 20 characters");
        return refuse(out, ACCEPT_BAD_FIELD, "from");
    }
    if (req->route && !conf_driver_exists(conf, req->route)) {
        snprintf(out->error, sizeof out->error, "route: no modem or SMPP bind is named '%s'",
                 req->route);
        return refuse(out, ACCEPT_BAD_FIELD, "route");
    }
    if (req->validity_s < 0 || req->validity_s > MAX_VALIDITY_S) {
        snprintf(out->error, sizeof out->error, "validity: must be between 1 minute and 30 days");
        return refuse(out, ACCEPT_BAD_FIELD, "validity");
    }
    return ACCEPT_OK;
}

static enum accept_status check_consent(struct store *st, struct accepted *out)
{
    char keyword[64], err[256], at[40];
    int64_t when;
    enum store_rc rc = store_optout_find(st, out->to, keyword, sizeof keyword, &when, err,
                                         sizeof err);
    if (rc == STORE_NOT_FOUND)
        return ACCEPT_OK;
    if (rc != STORE_OK) {
        snprintf(out->error, sizeof out->error, "%s", err);
        return refuse(out, ACCEPT_STORE_FAILED, NULL);
    }
    snprintf(out->error, sizeof out->error, "%s opted out (%s, %s): nothing is sent to them "
             "until they opt back in", out->to, keyword, clock_iso8601(when, at, sizeof at));
    return refuse(out, ACCEPT_OPTED_OUT, "to");
}

enum accept_status accept_check(const struct conf *conf, struct store *st,
                                const struct accept_request *req, int64_t now,
                                struct accepted *out)
{
    memset(out, 0, sizeof *out);
    if (check_fields(conf, req, out) != ACCEPT_OK || check_consent(st, out) != ACCEPT_OK)
        return out->status;
    int64_t validity = req->validity_s > 0 ? req->validity_s : conf->defaults.validity;
    out->msg = (struct store_new_message){
        .to = out->to, .from = req->from, .body = req->text, .encoding = out->encoding,
        .segments = out->segments, .route = req->route, .idempotency_key = req->idempotency_key,
        .source = req->source, .expires_at = now + validity,
        .dlr_url = req->dlr_url, .dlr_mask = req->dlr_mask,
    };
    out->status = ACCEPT_OK;
    return ACCEPT_OK;
}
