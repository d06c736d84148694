/*
 * `homing optout list|add|remove` and `homing inbound`: the suppression list
 * and received messages, from the service's database. Adding or removing an
 * opt-out by hand has the effects of STOP and START (queued messages
 * suppressed, sequences ended, an event recorded), without the SMS reply.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/phone.h"
#include "gateway/store.h"

struct consent_args {
    struct cli_common common;
    bool csv;
    const char *keyword;
    int limit;
    json_t *list;                /* --json: the rows */
};

static int parse(const char *cmd, int argc, char **argv, struct consent_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "csv", no_argument, NULL, 'v' },           { "keyword", required_argument, NULL, 'k' },
        { "limit", required_argument, NULL, 'l' },   { NULL, 0, NULL, 0 },
    };
    int c;
    a->common.config_path = cli_default_config();
    a->keyword = "MANUAL";
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->common.config_path = optarg; break;
        case 'j': a->common.json = true; break;
        case 'v': a->csv = true; break;
        case 'k': a->keyword = optarg; break;
        case 'l': a->limit = atoi(optarg); break;
        default: return cli_usage(cmd, "unknown option");
        }
    }
    if (a->common.json)
        a->list = json_array();
    return CLI_OK;
}

static void print_optout(const struct store_optout *o, void *arg)
{
    struct consent_args *a = arg;
    char at[40];
    clock_iso8601(o->at, at, sizeof at);
    if (a->list)
        json_array_append_new(a->list, json_pack("{s:s, s:s, s:s, s:s}", "msisdn", o->recipient,
                                                 "keyword", o->keyword, "at", at, "source",
                                                 o->source));
    else if (a->csv)
        printf("%s,%s,%s,%s\n", o->recipient, o->keyword, at, o->source);
    else
        printf("%-16s %-12s %-25s %s\n", o->recipient, o->keyword, at, o->source);
}

static int optout_change(const char *what, const char *number, struct consent_args *a,
                         const struct conf *conf, struct store *st)
{
    char e164[PHONE_E164_MAX], why[256], err[256];
    if (!phone_normalize(number, conf->defaults.country, e164, why, sizeof why))
        return cli_usage("optout", "%s", why);
    if (strcmp(what, "add") == 0) {
        int suppressed = 0;
        if (store_consent_optout(st, e164, a->keyword, "cli", clock_now(), &suppressed, err,
                                 sizeof err) != STORE_OK)
            return cli_error("optout", "%s", err);
        printf("%s opted out; %d queued message%s suppressed\n", e164, suppressed,
               suppressed == 1 ? "" : "s");
        return CLI_OK;
    }
    enum store_rc rc = store_consent_optin(st, e164, "cli", clock_now(), err, sizeof err);
    if (rc != STORE_OK)
        return cli_error("optout", "%s", err);
    printf("%s may receive messages again\n", e164);
    return CLI_OK;
}

static int optout_run(struct consent_args *a, int argc, char **argv, const struct conf *conf,
                      struct store *st)
{
    const char *what = argv[optind];
    char err[256];
    if (strcmp(what, "list") == 0) {
        if (optind + 1 != argc)
            return cli_usage("optout", "list takes no argument");
        if (a->csv)
            printf("msisdn,keyword,at,source\n");
        if (store_optout_list(st, print_optout, a, err, sizeof err) != STORE_OK)
            return cli_error("optout", "%s", err);
        if (a->list) {
            cli_print_json(a->list);
            a->list = NULL;
        }
        return CLI_OK;
    }
    if (strcmp(what, "add") != 0 && strcmp(what, "remove") != 0)
        return cli_usage("optout", "no subcommand '%s' (list, add or remove)", what);
    if (optind + 2 != argc)
        return cli_usage("optout", "%s takes one number", what);
    return optout_change(what, argv[optind + 1], a, conf, st);
}

int cmd_optout(int argc, char **argv)
{
    struct consent_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse("optout", argc, argv, &a);
    if (rc == CLI_OK && optind >= argc)
        rc = cli_usage("optout", "say what to do: list, add NUMBER or remove NUMBER");
    if (rc == CLI_OK && (rc = cli_load_config("optout", a.common.config_path, &conf)) == CLI_OK &&
        (rc = cli_open_store("optout", conf, &st)) == CLI_OK)
        rc = optout_run(&a, argc, argv, conf, st);
    json_decref(a.list);
    store_close(st);
    conf_free(conf);
    return rc;
}

static void print_inbound(const struct store_inbound_row *r, void *arg)
{
    struct consent_args *a = arg;
    char at[40];
    clock_iso8601(r->received_at, at, sizeof at);
    if (a->list)
        json_array_append_new(a->list, json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:b, s:s}", "id",
                                                 (json_int_t)r->id, "from", r->sender, "at", at,
                                                 "route", r->route, "keyword", r->keyword,
                                                 "complete", r->complete, "text", r->text));
    else
        printf("%-6lld %-16s %-25s %-8s %s%s\n", (long long)r->id, r->sender, at,
               r->keyword ? r->keyword : "-", r->complete ? "" : "[incomplete] ", r->text);
}

int cmd_inbound(int argc, char **argv)
{
    struct consent_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    char err[256];
    int rc = parse("inbound", argc, argv, &a);
    if (rc == CLI_OK && optind < argc)
        rc = cli_usage("inbound", "unexpected argument '%s'", argv[optind]);
    if (rc == CLI_OK && (rc = cli_load_config("inbound", a.common.config_path, &conf)) == CLI_OK &&
        (rc = cli_open_store("inbound", conf, &st)) == CLI_OK) {
        if (store_inbound_list(st, a.limit, print_inbound, &a, err, sizeof err) != STORE_OK)
            rc = cli_error("inbound", "%s", err);
        else if (a.list) {
            cli_print_json(a.list);
            a.list = NULL;
        }
    }
    json_decref(a.list);
    store_close(st);
    conf_free(conf);
    return rc;
}
