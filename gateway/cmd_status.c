/*
 * `homing status`: the modems and binds as the running service last saw them
 * (it writes them to the database on change and every 10 s), and the queue
 * depths by state. A status older than 30 s means the service is not running.
 */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/store.h"

#define STALE_AFTER_S 30

struct status_out {
    json_t *modems, *binds;
    int64_t newest;
};

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void add_driver(const struct store_driver_status *r, void *arg)
{
    struct status_out *o = arg;
    json_t *j = json_pack("{s:s, s:b, s:s}", "name", r->name, "up", r->up, "state", r->state);
    if (strcmp(r->kind, "modem") == 0) {
        json_object_set_new(j, "signal_dbm", r->signal_dbm ? json_integer(r->signal_dbm) : json_null());
        json_object_set_new(j, "registration", str_or_null(r->registration));
        json_object_set_new(j, "operator", str_or_null(r->operator_name));
    }
    json_object_set_new(j, "in_flight", json_integer(r->in_flight));
    json_array_append_new(strcmp(r->kind, "modem") == 0 ? o->modems : o->binds, j);
    if (r->updated_at > o->newest)
        o->newest = r->updated_at;
}

static void print_drivers(const char *title, json_t *list)
{
    size_t i;
    json_t *d;
    printf("%s:\n", title);
    if (json_array_size(list) == 0)
        printf("  (none)\n");
    json_array_foreach(list, i, d) {
        printf("  %-10s %-4s %s", json_string_value(json_object_get(d, "name")),
               json_is_true(json_object_get(d, "up")) ? "up" : "DOWN",
               json_string_value(json_object_get(d, "state")));
        json_t *sig = json_object_get(d, "signal_dbm");
        if (json_is_integer(sig))
            printf(", signal %lld dBm", (long long)json_integer_value(sig));
        const char *reg = json_string_value(json_object_get(d, "registration"));
        if (reg)
            printf(", %s", reg);
        const char *op = json_string_value(json_object_get(d, "operator"));
        if (op)
            printf(", %s", op);
        printf(", %lld in flight\n", (long long)json_integer_value(json_object_get(d, "in_flight")));
    }
}

static void print_text(json_t *out)
{
    json_t *svc = json_object_get(out, "service");
    printf("service: %s\n", json_is_true(json_object_get(svc, "running"))
                                ? "running" : "not running (no recent status from homing run)");
    print_drivers("modems", json_object_get(out, "modems"));
    print_drivers("smpp binds", json_object_get(out, "binds"));
    printf("queue:");
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(out, "queue"), key, v)
        printf(" %s=%lld", key, (long long)json_integer_value(v));
    printf("\n");
}

static int status_report(struct store *st, bool as_json)
{
    struct status_out o = { json_array(), json_array(), 0 };
    int64_t counts[MSG_STATE_COUNT];
    char err[256];
    if (store_driver_status_list(st, add_driver, &o, err, sizeof err) != STORE_OK ||
        store_count_by_state(st, counts, err, sizeof err) != STORE_OK) {
        json_decref(o.modems);
        json_decref(o.binds);
        return cli_error("status", "%s", err);
    }
    json_t *queue = json_object();
    for (int i = 0; i < MSG_STATE_COUNT; i++)
        json_object_set_new(queue, store_msg_state_name((enum msg_state)i), json_integer(counts[i]));
    bool running = o.newest > 0 && clock_wall_ms() / 1000 - o.newest < STALE_AFTER_S;
    char at[40];
    json_t *out = json_pack("{s:{s:b, s:o}, s:o, s:o, s:o}", "service", "running", running,
                            "status_at", o.newest ? json_string(clock_iso8601(o.newest, at, sizeof at))
                                                  : json_null(),
                            "modems", o.modems, "binds", o.binds, "queue", queue);
    if (as_json)
        cli_print_json(out);
    else {
        print_text(out);
        json_decref(out);
    }
    return CLI_OK;
}

int cmd_status(int argc, char **argv)
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
            return cli_usage("status", "unknown option");
    }
    if (optind < argc)
        return cli_usage("status", "unexpected argument '%s'", argv[optind]);
    struct conf *conf;
    struct store *st = NULL;
    int rc = cli_load_config("status", common.config_path, &conf);
    if (rc != CLI_OK)
        return rc;
    if ((rc = cli_open_store("status", conf, &st)) == CLI_OK)
        rc = status_report(st, common.json);
    store_close(st);
    conf_free(conf);
    return rc;
}
