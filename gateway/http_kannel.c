/* http_kannel: see http_kannel.h. */
#include "gateway/http_kannel.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "config/conf.h"
#include "gateway/http.h"

/* A parameter from the query or form, else from its X-Kannel-* header. */
static const char *param(struct evhttp_request *req, struct kannel_sendsms *k, const char *name,
                         const char *alias, const char *header)
{
    const char *v = evhttp_find_header(&k->params, name);
    if (!v && alias)
        v = evhttp_find_header(&k->params, alias);
    if (!v && header)
        v = evhttp_find_header(evhttp_request_get_input_headers(req), header);
    return v;
}

static bool account_ok(const struct conf *conf, const char *user, const char *pass)
{
    bool ok = false;
    for (size_t i = 0; user && pass && i < conf->kannel_compat.n_users; i++) {
        const struct conf_kannel_user *u = &conf->kannel_compat.users[i];
        ok |= strcmp(u->username, user) == 0 && http_same_secret(pass, u->password);
    }
    return ok;
}

static char *latin1_to_utf8(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(2 * n + 1), *p = out;
    if (!out)
        abort();
    for (const unsigned char *s = (const unsigned char *)in; *s; s++) {
        if (*s < 0x80) {
            *p++ = (char)*s;
        } else {
            *p++ = (char)(0xC0 | (*s >> 6));
            *p++ = (char)(0x80 | (*s & 0x3F));
        }
    }
    *p = '\0';
    return out;
}

/* Query string, and for POST either a form body or a text/plain body that is the text. */
static void read_params(struct evhttp_request *req, struct kannel_sendsms *k)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    TAILQ_INIT(&k->params);
    k->have_params = true;
    if (query)
        evhttp_parse_query_str(query, &k->params);
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    if (!body)
        abort();
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0) {
        struct evkeyvalq form;
        evhttp_parse_query_str(body, &form);
        struct evkeyval *kv;
        TAILQ_FOREACH(kv, &form, next)
            evhttp_add_header(&k->params, kv->key, kv->value);
        evhttp_clear_headers(&form);
        free(body);
    } else {
        k->body = body; /* Kannel's POST: the body is the message */
    }
}

static bool refuse(int *status, char *reply, size_t size, int code, const char *text)
{
    *status = code;
    snprintf(reply, size, "%s", text);
    return false;
}

static bool split_receivers(struct kannel_sendsms *k, const char *to, int *status, char *reply,
                            size_t size)
{
    k->to_copy = strdup(to);
    if (!k->to_copy)
        abort();
    for (char *save, *t = strtok_r(k->to_copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (k->n_to == KANNEL_MAX_RECEIVERS)
            return refuse(status, reply, size, 400, "Too many receivers, rejected");
        k->to[k->n_to++] = t;
    }
    if (k->n_to == 0)
        return refuse(status, reply, size, 400, "Empty receiver number not allowed, rejected");
    return true;
}

static bool read_text(struct evhttp_request *req, struct kannel_sendsms *k, int *status,
                      char *reply, size_t size)
{
    const char *text = k->body ? k->body : param(req, k, "text", NULL, NULL);
    const char *charset = param(req, k, "charset", NULL, "X-Kannel-Charset");
    const char *coding = param(req, k, "coding", NULL, "X-Kannel-Coding");
    const char *udh = param(req, k, "udh", NULL, "X-Kannel-UDH");
    if (udh && *udh)
        return refuse(status, reply, size, 400, "udh is not supported: send the whole text, "
                      "homing splits long messages itself");
    if (coding && strcmp(coding, "1") == 0)
        return refuse(status, reply, size, 400, "coding=1 (8-bit binary) is not supported");
    if (!text || !*text)
        return refuse(status, reply, size, 400, "Missing text, rejected");
    if (!charset || strcasecmp(charset, "UTF-8") == 0 || strcasecmp(charset, "utf8") == 0)
        k->text = strdup(text);
    else if (strcasecmp(charset, "ISO-8859-1") == 0 || strcasecmp(charset, "latin1") == 0)
        k->text = latin1_to_utf8(text);
    else
        return refuse(status, reply, size, 400, "charset: only UTF-8 and ISO-8859-1 are supported");
    if (!k->text)
        abort();
    return true;
}

static bool read_options(struct evhttp_request *req, struct kannel_sendsms *k, int *status,
                         char *reply, size_t size)
{
    const char *validity = param(req, k, "validity", NULL, "X-Kannel-Validity");
    const char *mask = param(req, k, "dlr-mask", NULL, "X-Kannel-DLR-Mask");
    char *end;
    k->ar.from = param(req, k, "from", NULL, "X-Kannel-From");
    k->ar.route = param(req, k, "smsc", NULL, "X-Kannel-SMSC");
    k->ar.dlr_url = param(req, k, "dlr-url", NULL, "X-Kannel-DLR-URL");
    if (validity) {
        long minutes = strtol(validity, &end, 10);
        if (*end || minutes <= 0)
            return refuse(status, reply, size, 400, "validity: minutes, a positive number");
        k->ar.validity_s = minutes * 60;
    }
    if (mask) {
        long m = strtol(mask, &end, 10);
        if (*end || m < 0 || m > 255)
            return refuse(status, reply, size, 400, "dlr-mask: a number 0..255");
        k->ar.dlr_mask = (int)m;
    }
    if (k->ar.dlr_mask && !k->ar.dlr_url)
        k->ar.dlr_mask = 0; /* nothing to call */
    k->ar.text = k->text;
    k->ar.source = "kannel";
    return true;
}

bool kannel_parse(struct evhttp_request *req, const struct conf *conf, struct kannel_sendsms *k,
                  int *status, char *reply, size_t reply_size)
{
    read_params(req, k);
    const char *user = param(req, k, "username", "user", "X-Kannel-Username");
    const char *pass = param(req, k, "password", "pass", "X-Kannel-Password");
    if (!account_ok(conf, user, pass))
        return refuse(status, reply, reply_size, 403, "Authorization failed for sendsms");
    const char *to = param(req, k, "to", NULL, "X-Kannel-To");
    if (!to)
        return refuse(status, reply, reply_size, 400, "Missing receiver number, rejected");
    return split_receivers(k, to, status, reply, reply_size) &&
           read_text(req, k, status, reply, reply_size) &&
           read_options(req, k, status, reply, reply_size);
}

void kannel_refusal(const struct accepted *acc, int *status, char *reply, size_t reply_size)
{
    if (acc->status == ACCEPT_OPTED_OUT) {
        *status = 403;
        snprintf(reply, reply_size, "Number(s) blacklisted, rejected (%s)", acc->error);
    } else if (acc->status == ACCEPT_STORE_FAILED) {
        *status = 503;
        snprintf(reply, reply_size, "%s", KANNEL_TEMPORARY);
    } else {
        *status = 400;
        snprintf(reply, reply_size, "%s, rejected", acc->error);
    }
}

void kannel_free(struct kannel_sendsms *k)
{
    if (!k)
        return;
    if (k->have_params)
        evhttp_clear_headers(&k->params);
    free(k->body);
    free(k->text);
    free(k->to_copy);
    free(k);
}
