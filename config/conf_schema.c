/*
 * conf_schema: every key of homing.conf. Add a key here and the loader,
 * `homing config check`, and `homing config reference` (the table in
 * docs/configuration.md) all know it; a unit test then insists the sample
 * config/homing.conf and docs/configuration.md mention it too.
 *
 * Inline groups (http, defaults ...) use offset 0 and give their children's
 * offsets from struct conf itself; list elements give offsets within their
 * element struct.
 */
#include "config/conf_schema.h"

#include <stddef.h>
#include <string.h>

#include "config/conf.h"

#define KEY(nm, ty, st, fld, df, lo, hi, ch, dc) \
    { .name = nm, .type = ty, .offset = offsetof(st, fld), .def = df, \
      .min = lo, .max = hi, .choices = ch, .doc = dc }
#define REQ(nm, ty, st, fld, lo, hi, ch, dc) \
    { .name = nm, .type = ty, .offset = offsetof(st, fld), .required = true, \
      .min = lo, .max = hi, .choices = ch, .doc = dc }
#define GROUP(nm, kids, dc) \
    { .name = nm, .type = CONF_T_GROUP, .offset = 0, .children = kids, .doc = dc }
#define LIST(nm, st, fld, cnt, elem, kids, dc) \
    { .name = nm, .type = CONF_T_GROUPLIST, .offset = offsetof(st, fld), \
      .count_offset = offsetof(st, cnt), .elem_size = sizeof(elem), .children = kids, .doc = dc }
#define END { .name = NULL }

#define DAY (24 * 3600)
#define NAME_DOC "a name of letters, digits, '-' and '_'"

static const struct conf_key http_keys[] = {
    KEY("listen", CONF_T_STRING, struct conf, http.listen, "127.0.0.1:8080", 1, 255, NULL,
        "address and port of the HTTP API, host:port (port 0: any free one, logged); "
        "loopback unless a proxy adds TLS"),
    KEY("token", CONF_T_STRING, struct conf, http.token, "change-me", 1, 255, NULL,
        "bearer token every API request must carry (Authorization: Bearer ...)"),
    KEY("max_body", CONF_T_INT, struct conf, http.max_body, "65536", 1024, 16777216, NULL,
        "largest request body accepted, in bytes; larger requests get 413"),
    KEY("metrics_open", CONF_T_BOOL, struct conf, http.metrics_open, "false", 0, 0, NULL,
        "serve GET /metrics without the bearer token"),
    END
};

static const struct conf_key defaults_keys[] = {
    KEY("country", CONF_T_STRING, struct conf, defaults.country, "IE", 2, 2, NULL,
        "ISO 3166 country whose national numbers are turned into E.164 (+353...)"),
    KEY("timezone", CONF_T_STRING, struct conf, defaults.timezone, "Europe/Dublin", 1, 64, NULL,
        "IANA time zone of contacts that have none of their own"),
    KEY("validity", CONF_T_DURATION, struct conf, defaults.validity, "48h", 60, 30 * DAY, NULL,
        "how long a message may wait to be sent before it expires"),
    KEY("max_segments", CONF_T_INT, struct conf, defaults.max_segments, "10", 1, 255, NULL,
        "longest message accepted, in SMS segments"),
    KEY("smart_encoding", CONF_T_BOOL, struct conf, defaults.smart_encoding, "false", 0, 0, NULL,
        "replace look-alike characters (curly quotes, dashes) so text stays GSM 7-bit"),
    END
};

static const struct conf_key log_keys[] = {
    KEY("level", CONF_T_ENUM, struct conf, log.level, "info", 0, 0, "error|warn|info|debug",
        "lowest level written; debug also shows message bodies and numbers"),
    KEY("syslog", CONF_T_BOOL, struct conf, log.syslog, "false", 0, 0, NULL,
        "also write each line to syslog (facility daemon)"),
    END
};

