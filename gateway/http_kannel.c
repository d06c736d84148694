/* http_kannel: see http_kannel.h. */
#include "gateway/http_kannel.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "config/conf.h"
#include "gateway/http.h"

/* The parameters sendsms reads; the first value of each counts. */
enum kannel_param {
    KP_USERNAME, KP_USER, KP_PASSWORD, KP_PASS, KP_TO, KP_TEXT, KP_FROM, KP_CODING,
    KP_CHARSET, KP_UDH, KP_SMSC, KP_VALIDITY, KP_DLR_MASK, KP_DLR_URL,
};
static const char *const param_names[KANNEL_PARAMS] = {
    "username", "user", "password", "pass", "to", "text", "from", "coding",
    "charset", "udh", "smsc", "validity", "dlr-mask", "dlr-url",
};
/* Kannel's headers for parameters left out of the query: X-Kannel-<this>. */
static const char *const header_names[KANNEL_PARAMS] = {
    [KP_USERNAME] = "Username", [KP_PASSWORD] = "Password", [KP_TO] = "To",
    [KP_FROM] = "From", [KP_CODING] = "Coding", [KP_CHARSET] = "Charset", [KP_UDH] = "UDH",
    [KP_SMSC] = "SMSC", [KP_VALIDITY] = "Validity", [KP_DLR_MASK] = "DLR-Mask",
    [KP_DLR_URL] = "DLR-URL",
};

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* URL-decodes s in place as a form value: %XX is an octet, '+' a space. */
static void url_decode(char *s)
{
    char *out = s;
    for (; *s; s++) {
        int hi, lo;
        if (*s == '%' && (hi = hex_digit(s[1])) >= 0 && (lo = hex_digit(s[2])) >= 0) {
            *out++ = (char)(hi << 4 | lo);
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = '\0';
}

static int param_index(const char *key)
{
    for (int i = 0; i < KANNEL_PARAMS; i++)
        if (strcasecmp(key, param_names[i]) == 0)
            return i;
    return -1;
}

/*
 * Splits `pairs` (key=value&..., modified in place) into the parameters
 * sendsms reads; values are decoded, keys compared as written (any case). A
 * pair without '=' or with an empty key is skipped. One pass, and no
 * allocation per parameter: this runs for every message a panel sends.
 */
static void read_pairs(char *pairs, struct kannel_sendsms *k)
{
    for (char *save, *pair = strtok_r(pairs, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *value = strchr(pair, '=');
        if (!value || value == pair)
            continue;
        *value++ = '\0';
        int i = param_index(pair);
        if (i < 0 || k->param[i])
            continue;
        url_decode(value);
        k->param[i] = value;
    }
}

/* Parameters still missing, from their X-Kannel-* headers. */
static void read_headers(struct evhttp_request *req, struct kannel_sendsms *k)
{
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
        if (strncasecmp(h->key, "X-Kannel-", 9) != 0)
            continue;
        for (int i = 0; i < KANNEL_PARAMS; i++) {
            if (header_names[i] && !k->param[i] && strcasecmp(h->key + 9, header_names[i]) == 0)
                k->param[i] = h->value;
        }
    }
}

/* A parameter, else its alias (username and user, password and pass). */
static const char *param(const struct kannel_sendsms *k, enum kannel_param name, int alias)
{
    return k->param[name] ? k->param[name] : alias >= 0 ? k->param[alias] : NULL;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
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
    if (query) {
        k->query = xstrdup(query);
        read_pairs(k->query, k);
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *body = malloc(len + 1);
        if (!body)
            abort();
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        const char *type =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        if (type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0) {
            k->form = body; /* after the query's: a parameter in both keeps the query's */
            read_pairs(k->form, k);
        } else {
            k->body = body; /* Kannel's POST: the body is the message */
        }
    }
    read_headers(req, k);
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
    k->to_copy = xstrdup(to);
    for (char *save, *t = strtok_r(k->to_copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (k->n_to == KANNEL_MAX_RECEIVERS)
            return refuse(status, reply, size, 400, "Too many receivers, rejected");
        k->to[k->n_to++] = t;
    }
    if (k->n_to == 0)
        return refuse(status, reply, size, 400, "Empty receiver number not allowed, rejected");
    return true;
}

static bool read_text(struct kannel_sendsms *k, int *status, char *reply, size_t size)
{
    const char *text = k->body ? k->body : param(k, KP_TEXT, -1);
    const char *charset = param(k, KP_CHARSET, -1);
    const char *coding = param(k, KP_CODING, -1);
    const char *udh = param(k, KP_UDH, -1);
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

static bool read_options(struct kannel_sendsms *k, int *status, char *reply, size_t size)
{
    const char *validity = param(k, KP_VALIDITY, -1);
    const char *mask = param(k, KP_DLR_MASK, -1);
    char *end;
    k->ar.from = param(k, KP_FROM, -1);
    k->ar.route = param(k, KP_SMSC, -1);
    k->ar.dlr_url = param(k, KP_DLR_URL, -1);
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

/* kannel_compat.numbers, which the schema holds to these three. */
static enum phone_reading numbers_reading(const char *setting)
{
    if (strcmp(setting, "national") == 0)
        return PHONE_READ_NATIONAL;
    if (strcmp(setting, "international") == 0)
        return PHONE_READ_INTERNATIONAL;
    return PHONE_READ_AUTO;
}

bool kannel_parse(struct evhttp_request *req, const struct conf *conf, struct kannel_sendsms *k,
                  int *status, char *reply, size_t reply_size)
{
    read_params(req, k);
    const char *user = param(k, KP_USERNAME, KP_USER);
    const char *pass = param(k, KP_PASSWORD, KP_PASS);
    if (!account_ok(conf, user, pass))
        return refuse(status, reply, reply_size, 403, "Authorization failed for sendsms");
    const char *to = param(k, KP_TO, -1);
    if (!to)
        return refuse(status, reply, reply_size, 400, "Missing receiver number, rejected");
    k->ar.numbers = numbers_reading(conf->kannel_compat.numbers);
    return split_receivers(k, to, status, reply, reply_size) &&
           read_text(k, status, reply, reply_size) &&
           read_options(k, status, reply, reply_size);
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
    free(k->query);
    free(k->form);
    free(k->body);
    free(k->text);
    free(k->to_copy);
    free(k);
}
