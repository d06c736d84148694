/*
 * conf_check: what one key cannot tell alone. Names of modems and SMPP binds
 * share one namespace (routes list both), so they must be unique together;
 * a route may only name what exists; values with their own small grammar
 * (listen address, USB port spec, PIN, country, time zone) are checked here.
 */
#include "config/conf_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/phone.h"
#include "scheduler/sched_render.h"

static bool name_ok(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return *name != '\0';
}

/* The path of a list element's key, e.g. "modems[2].name". */
static const char *elem_path(char *buf, size_t size, const char *list, size_t i, const char *key)
{
    snprintf(buf, size, "%s[%zu].%s", list, i, key);
    return buf;
}

struct name_seen {
    const char *name;
    char path[64];
};

static void check_driver_name(struct conf_loader *ld, struct name_seen *seen, size_t *n_seen,
                              const char *name, const char *path)
{
    if (*name == '\0')
        return; /* already reported as a missing required key */
    if (!name_ok(name)) {
        conf_loader_error(ld, path, "'%s' is not a valid name: use letters, digits, '-' and '_'",
                          name);
        return;
    }
    for (size_t i = 0; i < *n_seen; i++) {
        if (strcmp(seen[i].name, name) == 0) {
            conf_loader_error(ld, path, "the name '%s' is already used by %s (line %d)", name,
                              seen[i].path, conf_loader_line(ld, seen[i].path));
            return;
        }
    }
    seen[*n_seen].name = name;
    snprintf(seen[*n_seen].path, sizeof seen[*n_seen].path, "%s", path);
    (*n_seen)++;
}

static bool usb_spec_ok(const char *spec)
{
    unsigned vid, pid;
    int used = 0;
    if (sscanf(spec, "usb:%4x:%4x%n", &vid, &pid, &used) != 2)
        return false;
    return spec[used] == '\0' || spec[used] == ':';
}

static void check_modem(struct conf_loader *ld, const struct conf_modem *m, size_t i)
{
    char path[96];
    if (strncmp(m->port, "usb:", 4) == 0 ? !usb_spec_ok(m->port) : m->port[0] != '/')
        conf_loader_error(ld, elem_path(path, sizeof path, "modems", i, "port"),
                          "'%s' is neither a device path (/dev/ttyUSB0) nor "
                          "usb:VID:PID[:SERIAL[:INTERFACE]] with hex ids", m->port);
    size_t pin_len = strlen(m->pin);
    bool digits = strspn(m->pin, "0123456789") == pin_len;
    if (pin_len != 0 && (!digits || pin_len < 4))
        conf_loader_error(ld, elem_path(path, sizeof path, "modems", i, "pin"),
                          "a SIM PIN is 4 to 8 digits, or \"\" for none");
    if (m->smsc[0] && strspn(m->smsc + (m->smsc[0] == '+'), "0123456789") !=
                          strlen(m->smsc) - (m->smsc[0] == '+'))
        conf_loader_error(ld, elem_path(path, sizeof path, "modems", i, "smsc"),
                          "'%s' is not a number like +353860002000", m->smsc);
}

static void check_drivers(struct conf_loader *ld, const struct conf *conf)
{
    size_t total = conf->n_modems + conf->n_smpp, n_seen = 0;
    struct name_seen *seen = calloc(total ? total : 1, sizeof *seen);
    char path[96];
    if (!seen)
        abort();
    for (size_t i = 0; i < conf->n_modems; i++) {
        check_driver_name(ld, seen, &n_seen, conf->modems[i].name,
                          elem_path(path, sizeof path, "modems", i, "name"));
        check_modem(ld, &conf->modems[i], i);
    }
    for (size_t i = 0; i < conf->n_smpp; i++)
        check_driver_name(ld, seen, &n_seen, conf->smpp[i].name,
                          elem_path(path, sizeof path, "smpp", i, "name"));
    free(seen);
}