static const struct conf_key service_keys[] = {
    KEY("tick", CONF_T_DURATION, struct conf, service.tick, "1s", 1, 60, NULL,
        "how often the service looks for due work (messages, steps, timeouts)"),
    /* config/homing.service's TimeoutStopSec stays above the largest value (a unit test checks). */
    KEY("shutdown_grace", CONF_T_DURATION, struct conf, service.shutdown_grace, "10s", 1, 120,
        NULL, "how long a stop waits for parts already with a modem or SMSC to be answered; "
        "what is still in flight then is logged and sent again at the next start"),
    END
};

static const struct conf_key retry_keys[] = {
    KEY("attempts", CONF_T_INT, struct conf, retry.attempts, "6", 1, 100, NULL,
        "tries of a message that meets temporary errors before it fails"),
    KEY("backoff", CONF_T_DURATION, struct conf, retry.backoff, "30s", 1, 86400, NULL,
        "wait before the second try; it doubles with each further try"),
    KEY("max_backoff", CONF_T_DURATION, struct conf, retry.max_backoff, "1h", 1, 7 * DAY, NULL,
        "longest wait between two tries"),
    END
};

static const struct conf_key inbound_keys[] = {
    KEY("reassembly_timeout", CONF_T_DURATION, struct conf, inbound.reassembly_timeout, "24h",
        60, 30 * DAY, NULL,
        "how long the parts of a long received message wait for the rest; then what arrived "
        "is delivered, marked incomplete"),
    END
};

static const struct conf_key webhook_keys[] = {
    KEY("receipts", CONF_T_STRING, struct conf, webhooks.receipts, "", 0, 2048, NULL,
        "http:// or https:// URL every delivery receipt is POSTed to as JSON; \"\" for none"),
    KEY("inbound", CONF_T_STRING, struct conf, webhooks.inbound, "", 0, 2048, NULL,
        "http:// or https:// URL every received message is POSTed to as JSON; \"\" for none"),
    KEY("timeout", CONF_T_DURATION, struct conf, webhooks.timeout, "10s", 1, 300, NULL,
        "longest one webhook or Kannel dlr-url call may take before it counts as failed"),
    KEY("max_attempts", CONF_T_INT, struct conf, webhooks.max_attempts, "20", 1, 1000, NULL,
        "tries of one call before it is kept in the outbox as failed"),
    KEY("backoff", CONF_T_DURATION, struct conf, webhooks.backoff, "5s", 1, 3600, NULL,
        "wait before the second try of a failed call; it doubles with each further try"),
    KEY("max_backoff", CONF_T_DURATION, struct conf, webhooks.max_backoff, "1h", 1, DAY, NULL,
        "longest wait between two tries of a call"),
    KEY("max_in_flight", CONF_T_INT, struct conf, webhooks.max_in_flight, "8", 1, 100, NULL,
        "calls under way at once; the rest wait in the outbox"),
    END
};

static const struct conf_key modem_keys[] = {
    REQ("name", CONF_T_STRING, struct conf_modem, name, 1, 32, NULL,
        NAME_DOC "; routes refer to the modem by it"),
    REQ("port", CONF_T_STRING, struct conf_modem, port, 1, 255, NULL,
        "device path (/dev/ttyUSB2) or usb:VID:PID[:SERIAL[:INTERFACE]]"),
    KEY("baud", CONF_T_INT, struct conf_modem, baud, "115200", 1200, 4000000,
        "9600|19200|38400|57600|115200|230400|460800|921600", "serial speed"),
    KEY("pin", CONF_T_STRING, struct conf_modem, pin, "", 0, 8, NULL,
        "SIM PIN, 4 to 8 digits, or \"\" when the SIM has none; never retried when wrong"),
    KEY("smsc", CONF_T_STRING, struct conf_modem, smsc, "", 0, 21, NULL,
        "SMSC number to set on the modem, or \"\" to keep the one on the SIM"),
    KEY("sends_per_minute", CONF_T_INT, struct conf_modem, sends_per_minute, "20", 1, 6000, NULL,
        "most SMS segments this modem submits in a minute"),
    KEY("status_reports", CONF_T_BOOL, struct conf_modem, status_reports, "true", 0, 0, NULL,
        "ask the network for a delivery report of every segment"),
    KEY("send_timeout", CONF_T_DURATION, struct conf_modem, send_timeout, "60s", 2, 600, NULL,
        "how long the network may take to answer a sent PDU (+CMGS) before the modem counts "
        "as not answering and the part goes to another route member, as a possible duplicate"),
    KEY("prompt_timeout", CONF_T_DURATION, struct conf_modem, prompt_timeout, "5s", 1, 60, NULL,
        "how long AT+CMGS may wait for the modem's \"> \" prompt; a modem that gives none is "
        "marked unhealthy and its parts go to another route member at once"),
    KEY("poll", CONF_T_DURATION, struct conf_modem, poll, "30s", 1, 3600, NULL,
        "interval of signal and registration checks, which also notice a hung modem"),
    END
};

