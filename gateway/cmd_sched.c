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
#include <strings.h>
#include <unistd.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/codec.h"
#include "gateway/commands.h"
#include "gateway/phone.h"
#include "gateway/store.h"
#include "scheduler/sched_contacts.h"
#include "scheduler/sched_csv.h"
#include "scheduler/sched_enroll.h"
#include "scheduler/sched_render.h"

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
    if (!v->bar || total < (1u << 20)) /* small files are done before a bar would help */
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

/* --- enroll ------------------------------------------------------------------ */

#define ENROLL_BATCH 1000        /* enrollments per transaction */

/* An answer held until its batch is committed. */
struct enroll_line {
    char where[300];             /* "FILE:LINE: " for CSV rows, else "" */
    char msisdn[PHONE_E164_MAX + 64];
    long line;                   /* CSV rows: the line, else 0 */
    struct sched_enroll_result res;
};

struct enroll_run {
    const struct sched_args *a;
    const struct conf *conf;
    struct sched_enroller *en;
    const char *campaign;
    struct enroll_line *lines;
    size_t n;
    json_t *list;                /* --json */
    int refused;
    long line;                   /* the CSV line being read */
};

static void print_line(struct enroll_run *r, const struct enroll_line *l)
{
    const struct sched_enroll_result *res = &l->res;
    char due[40];
    bool ok = res->rc == SCHED_ENROLLED;
    r->refused += !ok;
    if (r->list) {
        json_t *o = json_pack("{s:s?, s:b}", "msisdn", l->msisdn[0] ? l->msisdn : NULL,
                              "enrolled", ok);
        if (l->line)
            json_object_set_new(o, "line", json_integer(l->line));
        if (ok)
            json_object_update_new(o, json_pack("{s:I, s:s}", "id", (json_int_t)res->id,
                                                "next_due_at",
                                                clock_iso8601(res->next_due_at, due, sizeof due)));
        else
            json_object_set_new(o, "reason", json_string(res->reason));
        json_array_append_new(r->list, o);
    } else if (ok) {
        printf("%s%s: enrolled %lld, first step due %s\n", l->where, l->msisdn,
               (long long)res->id, clock_iso8601(res->next_due_at, due, sizeof due));
    } else {
        printf("%s%s%srefused: %s\n", l->where, l->msisdn, l->msisdn[0] ? ": " : "",
               res->reason);
    }
}

/* Commits the batch, then tells what happened to each of its recipients. */
static bool flush_batch(struct enroll_run *r)
{
    char err[300];
    bool ok = sched_enroller_commit(r->en, err, sizeof err);
    for (size_t i = 0; i < r->n; i++) {
        struct enroll_line *l = &r->lines[i];
        if (!ok && l->res.rc == SCHED_ENROLLED) {
            l->res.rc = SCHED_DB_ERROR;
            snprintf(l->res.reason, sizeof l->res.reason, "%s", err);
        }
        print_line(r, l);
    }
    r->n = 0;
    return ok;
}

/* A recipient refused before enrollment was tried (a bad number or CSV row). */
static void refuse_line(struct enroll_run *r, const char *where, const char *msisdn,
                        const char *why)
{
    struct enroll_line *l = &r->lines[r->n++];
    l->line = r->line;
    snprintf(l->where, sizeof l->where, "%s", where);
    snprintf(l->msisdn, sizeof l->msisdn, "%s", msisdn);
    memset(&l->res, 0, sizeof l->res);
    l->res.rc = SCHED_BAD_VARS;
    snprintf(l->res.reason, sizeof l->res.reason, "%s", why);
    if (r->n == ENROLL_BATCH)
        flush_batch(r);
}

