/*
 * `homing status`: the modems and binds as the running service last saw them
 * (it writes them to the database on change and every 10 s), and the queue
 * depths by state. A status older than 30 s means the service is not running.
 */
#include <getopt.h>
#include <jansson.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/status_json.h"
#include "gateway/store.h"

#define STALE_AFTER_S 30

struct status_out {
    json_t *json;
    int64_t newest;
};

static void add_driver(const struct store_driver_status *r, void *arg)
{
    struct status_out *o = arg;
    status_json_add_driver(o->json, r);
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
    struct status_out o = { status_json_new(false, 0), 0 };
    int64_t counts[MSG_STATE_COUNT];
    char err[256], at[40];
    if (store_driver_status_list(st, add_driver, &o, err, sizeof err) != STORE_OK ||
        store_count_by_state(st, counts, err, sizeof err) != STORE_OK) {
        json_decref(o.json);
        return cli_error("status", "%s", err);
    }
    status_json_set_queue(o.json, counts);
    bool running = o.newest > 0 && clock_wall_ms() / 1000 - o.newest < STALE_AFTER_S;
    json_t *svc = json_object_get(o.json, "service");
    json_object_set_new(svc, "running", json_boolean(running));
    json_object_set_new(svc, "status_at", o.newest ? json_string(clock_iso8601(o.newest, at, sizeof at))
                                                   : json_null());
    if (as_json) {
        cli_print_json(o.json);
    } else {
        print_text(o.json);
        json_decref(o.json);
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