static const struct conf_key smpp_keys[] = {
    REQ("name", CONF_T_STRING, struct conf_smpp, name, 1, 32, NULL,
        NAME_DOC "; routes refer to the bind by it"),
    REQ("host", CONF_T_STRING, struct conf_smpp, host, 1, 255, NULL, "SMSC host name or address"),
    KEY("port", CONF_T_INT, struct conf_smpp, port, "2775", 1, 65535, NULL, "SMSC TCP port"),
    REQ("system_id", CONF_T_STRING, struct conf_smpp, system_id, 1, 15, NULL,
        "SMPP system_id given by the carrier (at most 15 characters)"),
    KEY("password", CONF_T_STRING, struct conf_smpp, password, "", 0, 8, NULL,
        "SMPP password (at most 8 characters)"),
    KEY("system_type", CONF_T_STRING, struct conf_smpp, system_type, "", 0, 12, NULL,
        "SMPP system_type, when the carrier asks for one"),
    KEY("bind", CONF_T_ENUM, struct conf_smpp, bind, "transceiver", 0, 0,
        "transceiver|transmitter+receiver", "one transceiver bind, or a transmitter and a receiver"),
    KEY("window", CONF_T_INT, struct conf_smpp, window, "10", 1, 1000, NULL,
        "submits awaiting their response at once"),
    KEY("tps", CONF_T_INT, struct conf_smpp, tps, "50", 1, 100000, NULL,
        "most submits per second the carrier allows on this bind"),
    KEY("concat", CONF_T_ENUM, struct conf_smpp, concat, "udh", 0, 0, "udh|sar|payload",
        "how long messages are sent: UDH in the text, SAR TLVs, or one message_payload"),
    KEY("receipts", CONF_T_BOOL, struct conf_smpp, receipts, "true", 0, 0, NULL,
        "ask for delivery receipts (registered_delivery)"),
    KEY("enquire_link", CONF_T_DURATION, struct conf_smpp, enquire_link, "30s", 1, 3600, NULL,
        "interval of enquire_link keep-alives; no answer within response_timeout means the "
        "link is dead and it is reconnected (1s is for tests)"),
    KEY("response_timeout", CONF_T_DURATION, struct conf_smpp, response_timeout, "30s", 1, 600,
        NULL, "how long a connect, bind, submit or enquire_link may wait for its answer; a "
        "submit past it is retried later, a silent keep-alive or bind resets the link"),
    KEY("reconnect_max", CONF_T_DURATION, struct conf_smpp, reconnect_max, "60s", 1, 3600, NULL,
        "longest wait between reconnects; the wait starts at 1s and doubles (with jitter) "
        "while connects or binds fail"),
    KEY("ids", CONF_T_ENUM, struct conf_smpp, ids, "auto", 0, 0,
        "auto|exact|decimal|hex|hex-dec|dec-hex",
        "how receipt ids compare with submit_sm_resp ids: hex-dec means submits answer in hex "
        "and receipts say decimal; auto accepts equal ids, the same number in one base, or "
        "an id with hex letters against its decimal form"),
    KEY("receipt_part", CONF_T_ENUM, struct conf_smpp, receipt_part, "all", 0, 0,
        "all|first|last", "which parts of a long message ask for a delivery receipt"),
    KEY("from", CONF_T_STRING, struct conf_smpp, from, "", 0, 21, NULL,
        "sender used when a message names none: +E.164, digits (a short code) or up to 11 "
        "letters; \"\" leaves the source address empty for the SMSC to fill"),
    KEY("data_coding", CONF_T_ENUM, struct conf_smpp, data_coding, "auto", 0, 0,
        "auto|latin1|ucs2",
        "auto: GSM 7-bit when the text fits it, else UCS-2; latin1 or ucs2 to force one"),
    END
};