/* Enrolls one recipient as typed (normalised here); `where` prefixes its line. */
static void enroll_one(struct enroll_run *r, const char *where, const char *number,
                       const json_t *vars, const char *source)
{
    char e164[PHONE_E164_MAX], why[256];
    if (!phone_normalize(number, r->conf->defaults.country, e164, why, sizeof why)) {
        refuse_line(r, where, number, why);
        return;
    }
    struct enroll_line *l = &r->lines[r->n++];
    l->line = r->line;
    snprintf(l->where, sizeof l->where, "%s", where);
    snprintf(l->msisdn, sizeof l->msisdn, "%s", e164);
    struct sched_enrollment e = { .campaign = r->campaign, .msisdn = e164, .vars = vars,
                                  .source = source, .now = clock_now() };
    if (sched_enroller_add(r->en, &e, &l->res) == SCHED_DB_ERROR) {
        /* The open batch was rolled back with it: say so for each. */
        for (size_t i = 0; i + 1 < r->n; i++)
            if (r->lines[i].res.rc == SCHED_ENROLLED) {
                r->lines[i].res.rc = SCHED_DB_ERROR;
                snprintf(r->lines[i].res.reason, sizeof r->lines[i].res.reason, "%s",
                         l->res.reason);
            }
    }
    if (r->n == ENROLL_BATCH)
        flush_batch(r);
}

/* The CSV's phone column, or -1 with the error printed. */
static int phone_column(const char *path, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(f[i], "phone") == 0 || strcasecmp(f[i], "msisdn") == 0)
            return (int)i;
    cli_error("enroll", "%s:1: the header has no phone column (phone or msisdn)", path);
    return -1;
}

static int enroll_csv(struct enroll_run *r, const char *path)
{
    char err[512], where[300];
    struct sched_csv *csv = sched_csv_open(path, err, sizeof err);
    if (!csv)
        return cli_error("enroll", "%s", err);
    const char *const *f;
    size_t n;
    long line;
    int rc = sched_csv_next(csv, &f, &n, &line, err, sizeof err);
    size_t n_cols = n;
    char **header = calloc(n_cols ? n_cols : 1, sizeof *header);
    for (size_t i = 0; rc > 0 && i < n; i++)
        header[i] = strdup(f[i]);
    int phone = rc > 0 ? phone_column(path, f, n) : -1;
    if (rc <= 0)
        cli_error("enroll", "%s:1: the first line must name the columns (phone, and vars)", path);
    while (phone >= 0 && (rc = sched_csv_next(csv, &f, &n, &line, err, sizeof err)) != 0) {
        snprintf(where, sizeof where, "%s:%ld: ", path, line);
        r->line = line;
        if (rc < 0 || n != n_cols) {
            if (rc > 0)
                snprintf(err, sizeof err, "has %zu field%s, the header has %zu", n,
                         n == 1 ? "" : "s", n_cols);
            refuse_line(r, where, "", err);
            continue;
        }
        json_t *vars = json_object();
        for (size_t i = 0; i < n; i++)
            if ((int)i != phone && *f[i])
                json_object_set_new(vars, header[i], json_string(f[i]));
        enroll_one(r, where, f[phone], vars, "csv");
        json_decref(vars);
    }
    for (size_t i = 0; i < n_cols; i++)
        free(header[i]);
    free(header);
    sched_csv_free(csv);
    return phone >= 0 ? CLI_OK : CLI_FAIL;
}

static int enroll_all(const struct sched_args *a, int argc, char **argv,
                      const struct conf *conf, struct store *st)
{
    char err[300];
    struct enroll_run r = { .a = a, .conf = conf, .campaign = argv[optind] };
    if (!sched_campaign_find(conf, r.campaign))
        return cli_usage("enroll", "no campaign is named '%s' in %s", r.campaign, conf->path);
    if (!(r.en = sched_enroller_new(st, conf, err, sizeof err)))
        return cli_error("enroll", "%s", err);
    r.lines = calloc(ENROLL_BATCH, sizeof *r.lines);
    r.list = a->common.json ? json_array() : NULL;
    int rc = a->csv ? enroll_csv(&r, a->csv) : CLI_OK;
    for (int i = optind + 1; !a->csv && i < argc; i++)
        enroll_one(&r, "", argv[i], NULL, "cli");
    flush_batch(&r);
    if (r.list)
        cli_print_json(r.list);
    sched_enroller_free(r.en);
    free(r.lines);
    return rc == CLI_OK && r.refused ? CLI_FAIL : rc;
}

int cmd_enroll(int argc, char **argv)
{
    struct sched_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse("enroll", argc, argv, &a);
    if (rc == CLI_OK && optind >= argc)
        rc = cli_usage("enroll", "name a campaign: homing enroll CAMPAIGN MSISDN... | --csv FILE");
    else if (rc == CLI_OK && (optind + 1 == argc) == !a.csv)
        rc = cli_usage("enroll", "give the recipients as numbers or --csv FILE (one of the two)");
    if (rc == CLI_OK && (rc = open_all("enroll", &a, &conf, &st)) == CLI_OK)
        rc = enroll_all(&a, argc, argv, conf, st);
    store_close(st);
    conf_free(conf);
    return rc;
}

