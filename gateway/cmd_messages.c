/*
 * `homing send`, `homing messages`, `homing show`: put a message in the queue
 * and read the queue back, from the same database the service uses.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/accept.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/message_json.h"
#include "gateway/phone.h"
#include "gateway/store.h"

struct send_args {
    struct cli_common common;
    const char *to, *text, *from, *route, *key;
};

static int parse_send(int argc, char **argv, struct send_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "from", required_argument, NULL, 'f' },   { "route", required_argument, NULL, 'r' },
        { "key", required_argument, NULL, 'k' },    { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->common.config_path = optarg; break;
        case 'j': a->common.json = true; break;
        case 'f': a->from = optarg; break;
        case 'r': a->route = optarg; break;
        case 'k': a->key = optarg; break;
        default: return cli_usage("send", "unknown option");
        }
    }
    if (argc - optind != 2)
        return cli_usage("send", "give a recipient and a text: homing send TO TEXT");
    a->to = argv[optind];
    a->text = argv[optind + 1];
    if (a->from && (strlen(a->from) == 0 || strlen(a->from) > 20))
        return cli_usage("send", "--from must be 1 to 20 characters");
    if (a->key && (strlen(a->key) == 0 || strlen(a->key) > 128))
        return cli_usage("send", "--key must be 1 to 128 characters");
    return CLI_OK;
}

static int enqueue(const struct send_args *a, const struct conf *conf, struct store *st)
{
    struct accept_request req = { .to = a->to, .text = a->text, .from = a->from,
                                  .route = a->route, .idempotency_key = a->key, .source = "cli" };
    struct accepted acc;
    int64_t now = clock_now(), id = 0;
    char err[512];
    switch (accept_check(conf, st, &req, now, &acc)) {
    case ACCEPT_OK: break;
    case ACCEPT_BAD_FIELD: return cli_usage("send", "%s", acc.error);
    default: return cli_error("send", "%s", acc.error);
    }
    enum store_rc src = store_enqueue(st, &acc.msg, now, &id, err, sizeof err);
    if (src == STORE_CONFLICT || src == STORE_ERROR)
        return cli_error("send", "%s", err);
    if (src == STORE_DUPLICATE)
        fprintf(stderr, "homing send: key '%s' was already accepted as message %lld\n", a->key,
                (long long)id);
    if (a->common.json)
        cli_print_json(json_pack("{s:I, s:s, s:i}", "id", (json_int_t)id, "encoding",
                                 acc.encoding, "segments", acc.segments));
    else
        printf("%lld\n", (long long)id);
    return CLI_OK;
}

int cmd_send(int argc, char **argv)
{
    struct send_args a = { .common.config_path = cli_default_config() };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse_send(argc, argv, &a);
    if (rc != CLI_OK || (rc = cli_load_config("send", a.common.config_path, &conf)) != CLI_OK)
        return rc;
    if ((rc = cli_open_store("send", conf, &st)) == CLI_OK)
        rc = enqueue(&a, conf, st);
    store_close(st);
    conf_free(conf);
    return rc;
}

/* --- reading back -------------------------------------------------------- */

struct list_args {
    struct cli_common common;
    struct store_filter filter;
    const char *to;
};

static int parse_messages(int argc, char **argv, struct list_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "state", required_argument, NULL, 's' },  { "to", required_argument, NULL, 't' },
        { "limit", required_argument, NULL, 'l' },  { NULL, 0, NULL, 0 },
    };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->common.config_path = optarg; break;
        case 'j': a->common.json = true; break;
        case 't': a->to = optarg; break;
        case 's':
            if (!store_msg_state_parse(optarg, &a->filter.state))
                return cli_usage("messages", "--state '%s' is not a message state", optarg);
            a->filter.has_state = true;
            break;
        case 'l':
            a->filter.limit = (int)strtol(optarg, &end, 10);
            if (*end || a->filter.limit < 1 || a->filter.limit > 100000)
                return cli_usage("messages", "--limit wants 1 to 100000, not '%s'", optarg);
            break;
        default: return cli_usage("messages", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage("messages", "unexpected argument '%s'", argv[optind]);
    return CLI_OK;
}