static const struct conf_key route_keys[] = {
    REQ("match", CONF_T_STRING, struct conf_route, match, 1, 16, NULL,
        "\"+\" for every recipient, or an E.164 prefix such as \"+353\""),
    { .name = "via", .type = CONF_T_STRLIST, .offset = offsetof(struct conf_route, via),
      .required = true, .min = 1, .max = 32,
      .doc = "modem and SMPP bind names, in order of preference" },
    KEY("strategy", CONF_T_ENUM, struct conf_route, strategy, "failover", 0, 0,
        "failover|round-robin|least-busy",
        "failover: first healthy in order; round-robin or least-busy across healthy ones"),
    KEY("rate", CONF_T_INT, struct conf_route, rate, "0", 0, 100000, NULL,
        "most message parts a second through this route, all its members together (0: no "
        "limit); messages over it wait in the queue, they do not fail. On the service clock, "
        "so it follows --time-scale"),
    END
};

static const struct conf_key kannel_user_keys[] = {
    REQ("username", CONF_T_STRING, struct conf_kannel_user, username, 1, 64, NULL,
        "Kannel sendsms username"),
    REQ("password", CONF_T_STRING, struct conf_kannel_user, password, 1, 128, NULL,
        "Kannel sendsms password"),
    END
};

static const struct conf_key kannel_keys[] = {
    LIST("users", struct conf, kannel_compat.users, kannel_compat.n_users,
         struct conf_kannel_user, kannel_user_keys,
         "accounts allowed to use /cgi-bin/sendsms"),
    KEY("numbers", CONF_T_ENUM, struct conf, kannel_compat.numbers, "auto", 0, 0,
        "auto|international|national",
        "how sendsms reads a `to` without + or 00 (Kannel passes such numbers on as "
        "written): national in defaults.country; international, country code first "
        "(46701234567); or auto: whichever of the two is valid, refused naming both when "
        "both are. /v1/messages, the CLI and campaigns always read national"),
    END
};

static const struct conf_key keyword_keys[] = {
    KEY("optout_reply", CONF_T_STRING, struct conf, keywords.optout_reply,
        "You are unsubscribed. Reply START to resubscribe.", 1, 480, NULL,
        "the one confirmation sent after STOP"),
    KEY("optin_reply", CONF_T_STRING, struct conf, keywords.optin_reply,
        "You are subscribed again. Reply STOP to unsubscribe.", 1, 480, NULL,
        "the confirmation sent after START"),
    KEY("help_reply", CONF_T_STRING, struct conf, keywords.help_reply,
        "Reply STOP to unsubscribe, START to subscribe again.", 1, 480, NULL,
        "the answer to HELP"),
    { .name = "optout", .type = CONF_T_STRLIST, .offset = offsetof(struct conf, keywords.optout),
      .min = 0, .max = 50, .doc = "more opt-out words (ARRET, BAJA, STOPP), added to STOP, "
      "STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE" },
    { .name = "optin", .type = CONF_T_STRLIST, .offset = offsetof(struct conf, keywords.optin),
      .min = 0, .max = 50, .doc = "more opt-in words, added to START, UNSTOP, YES" },
    { .name = "help", .type = CONF_T_STRLIST, .offset = offsetof(struct conf, keywords.help),
      .min = 0, .max = 50, .doc = "more help words, added to HELP, INFO" },
    KEY("confirm_again_after", CONF_T_DURATION, struct conf, keywords.confirm_again_after,
        "24h", 0, 30 * DAY, NULL,
        "a second STOP within this gets no second confirmation"),
    END
};