/* --- convert ----------------------------------------------------------------- */

static void print_conversion(const char *msisdn, const struct sched_conversion *c,
                             const struct sched_convert_result *res, bool json)
{
    if (json) {
        cli_print_json(sched_convert_json(msisdn, c, res));
        return;
    }
    printf("conversion %lld recorded for %s", (long long)res->id, msisdn);
    if (res->credited)
        printf("; credited to %s step %d%s%s", res->campaign, res->step + 1,
               res->variant[0] ? " variant " : "", res->variant);
    else
        printf("; not credited (no step sent within an attribution window)");
    if (res->message_id)
        printf(" (message %lld)", (long long)res->message_id);
    printf("\n");
    for (size_t i = 0; i < res->n_ended && i < SCHED_CONVERT_MAX_ENDED; i++)
        printf("ended enrollment %lld in %s\n", (long long)res->ended[i].id, res->ended[i].campaign);
    if (res->n_ended > SCHED_CONVERT_MAX_ENDED)
        printf("and %zu more enrollments ended\n", res->n_ended - SCHED_CONVERT_MAX_ENDED);
}

static int convert_run(const char *number, const struct sched_args *a, const struct conf *conf,
                       struct store *st)
{
    char e164[PHONE_E164_MAX], why[256], err[300], *end = NULL;
    struct sched_conversion c = { .msisdn = e164, .source = "cli", .now = clock_now() };
    if (!phone_normalize(number, conf->defaults.country, e164, why, sizeof why))
        return cli_usage("convert", "%s", why);
    if (a->value) {
        c.value = strtod(a->value, &end);
        c.has_value = true;
        if (*a->value == '\0' || *end || c.value != c.value || c.value > 1e15 || c.value < -1e15)
            return cli_usage("convert", "--value '%s' is not an amount like 19.99", a->value);
    }
    struct sched_convert_result res;
    if (!sched_convert(st, conf, &c, &res, err, sizeof err))
        return cli_error("convert", "%s", err);
    print_conversion(e164, &c, &res, a->common.json);
    return CLI_OK;
}

int cmd_convert(int argc, char **argv)
{
    struct sched_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse("convert", argc, argv, &a);
    if (rc == CLI_OK && optind + 1 != argc)
        rc = cli_usage("convert", "give one number: homing convert MSISDN [--value AMOUNT]");
    if (rc == CLI_OK && (rc = open_all("convert", &a, &conf, &st)) == CLI_OK)
        rc = convert_run(argv[optind], &a, conf, st);
    store_close(st);
    conf_free(conf);
    return rc;
}

/* --- campaign preview -------------------------------------------------------- */

