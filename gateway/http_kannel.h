/*
 * http_kannel: Kannel's /cgi-bin/sendsms, so applications and panels written
 * for Kannel (playSMS and many in-house systems) switch to homing unchanged.
 *
 * Parameters (GET query, POST form body, or a text/plain POST whose body is
 * the text with the rest in the query or X-Kannel-* headers): username|user,
 * password|pass, to (several separated by spaces), text, from, coding (0, 2;
 * the encoding is chosen from the text anyway), charset (UTF-8 default,
 * ISO-8859-1), smsc (a modem or bind name), validity (minutes), dlr-mask,
 * dlr-url. udh and coding=1 (binary) are refused with a clear reply.
 * A `to` without + or 00 is read as kannel_compat.numbers says (Kannel passes
 * numbers on as written, so its applications may write country code and
 * number alone); `from` is a sender id sent as written, never read as a
 * number. Accounts come from kannel_compat.users. Replies are Kannel's texts:
 * 202 "0: Accepted for delivery", 403 "Authorization failed for sendsms", ...
 */
#ifndef HOMING_HTTP_KANNEL_H
#define HOMING_HTTP_KANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway/accept.h"

#define KANNEL_MAX_RECEIVERS 64

struct evhttp_request;
struct conf;

#define KANNEL_PARAMS 14          /* the parameters read (http_kannel.c: param_names) */

struct kannel_sendsms {
    char *query;                 /* the query string, decoded in place: owns values */
    char *form;                  /* a form body, likewise */
    const char *param[KANNEL_PARAMS]; /* each parameter's first value, or NULL */
    char *body;                  /* a text/plain POST: the text */
    char *text;                  /* the text in UTF-8 (converted from charset) */
    char *to_copy;               /* `to`, split in place at the spaces */
    const char *to[KANNEL_MAX_RECEIVERS];
    size_t n_to;
    struct accept_request ar;    /* everything but `to` */
};

/*
 * Reads and authenticates a sendsms request. False when refused, with the HTTP
 * status and Kannel's reply text set.
 */
bool kannel_parse(struct evhttp_request *req, const struct conf *conf, struct kannel_sendsms *k,
                  int *status, char *reply, size_t reply_size);
void kannel_free(struct kannel_sendsms *k);

/* The reply for a message that did not pass accept_check(). */
void kannel_refusal(const struct accepted *acc, int *status, char *reply, size_t reply_size);

#define KANNEL_ACCEPTED "0: Accepted for delivery"
#define KANNEL_TEMPORARY "4: Temporal failure, try again later."

#endif