static const struct conf_key quiet_keys[] = {
    KEY("start", CONF_T_CLOCK, struct conf, quiet_hours.start, "21:00", 0, 0, NULL,
        "local time (recipient's zone) from which campaign messages wait"),
    KEY("end", CONF_T_CLOCK, struct conf, quiet_hours.end, "08:00", 0, 0, NULL,
        "local time at which waiting campaign messages may go"),
    END
};

static const struct conf_key cap_keys[] = {
    KEY("messages", CONF_T_INT, struct conf, frequency_cap.messages, "3", 1, 1000, NULL,
        "most campaign messages one recipient gets within `per`"),
    KEY("per", CONF_T_DURATION, struct conf, frequency_cap.per, "30d", 3600, 366 * DAY, NULL,
        "the sliding window of the frequency cap"),
    END
};

static const struct conf_key variant_keys[] = {
    REQ("name", CONF_T_STRING, struct conf_variant, name, 1, 16, NULL,
        "the variant's name in reports (\"A\", \"B\" ...)"),
    REQ("text", CONF_T_STRING, struct conf_variant, text, 1, 1600, NULL,
        "the variant's template"),
    KEY("weight", CONF_T_INT, struct conf_variant, weight, "1", 1, 1000, NULL,
        "relative share of enrollments that get this variant"),
    END
};

static const struct conf_key step_keys[] = {
    KEY("after", CONF_T_DURATION, struct conf_step, after, "0s", 0, 366 * DAY, NULL,
        "delay of this step, counted as `from` says"),
    KEY("from", CONF_T_ENUM, struct conf_step, from, "previous", 0, 0, "previous|enrollment",
        "count `after` from when the previous step went (the first step: from enrollment) "
        "or from enrollment"),
    KEY("text", CONF_T_STRING, struct conf_step, text, "", 0, 1600, NULL,
        "the template: {name}, {code} or any contact field, {field|fallback}; "
        "give text or variants, not both"),
    { .name = "variants", .type = CONF_T_GROUPLIST, .offset = offsetof(struct conf_step, variants),
      .count_offset = offsetof(struct conf_step, n_variants), .elem_size = sizeof(struct conf_variant),
      .children = variant_keys, .doc = "A/B variants of the text, each enrollment gets one by weight" },
    END
};

/* No defaults: a campaign that leaves these out inherits the global groups. */
static const struct conf_key campaign_quiet_keys[] = {
    KEY("start", CONF_T_CLOCK, struct conf_campaign, quiet_hours.start, NULL, 0, 0, NULL,
        "this campaign's quiet hours start; default: quiet_hours.start"),
    KEY("end", CONF_T_CLOCK, struct conf_campaign, quiet_hours.end, NULL, 0, 0, NULL,
        "this campaign's quiet hours end; default: quiet_hours.end"),
    END
};

static const struct conf_key campaign_cap_keys[] = {
    KEY("messages", CONF_T_INT, struct conf_campaign, frequency_cap.messages, NULL, 1, 1000, NULL,
        "default: frequency_cap.messages"),
    KEY("per", CONF_T_DURATION, struct conf_campaign, frequency_cap.per, NULL, 3600, 366 * DAY,
        NULL, "default: frequency_cap.per"),
    END
};

