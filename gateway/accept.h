/*
 * accept: the checks every new outbound message passes before it is queued,
 * whoever brings it (CLI, HTTP API, Kannel sendsms, scheduler): the number
 * becomes E.164, the text must encode within the segment limit, a forced
 * route must exist, the validity must be sane, and the recipient must not
 * have opted out. What passes is a store_new_message ready to commit.
 */
#ifndef HOMING_ACCEPT_H
#define HOMING_ACCEPT_H

#include <stdint.h>

#include "gateway/phone.h"
#include "gateway/store.h"

struct conf;

struct accept_request {
    const char *to, *text, *from, *route, *idempotency_key;
    const char *source;          /* "cli", "http", "kannel" ... */
    int64_t validity_s;          /* 0: defaults.validity */
    const char *dlr_url;         /* Kannel sendsms only */
    int dlr_mask;
    enum phone_reading numbers;  /* Kannel sendsms only (kannel_compat.numbers); the
                                    zero value, PHONE_READ_NATIONAL, for every other door */
};

enum accept_status {
    ACCEPT_OK,
    ACCEPT_BAD_FIELD,            /* `field` names it; HTTP 400, CLI exit 2 */
    ACCEPT_OPTED_OUT,            /* HTTP 422 */
    ACCEPT_STORE_FAILED,         /* HTTP 503, CLI exit 1 */
};

struct accepted {
    enum accept_status status;
    const char *field;           /* "to", "text", "route", "validity", "from" */
    char error[400];
    char to[PHONE_E164_MAX];
    const char *encoding;        /* "gsm7", "ucs2" */
    int segments;
    struct store_new_message msg; /* points into the request and into this struct */
};

/* Checks `req`; `out` must outlive the use of out->msg. */
enum accept_status accept_check(const struct conf *conf, struct store *st,
                                const struct accept_request *req, int64_t now,
                                struct accepted *out);

#endif