static void print_row(const struct store_message *m, void *arg)
{
    json_t *list = arg;
    if (list) {
        json_array_append_new(list, message_json(m, false));
        return;
    }
    char at[40];
    printf("%-8lld %-11s %-16s %3d %-25s %.40s\n", (long long)m->id,
           store_msg_state_name(m->state), m->to, m->segments,
           clock_iso8601(m->created_at, at, sizeof at), m->body);
}

int cmd_messages(int argc, char **argv)
{
    struct list_args a = { .common.config_path = cli_default_config() };
    struct conf *conf = NULL;
    struct store *st = NULL;
    char e164[PHONE_E164_MAX], why[256];
    int rc = parse_messages(argc, argv, &a);
    if (rc != CLI_OK || (rc = cli_load_config("messages", a.common.config_path, &conf)) != CLI_OK)
        return rc;
    if (a.to && !phone_normalize(a.to, conf->defaults.country, e164, why, sizeof why))
        rc = cli_usage("messages", "--to: %s", why);
    else
        rc = cli_open_store("messages", conf, &st);
    if (rc == CLI_OK) {
        a.filter.to = a.to ? e164 : NULL;
        json_t *list = a.common.json ? json_array() : NULL;
        if (!list)
            printf("%-8s %-11s %-16s %3s %-25s %s\n", "ID", "STATE", "TO", "SEG", "CREATED",
                   "TEXT");
        if (store_messages_list(st, &a.filter, print_row, list, why, sizeof why) != STORE_OK)
            rc = cli_error("messages", "%s", why);
        if (list && rc == CLI_OK)
            cli_print_json(list);
        else
            json_decref(list);
    }
    store_close(st);
    conf_free(conf);
    return rc;
}

static void print_message(const struct store_message *m)
{
    char a[40], b[40];
    printf("message %lld\n  to:         %s\n  from:       %s\n  state:      %s\n"
           "  encoding:   %s, %d segment%s\n  route:      %s\n  created:    %s\n"
           "  sent:       %s\n  attempts:   %d\n",
           (long long)m->id, m->to, m->from ? m->from : "-", store_msg_state_name(m->state),
           m->encoding, m->segments, m->segments == 1 ? "" : "s", m->route ? m->route : "-",
           clock_iso8601(m->created_at, a, sizeof a),
           m->sent_at ? clock_iso8601(m->sent_at, b, sizeof b) : "-", m->attempts);
    if (m->last_error)
        printf("  last error: %s\n", m->last_error);
    printf("  text:       %s\n", m->body);
    for (size_t i = 0; i < m->n_parts; i++)
        printf("  part %d: %s ref=%s receipt=%s\n", m->parts[i].index,
               store_part_state_name(m->parts[i].state), m->parts[i].ref ? m->parts[i].ref : "-",
               m->parts[i].receipt ? m->parts[i].receipt : "-");
}

static int show_one(struct store *st, int64_t id, bool json)
{
    struct store_message *m;
    char err[256];
    enum store_rc src = store_message_get(st, id, &m, err, sizeof err);
    if (src != STORE_OK)
        return cli_error("show", "%s", err);
    if (json) {
        cli_print_json(message_json(m, true));
    } else {
        print_message(m);
    }
    store_message_free(m);
    return CLI_OK;
}

int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_common common = { .config_path = cli_default_config() };
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            common.config_path = optarg;
        else if (c == 'j')
            common.json = true;
        else
            return cli_usage("show", "unknown option");
    }
    if (argc - optind != 1)
        return cli_usage("show", "give one message id: homing show ID");
    char *end;
    long long id = strtoll(argv[optind], &end, 10);
    if (*end || id <= 0)
        return cli_usage("show", "'%s' is not a message id", argv[optind]);
    struct conf *conf;
    struct store *st;
    int rc = cli_load_config("show", common.config_path, &conf);
    if (rc != CLI_OK)
        return rc;
    if ((rc = cli_open_store("show", conf, &st)) == CLI_OK)
        rc = show_one(st, id, common.json);
    store_close(st);
    conf_free(conf);
    return rc;
}