static const struct conf_key campaign_keys[] = {
    REQ("name", CONF_T_STRING, struct conf_campaign, name, 1, 32, NULL, NAME_DOC),
    { .name = "exit_on", .type = CONF_T_STRLIST, .offset = offsetof(struct conf_campaign, exit_on),
      .def = "", .min = 0, .max = 2, .choices = "conversion|reply",
      .doc = "what ends an enrollment early besides opt-out: conversion, reply" },
    KEY("from", CONF_T_STRING, struct conf_campaign, from, "", 0, 16, NULL,
        "sender id of the campaign's messages; \"\": the route's default"),
    KEY("route", CONF_T_STRING, struct conf_campaign, route, "", 0, 32, NULL,
        "the only modem or bind the campaign may use; \"\": the routes decide"),
    KEY("consent_required", CONF_T_BOOL, struct conf_campaign, consent_required, "true", 0, 0,
        NULL, "enroll only contacts whose consent is recorded"),
    KEY("reenroll_after", CONF_T_DURATION, struct conf_campaign, reenroll_after, "90d", 0,
        3660 * DAY, NULL, "how long after an enrollment ends the recipient may be enrolled again"),
    KEY("attribution_window", CONF_T_DURATION, struct conf_campaign, attribution_window, "7d",
        0, 366 * DAY, NULL, "a conversion within this time of a step is credited to that step"),
    GROUP("quiet_hours", campaign_quiet_keys, "this campaign's quiet hours"),
    GROUP("frequency_cap", campaign_cap_keys, "this campaign's frequency cap"),
    { .name = "steps", .type = CONF_T_GROUPLIST, .offset = offsetof(struct conf_campaign, steps),
      .count_offset = offsetof(struct conf_campaign, n_steps), .elem_size = sizeof(struct conf_step),
      .children = step_keys, .required = true, .doc = "the messages of the sequence, in order" },
    END
};

const struct conf_key conf_schema_root[] = {
    KEY("database", CONF_T_STRING, struct conf, database, "var/homing.db", 1, 4096, NULL,
        "sqlite database file; relative paths are from the working directory"),
    GROUP("http", http_keys, "the HTTP API"),
    GROUP("defaults", defaults_keys, "defaults for messages and contacts"),
    GROUP("log", log_keys, "logging"),
    GROUP("service", service_keys, "the service loop"),
    GROUP("retry", retry_keys, "retries after temporary errors"),
    GROUP("inbound", inbound_keys, "received messages"),
    GROUP("webhooks", webhook_keys, "receipts and received messages POSTed to your URLs"),
    LIST("modems", struct conf, modems, n_modems, struct conf_modem, modem_keys,
         "USB GSM modems"),
    LIST("smpp", struct conf, smpp, n_smpp, struct conf_smpp, smpp_keys, "SMPP binds to carriers"),
    LIST("routes", struct conf, routes, n_routes, struct conf_route, route_keys,
         "which modems and binds carry which recipients; first match wins"),
    GROUP("kannel_compat", kannel_keys, "Kannel-compatible /cgi-bin/sendsms"),
    GROUP("keywords", keyword_keys, "STOP, START and HELP handling"),
    GROUP("quiet_hours", quiet_keys, "when campaign messages are not sent"),
    GROUP("frequency_cap", cap_keys, "limit on campaign messages per recipient"),
    LIST("campaigns", struct conf, campaigns, n_campaigns, struct conf_campaign, campaign_keys,
         "win-back sequences"),
    END
};

const char *conf_type_name(enum conf_type type)
{
    switch (type) {
    case CONF_T_STRING: return "string";
    case CONF_T_INT: return "integer";
    case CONF_T_BOOL: return "boolean";
    case CONF_T_DURATION: return "duration";
    case CONF_T_CLOCK: return "clock time";
    case CONF_T_ENUM: return "choice";
    case CONF_T_STRLIST: return "list of strings";
    case CONF_T_GROUP: return "group";
    case CONF_T_GROUPLIST: return "list of groups";
    }
    return "?";
}

bool conf_choice_ok(const char *choices, const char *value)
{
    size_t len = strlen(value);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, value, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}