bool conf_driver_exists(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_modems; i++)
        if (strcmp(conf->modems[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < conf->n_smpp; i++)
        if (strcmp(conf->smpp[i].name, name) == 0)
            return true;
    return false;
}

static void check_route(struct conf_loader *ld, const struct conf *conf, size_t i)
{
    const struct conf_route *r = &conf->routes[i];
    char path[96];
    bool prefix_ok = r->match[0] == '+' && strspn(r->match + 1, "0123456789") == strlen(r->match) - 1;
    if (!prefix_ok)
        conf_loader_error(ld, elem_path(path, sizeof path, "routes", i, "match"),
                          "'%s' is not \"+\" or an E.164 prefix like \"+353\"", r->match);
    for (size_t j = 0; j < i; j++)
        if (strcmp(conf->routes[j].match, r->match) == 0)
            conf_loader_error(ld, elem_path(path, sizeof path, "routes", i, "match"),
                              "'%s' is already matched by routes[%zu]: this route would never "
                              "be used", r->match, j);
    for (size_t v = 0; v < r->via.n; v++) {
        if (conf_driver_exists(conf, r->via.items[v]))
            continue;
        snprintf(path, sizeof path, "routes[%zu].via[%zu]", i, v);
        conf_loader_error(ld, path, "no modem or SMPP bind is named '%s'", r->via.items[v]);
    }
}

/* A template's syntax, so a broken one is found at start-up, not in a message. */
static void check_template(struct conf_loader *ld, const char *tmpl, const char *path)
{
    char why[256];
    if (!sched_template_ok(tmpl, why, sizeof why))
        conf_loader_error(ld, path, "bad template: %s", why);
}

static void check_steps(struct conf_loader *ld, const struct conf_campaign *c, size_t i)
{
    char path[128];
    for (size_t s = 0; s < c->n_steps; s++) {
        const struct conf_step *step = &c->steps[s];
        snprintf(path, sizeof path, "campaigns[%zu].steps[%zu]", i, s);
        if (step->text[0] && step->n_variants)
            conf_loader_error(ld, path, "give text or variants, not both");
        else if (!step->text[0] && !step->n_variants)
            conf_loader_error(ld, path, "a step needs text or variants");
        snprintf(path, sizeof path, "campaigns[%zu].steps[%zu].text", i, s);
        check_template(ld, step->text, path);
        for (size_t v = 0; v < step->n_variants; v++) {
            snprintf(path, sizeof path, "campaigns[%zu].steps[%zu].variants[%zu].text", i, s, v);
            check_template(ld, step->variants[v].text, path);
            for (size_t w = 0; w < v; w++)
                if (strcmp(step->variants[v].name, step->variants[w].name) == 0) {
                    snprintf(path, sizeof path, "campaigns[%zu].steps[%zu].variants[%zu].name",
                             i, s, v);
                    conf_loader_error(ld, path, "the variant name '%s' is used twice in this "
                                      "step", step->variants[v].name);
                }
        }
    }
}

static void check_campaigns(struct conf_loader *ld, const struct conf *conf)
{
    char path[96];
    for (size_t i = 0; i < conf->n_campaigns; i++) {
        const struct conf_campaign *c = &conf->campaigns[i];
        elem_path(path, sizeof path, "campaigns", i, "name");
        if (!name_ok(c->name))
            conf_loader_error(ld, path, "'%s' is not a valid name: use letters, digits, '-' "
                              "and '_'", c->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(conf->campaigns[j].name, c->name) == 0)
                conf_loader_error(ld, path, "the campaign name '%s' is already used by "
                                  "campaigns[%zu]", c->name, j);
        if (c->route[0] && !conf_driver_exists(conf, c->route))
            conf_loader_error(ld, elem_path(path, sizeof path, "campaigns", i, "route"),
                              "no modem or SMPP bind is named '%s'", c->route);
        if (c->n_steps == 0)
            conf_loader_error(ld, elem_path(path, sizeof path, "campaigns", i, "steps"),
                              "a campaign needs at least one step");
        check_steps(ld, c, i);
    }
}

void conf_inherit_campaign_limits(struct conf *conf)
{
    for (size_t i = 0; i < conf->n_campaigns; i++) {
        struct conf_campaign *c = &conf->campaigns[i];
        if (c->quiet_hours.start < 0)
            c->quiet_hours.start = conf->quiet_hours.start;
        if (c->quiet_hours.end < 0)
            c->quiet_hours.end = conf->quiet_hours.end;
        if (c->frequency_cap.messages == 0)
            c->frequency_cap.messages = conf->frequency_cap.messages;
        if (c->frequency_cap.per == 0)
            c->frequency_cap.per = conf->frequency_cap.per;
    }
}

bool conf_timezone_exists(const char *tz)
{
    struct stat st;
    char path[512];
    if (strstr(tz, "..") || tz[0] == '/')
        return false;
    if (stat("/usr/share/zoneinfo", &st) != 0)
        return true; /* no tz database to check against: accept, as libc would */
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void check_defaults(struct conf_loader *ld, const struct conf *conf)
{
    char host[256], why[256];
    int port;
    if (!conf_parse_listen(conf->http.listen, host, sizeof host, &port, why, sizeof why))
        conf_loader_error(ld, "http.listen", "%s", why);
    if (!phone_country_known(conf->defaults.country))
        conf_loader_error(ld, "defaults.country", "'%s' is not a country homing knows the "
                          "numbering plan of (ISO 3166 alpha-2, like IE, GB, US)",
                          conf->defaults.country);
    if (!conf_timezone_exists(conf->defaults.timezone))
        conf_loader_error(ld, "defaults.timezone", "'%s' is not an IANA time zone "
                          "(like Europe/Dublin)", conf->defaults.timezone);
}

static void check_webhook_url(struct conf_loader *ld, const char *path, const char *url)
{
    if (*url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        conf_loader_error(ld, path, "'%s' is not an http:// or https:// URL (\"\" for none)",
                          url);
}

void conf_check(struct conf_loader *ld, const struct conf *conf)
{
    check_webhook_url(ld, "webhooks.receipts", conf->webhooks.receipts);
    check_webhook_url(ld, "webhooks.inbound", conf->webhooks.inbound);
    check_defaults(ld, conf);
    check_drivers(ld, conf);
    for (size_t i = 0; i < conf->n_routes; i++)
        check_route(ld, conf, i);
    check_campaigns(ld, conf);
}