/* "7d", "36h", "90m", "45s": the largest unit that divides the duration. */
static const char *duration_text(int64_t s, char *buf, size_t size)
{
    static const struct { int64_t secs; char unit; } units[] = {
        { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s % units[i].secs == 0) {
            snprintf(buf, size, "%lld%c", (long long)(s / units[i].secs), units[i].unit);
            break;
        }
    return buf;
}

/* One text of a step: rendered, with its encoding and segment count, or the error. */
static json_t *preview_text(const struct conf *conf, const char *variant, const char *tmpl,
                            const json_t *fields)
{
    static struct codec_message cm; /* about 40 KB: off the stack */
    char why[400];
    char *text = sched_render(tmpl, fields, why, sizeof why);
    json_t *o = json_pack("{s:s?}", "variant", variant);
    if (!text) {
        json_object_set_new(o, "error", json_string(why));
        return o;
    }
    struct codec_options opt = { .smart = conf->defaults.smart_encoding,
                                 .max_segments = (unsigned)conf->defaults.max_segments };
    json_object_set_new(o, "text", json_string(text));
    if (codec_encode(text, strlen(text), &opt, &cm) != 0)
        json_object_set_new(o, "error", json_string(cm.error));
    else
        json_object_update_new(o, json_pack("{s:s, s:i}", "encoding",
                                            codec_encoding_name(cm.encoding), "segments",
                                            (int)cm.nsegments));
    free(text);
    return o;
}

static json_t *preview_step(const struct conf *conf, const struct conf_step *step, size_t i,
                            const json_t *fields, int64_t *due)
{
    char at[40];
    *due = (strcmp(step->from, "enrollment") == 0 ? clock_now() : *due) + step->after;
    json_t *texts = json_array();
    if (!step->n_variants)
        json_array_append_new(texts, preview_text(conf, NULL, step->text, fields));
    for (size_t v = 0; v < step->n_variants; v++)
        json_array_append_new(texts, preview_text(conf, step->variants[v].name,
                                                  step->variants[v].text, fields));
    return json_pack("{s:i, s:I, s:s, s:s, s:o}", "step", (int)i, "after",
                     (json_int_t)step->after,
                     "from", i == 0 ? "enrollment" : step->from, "due_at",
                     clock_iso8601(*due, at, sizeof at), "texts", texts);
}

static void print_preview(const json_t *p)
{
    size_t i, j;
    json_t *step, *t;
    char after[32];
    printf("campaign %s for %s%s\n", json_string_value(json_object_get(p, "campaign")),
           json_string_value(json_object_get(p, "msisdn")),
           json_is_true(json_object_get(p, "contact")) ? "" : " (not a contact: only {phone} is known)");
    json_array_foreach(json_object_get(p, "steps"), i, step) {
        const char *from = json_string_value(json_object_get(step, "from"));
            printf("step %zu: after %s from %s (if enrolled now: %s, before quiet hours)\n", i + 1,
               duration_text(json_integer_value(json_object_get(step, "after")), after,
                             sizeof after),
               strcmp(from, "previous") == 0 ? "the previous step" : "enrollment",
               json_string_value(json_object_get(step, "due_at")));
        json_array_foreach(json_object_get(step, "texts"), j, t) {
            const char *variant = json_string_value(json_object_get(t, "variant"));
            const char *error = json_string_value(json_object_get(t, "error"));
            if (variant)
                printf("  variant %s:\n", variant);
            if (json_object_get(t, "text"))
                printf("    %s\n", json_string_value(json_object_get(t, "text")));
            if (error)
                printf("    error: %s\n", error);
            else
                printf("    %s, %lld segment%s\n",
                       json_string_value(json_object_get(t, "encoding")),
                       (long long)json_integer_value(json_object_get(t, "segments")),
                       json_integer_value(json_object_get(t, "segments")) == 1 ? "" : "s");
        }
    }
}

static int preview_run(const char *name, const char *number, const struct sched_args *a,
                       const struct conf *conf, struct store *st)
{
    char e164[PHONE_E164_MAX], why[256], err[300];
    const struct conf_campaign *c = sched_campaign_find(conf, name);
    if (!c)
        return cli_usage("campaign", "no campaign is named '%s' in %s", name, conf->path);
    if (!phone_normalize(number, conf->defaults.country, e164, why, sizeof why))
        return cli_usage("campaign", "%s", why);
    bool found = false;
    json_t *fields = sched_fields(st, e164, NULL, &found, err, sizeof err);
    if (!fields)
        return cli_error("campaign", "%s", err);
    json_t *steps = json_array();
    int64_t due = clock_now();
    for (size_t i = 0; i < c->n_steps; i++)
        json_array_append_new(steps, preview_step(conf, &c->steps[i], i, fields, &due));
    json_decref(fields);
    json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "campaign", name, "msisdn", e164, "contact",
                          found, "steps", steps);
    if (a->common.json)
        cli_print_json(p);
    else {
        print_preview(p);
        json_decref(p);
    }
    return CLI_OK;
}

int cmd_campaign(int argc, char **argv)
{
    struct sched_args a = { 0 };
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse("campaign", argc, argv, &a);
    if (rc == CLI_OK && (optind >= argc || strcmp(argv[optind], "preview") != 0))
        rc = cli_usage("campaign", "say what to do: preview CAMPAIGN MSISDN");
    else if (rc == CLI_OK && optind + 3 != argc)
        rc = cli_usage("campaign", "preview takes a campaign and a number");
    if (rc == CLI_OK && (rc = open_all("campaign", &a, &conf, &st)) == CLI_OK)
        rc = preview_run(argv[optind + 1], argv[optind + 2], &a, conf, st);
    store_close(st);
    conf_free(conf);
    return rc;
}
