/*
 * `homing optout list|add|remove|import` and `homing inbound`: the
 * suppression list and received messages, from the service's database.
 * Adding or removing an opt-out by hand, or importing a list, has the effects
 * of STOP and START (queued messages suppressed, sequences ended, events
 * recorded), without the SMS reply.
 *
 * The import reads CSV with the contacts import's reader (sched_csv: quotes,
 * CRLF, a byte order mark); every row is checked first, a bad one reported
 * with its line and skipped, and the good rows are committed together.
 */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/phone.h"
#include "gateway/store.h"
#include "scheduler/sched_csv.h"

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

/* One CSV field, quoted when it must be (RFC 4180), then `end`. */
static void csv_field(const char *v, char end)
{
    if (strpbrk(v, ",\"\r\n") == NULL) {
        printf("%s%c", v, end);
        return;
    }
    putchar('"');
    for (; *v; v++) {
        if (*v == '"')
            putchar('"');
        putchar(*v);
    }
    printf("\"%c", end);
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
    else if (a->csv) {
        csv_field(o->recipient, ',');
        csv_field(o->keyword, ',');
        csv_field(at, ',');
        csv_field(o->source, '\n');
    }
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

/* --- import ------------------------------------------------------------------ */

#define IMPORT_KEYWORD_MAX 31   /* as long as a matched keyword may be */

/* `v` without the white space around it, in buf. */
static const char *trimmed(const char *v, char *buf, size_t size)
{
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    snprintf(buf, size, "%.*s", (int)n, v);
    return buf;
}

/* Which column holds what; -1 when absent. */
struct import_cols {
    int number, keyword, at;
};

static bool import_header(const char *const *f, size_t n, struct import_cols *c, char *why,
                          size_t why_size)
{
    static const char *const number_names[] = { "msisdn", "phone", "number", "mobile", NULL };
    char name[64];
    *c = (struct import_cols){ -1, -1, -1 };
    for (size_t i = 0; i < n; i++) {
        int *col = NULL;
        trimmed(f[i], name, sizeof name);
        for (size_t k = 0; number_names[k]; k++)
            if (strcasecmp(name, number_names[k]) == 0)
                col = &c->number;
        if (strcasecmp(name, "keyword") == 0)
            col = &c->keyword;
        if (strcasecmp(name, "at") == 0)
            col = &c->at;
        if (col && *col >= 0) {
            snprintf(why, why_size, "column '%s' is given twice", name);
            return false;
        }
        if (col)
            *col = (int)i;
    }
    if (c->number < 0)
        snprintf(why, why_size, "the header names no msisdn or phone column (a first line "
                 "such as msisdn,keyword,at)");
    return c->number >= 0;
}

struct import {
    const char *path;
    const struct conf *conf;
    int64_t now;
    struct import_cols cols;
    struct store_optout_import *rows;
    char **owned;                /* the rows' strings, two per row */
    size_t n, cap;
    int skipped;
};

/* Column `col` of a row, trimmed, into buf ("" when the row is shorter). */
static const char *field(const char *const *f, size_t n, int col, char *buf, size_t size)
{
    return trimmed(col >= 0 && (size_t)col < n ? f[col] : "", buf, size);
}

/* Checks one data row; on success appends it to im->rows. */
static bool import_row(struct import *im, const char *const *f, size_t n, char *why,
                       size_t why_size)
{
    char e164[PHONE_E164_MAX], reason[200], nb[64], kb[64], ab[64];
    const char *number = field(f, n, im->cols.number, nb, sizeof nb);
    const char *kw = field(f, n, im->cols.keyword, kb, sizeof kb);
    const char *at_text = field(f, n, im->cols.at, ab, sizeof ab);
    int64_t at = im->now;
    if (!*number) {
        snprintf(why, why_size, "no number");
        return false;
    }
    if (!phone_normalize(number, im->conf->defaults.country, e164, reason, sizeof reason)) {
        snprintf(why, why_size, "%s", reason);
        return false;
    }
    if (strlen(kw) > IMPORT_KEYWORD_MAX) {
        snprintf(why, why_size, "keyword is longer than %d characters", IMPORT_KEYWORD_MAX);
        return false;
    }
    if (*at_text && !clock_parse_iso8601(at_text, &at)) {
        snprintf(why, why_size, "at '%.40s' is not an ISO 8601 time (2026-11-01T09:30:00Z)",
                 at_text);
        return false;
    }
    if (at > im->now) {
        snprintf(why, why_size, "at '%.40s' is in the future", at_text);
        return false;
    }
    if (im->n == im->cap) {
        im->cap = im->cap ? 2 * im->cap : 64;
        im->rows = realloc(im->rows, im->cap * sizeof *im->rows);
        im->owned = realloc(im->owned, 2 * im->cap * sizeof *im->owned);
        if (!im->rows || !im->owned)
            abort();
    }
    char *to = im->owned[2 * im->n] = strdup(e164);
    char *word = im->owned[2 * im->n + 1] = strdup(*kw ? kw : "IMPORT");
    if (!to || !word)
        abort();
    im->rows[im->n++] = (struct store_optout_import){ .recipient = to, .keyword = word, .at = at };
    return true;
}

static void import_free(struct import *im)
{
    for (size_t i = 0; i < 2 * im->n; i++)
        free(im->owned[i]);
    free(im->owned);
    free(im->rows);
}

/* Reports a row that is skipped, with its line. */
static void import_skip(struct import *im, long line, const char *why)
{
    fprintf(stderr, "homing optout: %s:%ld: %s; row skipped\n", im->path, line, why);
    im->skipped++;
}

/* Reads the whole file; false when it cannot be read or its header is wrong. */
static bool import_read(struct import *im)
{
    char why[256];
    const char *const *f;
    size_t n;
    long line;
    struct sched_csv *csv = sched_csv_open(im->path, why, sizeof why);
    if (!csv) {
        fprintf(stderr, "homing optout: %s\n", why);
        return false;
    }
    int rc = sched_csv_next(csv, &f, &n, &line, why, sizeof why);
    bool ok = rc > 0 && import_header(f, n, &im->cols, why, sizeof why);
    if (rc == 0)
        snprintf(why, sizeof why, "the file is empty (a header such as msisdn,keyword,at "
                 "comes first)");
    if (!ok)
        fprintf(stderr, "homing optout: %s:1: %s\n", im->path, why);
    while (ok && (rc = sched_csv_next(csv, &f, &n, &line, why, sizeof why)) != 0)
        if (rc < 0 || !import_row(im, f, n, why, sizeof why))
            import_skip(im, line, why);
    sched_csv_free(csv);
    return ok;
}

static int optout_import(const char *path, const struct conf *conf, struct store *st)
{
    struct import im = { .path = path, .conf = conf, .now = clock_now() };
    struct store_import_result r;
    char err[256];
    int rc = CLI_FAIL;
    if (import_read(&im)) {
        if (store_consent_import(st, im.rows, im.n, path, im.now, &r, err, sizeof err) != STORE_OK)
            cli_error("optout", "%s", err);
        else {
            printf("%s: %d opted out, %d already on the list, %d row%s skipped; %d queued "
                   "message%s suppressed, %d enrollment%s ended\n", path, r.added, r.already,
                   im.skipped, im.skipped == 1 ? "" : "s", r.suppressed,
                   r.suppressed == 1 ? "" : "s", r.ended, r.ended == 1 ? "" : "s");
            rc = im.skipped ? CLI_FAIL : CLI_OK;
        }
    }
    import_free(&im);
    return rc;
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
    if (strcmp(what, "import") == 0) {
        if (optind + 2 != argc)
            return cli_usage("optout", "import takes one CSV file");
        return optout_import(argv[optind + 1], conf, st);
    }
    if (strcmp(what, "add") != 0 && strcmp(what, "remove") != 0)
        return cli_usage("optout", "no subcommand '%s' (list, add, remove or import)", what);
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
        rc = cli_usage("optout", "say what to do: list, add NUMBER, remove NUMBER or import FILE");
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
