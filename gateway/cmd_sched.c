/*
 * The win-back commands: `homing contacts import|list`, `homing enroll`,
 * `homing convert` and `homing campaign preview`. They work on the service's
 * database through scheduler/ and stamp times on the service clock when one
 * is published (cli_open_store follows it).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/phone.h"
#include "gateway/store.h"
#include "scheduler/sched_contacts.h"

struct sched_args {
    struct cli_common common;
    const char *csv;             /* enroll --csv FILE */
    const char *value;           /* convert --value */
    int limit;
};

static int parse(const char *cmd, int argc, char **argv, struct sched_args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "csv", required_argument, NULL, 'v' },    { "value", required_argument, NULL, 'a' },
        { "limit", required_argument, NULL, 'l' },  { NULL, 0, NULL, 0 },
    };
    int c;
    char *end;
    a->common.config_path = cli_default_config();
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->common.config_path = optarg; break;
        case 'j': a->common.json = true; break;
        case 'v': a->csv = optarg; break;
        case 'a': a->value = optarg; break;
        case 'l':
            a->limit = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || a->limit <= 0)
                return cli_usage(cmd, "--limit '%s' is not a positive number", optarg);
            break;
        default: return cli_usage(cmd, "unknown option");
        }
    }
    return CLI_OK;
}

/* Loads the configuration and opens the store for `cmd`. */
static int open_all(const char *cmd, const struct sched_args *a, struct conf **conf,
                    struct store **st)
{
    int rc = cli_load_config(cmd, a->common.config_path, conf);
    return rc == CLI_OK ? cli_open_store(cmd, *conf, st) : rc;
}

/* --- contacts ---------------------------------------------------------------- */

struct import_view {
    const char *path;
    bool bar;                    /* a progress bar on stderr */
    bool bar_shown;
    json_t *errors;              /* --json: the skipped rows */
};

static void clear_bar(struct import_view *v)
{
    if (v->bar_shown)
        fputs("\r\033[K", stderr);
    v->bar_shown = false;
}

static void on_bad_row(long line, const char *why, void *arg)
{
    struct import_view *v = arg;
    clear_bar(v);
    fprintf(stderr, "%s:%ld: %s\n", v->path, line, why);
    if (v->errors)
        json_array_append_new(v->errors, json_pack("{s:I, s:s}", "line", (json_int_t)line,
                                                   "reason", why));
}

static void on_progress(size_t done, size_t total, long rows, void *arg)
{
    struct import_view *v = arg;
    if (!v->bar || total == 0)
        return;
    int pct = (int)(done * 100 / total), width = 30, filled = pct * width / 100;
    fprintf(stderr, "\r\033[Kimporting [%.*s%*s] %3d%%  %ld rows", filled,
            "##############################", width - filled, "", pct, rows);
    fflush(stderr);
    v->bar_shown = true;
}

static int contacts_import(const char *path, const struct sched_args *a,
                           const struct conf *conf, struct store *st)
{
    struct import_view v = { .path = path, .bar = !a->common.json && isatty(STDERR_FILENO) };
    struct sched_import imp = { .country = conf->defaults.country, .now = clock_now(),
                                .bad_row = on_bad_row, .progress = on_progress, .arg = &v };
    char err[512];
    if (a->common.json)
        v.errors = json_array();
    bool ok = sched_contacts_import(st, path, &imp, err, sizeof err);
    clear_bar(&v);
    if (!ok)
        fprintf(stderr, "homing contacts: %s\n", err);
    if (a->common.json)
        cli_print_json(json_pack("{s:I, s:I, s:o}", "imported", (json_int_t)imp.imported,
                                 "skipped", (json_int_t)imp.skipped, "errors", v.errors));
    else
        printf("imported %ld contact%s, %ld row%s skipped\n", imp.imported,
               imp.imported == 1 ? "" : "s", imp.skipped, imp.skipped == 1 ? "" : "s");
    return ok && imp.skipped == 0 ? CLI_OK : CLI_FAIL;
}

static void print_contact(const struct sched_contact_row *r, void *arg)
{
    json_t *list = arg;
    char at[40] = "";
    if (r->consent_at)
        clock_iso8601(r->consent_at, at, sizeof at);
    if (list) {
        json_t *attrs = r->attributes ? json_loads(r->attributes, 0, NULL) : NULL;
        json_array_append_new(list, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o}", "msisdn",
                                              r->msisdn, "name", r->name, "timezone", r->timezone,
                                              "consent", r->consent, "consent_at",
                                              *at ? at : NULL, "attributes",
                                              attrs ? attrs : json_object()));
        return;
    }
    printf("%-16s %-20s %-20s %-4s %-25s %s\n", r->msisdn, r->name ? r->name : "-",
           r->timezone ? r->timezone : "-", r->consent ? r->consent : "-", *at ? at : "-",
           r->attributes ? r->attributes : "{}");
}

static int contacts_list(const struct sched_args *a, struct store *st)
{
    json_t *list = a->common.json ? json_array() : NULL;
    char err[512];
    if (!sched_contacts_list(st, a->limit ? a->limit : 100, print_contact, list, err,
                             sizeof err)) {
        json_decref(list);
        return cli_error("contacts", "%s", err);
    }
    if (list)
        cli_print_json(list);
    return CLI_OK;
}

int cmd_contacts(int argc, char **argv)
{
    struct sched_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse("contacts", argc, argv, &a);
    const char *what = optind < argc ? argv[optind] : "";
    bool import = strcmp(what, "import") == 0, list = strcmp(what, "list") == 0;
    if (rc == CLI_OK && !import && !list)
        rc = cli_usage("contacts", "say what to do: import FILE.csv or list");
    else if (rc == CLI_OK && import && optind + 2 != argc)
        rc = cli_usage("contacts", "import takes one CSV file");
    else if (rc == CLI_OK && list && optind + 1 != argc)
        rc = cli_usage("contacts", "list takes no argument");
    if (rc == CLI_OK && (rc = open_all("contacts", &a, &conf, &st)) == CLI_OK)
        rc = import ? contacts_import(argv[optind + 1], &a, conf, st) : contacts_list(&a, st);
    store_close(st);
    conf_free(conf);
    return rc;
}
