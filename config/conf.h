/*
 * conf: homing.conf, loaded with libconfig and checked against one schema.
 *
 * Every key has a type, a default, and a range or set of allowed values in
 * the schema table (config/conf_schema.c). Loading never stops at the first
 * problem: it collects every error, each naming the file, the line and the
 * key path ("config/homing.conf:12: modems[1].baud: ..."), so an operator
 * fixes a file in one pass. A struct conf that loaded with errors is never
 * used to run the service.
 *
 * Durations are kept in seconds, clock times in minutes after midnight.
 */
#ifndef HOMING_CONF_H
#define HOMING_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct conf_strlist {
    char **items;
    size_t n;
};

struct conf_modem {
    char *name;
    char *port;          /* device path, or usb:VID:PID[:SERIAL[:INTERFACE]] */
    int64_t baud;
    char *pin;
    char *smsc;          /* SMSC address to set, "" to keep the SIM's */
    int64_t sends_per_minute;
    bool status_reports;
    int64_t send_timeout;  /* seconds the network may take to answer a sent PDU */
    int64_t prompt_timeout; /* seconds AT+CMGS may wait for its "> " prompt */
    int64_t poll;          /* seconds between signal and registration checks */
};

struct conf_smpp {
    char *name;
    char *host;
    int64_t port;
    char *system_id;
    char *password;
    char *system_type;
    char *bind;          /* transceiver | transmitter+receiver */
    int64_t window;
    int64_t tps;
    char *concat;        /* udh | sar | payload */
    bool receipts;
    int64_t enquire_link; /* seconds */
    int64_t response_timeout; /* seconds a PDU may wait for its response */
    int64_t reconnect_max;    /* seconds: cap of the reconnect backoff */
    char *ids;           /* auto | exact | decimal | hex | hex-dec | dec-hex */
    char *receipt_part;  /* all | first | last */
    char *from;          /* default source address, "" for none */
    char *data_coding;   /* auto | latin1 | ucs2 */
};

struct conf_route {
    char *match;         /* "+" for everything, else a number prefix such as "+353" */
    struct conf_strlist via;
    char *strategy;      /* failover | round-robin | least-busy */
    int64_t rate;        /* parts per second through the route, all members together; 0: no limit */
};

struct conf_kannel_user {
    char *username;
    char *password;
};

struct conf_variant {
    char *name;          /* "A", "B" ...: how reports name it */
    char *text;          /* template */
    int64_t weight;      /* relative share of enrollments that get it */
};

struct conf_step {
    int64_t after;       /* seconds */
    char *from;          /* "previous" (the previous step went) | "enrollment" */
    char *text;          /* template; "" when the step has variants */
    struct conf_variant *variants;
    size_t n_variants;
};

/*
 * Campaign quiet hours and frequency cap: left out of the file they inherit
 * the global ones (conf_load copies them in), so users of the struct always
 * see the values that apply.
 */
struct conf_campaign {
    char *name;
    struct conf_strlist exit_on;
    char *from;                  /* sender id, "" for the route's default */
    char *route;                 /* the only modem or bind it may use, "" for routing */
    bool consent_required;
    int64_t reenroll_after;      /* seconds after an enrollment ends */
    int64_t attribution_window;  /* seconds after a step in which a conversion is credited to it */
    struct { int64_t start; int64_t end; } quiet_hours;   /* minutes after midnight */
    struct { int64_t messages; int64_t per; } frequency_cap;
    struct conf_step *steps;
    size_t n_steps;
};

struct conf {
    char *path;          /* the file this was loaded from */
    char *database;
    struct { char *listen; char *token; int64_t max_body; bool metrics_open; } http;
    struct { char *country; char *timezone; int64_t validity; int64_t max_segments; bool smart_encoding; } defaults;
    struct { char *level; bool syslog; } log;
    struct { int64_t tick; int64_t shutdown_grace; } service;
    struct { int64_t attempts; int64_t backoff; int64_t max_backoff; } retry;
    struct { int64_t reassembly_timeout; } inbound;
    struct {
        char *receipts;          /* URL receipts are POSTed to, "" for none */
        char *inbound;           /* URL received messages are POSTed to, "" for none */
        int64_t timeout;         /* seconds one call may take */
        int64_t max_attempts;
        int64_t backoff;         /* seconds before the second try; doubles after */
        int64_t max_backoff;
        int64_t max_in_flight;
    } webhooks;
    struct conf_modem *modems;
    size_t n_modems;
    struct conf_smpp *smpp;
    size_t n_smpp;
    struct conf_route *routes;
    size_t n_routes;
    struct {
        struct conf_kannel_user *users;
        size_t n_users;
        char *numbers;           /* auto | international | national: sendsms `to` without + */
    } kannel_compat;
    struct {
        char *optout_reply, *optin_reply, *help_reply;
        struct conf_strlist optout, optin, help;  /* added to the built-in words */
        int64_t confirm_again_after;              /* seconds */
    } keywords;
    struct { int64_t start; int64_t end; } quiet_hours;   /* minutes after midnight */
    struct { int64_t messages; int64_t per; } frequency_cap;
    struct conf_campaign *campaigns;
    size_t n_campaigns;
};

/* The errors of one load, in file order. */
struct conf_errors {
    char **lines;
    size_t n;
};

/*
 * Loads and checks `path`. Returns a conf when there were no errors; otherwise
 * NULL, with every problem appended to `errs` (which the caller frees).
 */
struct conf *conf_load(const char *path, struct conf_errors *errs);
/* A conf with every default, as if the file were empty. Never fails. */
struct conf *conf_defaults(void);
void conf_free(struct conf *conf);
void conf_errors_free(struct conf_errors *errs);

/* True when a modem or SMPP bind of `conf` has this name (they share one namespace). */
bool conf_driver_exists(const struct conf *conf, const char *name);

/* Prints the schema as a markdown reference (docs/configuration.md's table). */
void conf_print_reference(FILE *out);
/* Calls `fn` with the dotted path of every key in the schema ("modems[].baud"). */
void conf_schema_walk(void (*fn)(const char *path, void *arg), void *arg);

/*
 * Value parsers shared with the CLI and HTTP API. They return true on success,
 * or false with a reason in `why` ("unknown unit 'x' in '5x'").
 */
bool conf_parse_duration(const char *text, int64_t *seconds, char *why, size_t why_size);
bool conf_parse_clock(const char *text, int64_t *minutes, char *why, size_t why_size);
/* True when `tz` names a zone of the system's IANA database (Europe/Dublin). */
bool conf_timezone_exists(const char *tz);
bool conf_parse_listen(const char *text, char *host, size_t host_size, int *port,
                       char *why, size_t why_size);

#endif
