/*
 * `homing report [CAMPAIGN] [--json]`: what each win-back campaign did, per
 * step and in total, and the conversion rate by A/B variant. The figures and
 * their definitions are in scheduler/sched_report.h; this file only prints.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/commands.h"
#include "gateway/store.h"
#include "scheduler/sched_report.h"

/* "12.5%", or "-" when the rate is undefined (nothing sent). */
static const char *pct(int64_t num, int64_t den, char *buf, size_t size)
{
    double r = sched_report_rate(num, den);
    if (r < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.1f%%", r * 100.0);
    return buf;
}

static void print_figures(const char *label, const struct sched_report_counts *c)
{
    char a[16], b[16], d[16], e[16];
    printf("  %-6s %9lld %9lld %9lld %7s %7lld %8lld %7s %9lld %7s %12.2f %9lld %7s\n", label,
           (long long)c->enrolled, (long long)c->sent, (long long)c->delivered,
           pct(c->delivered, c->sent, a, sizeof a), (long long)c->failed, (long long)c->replied,
           pct(c->replied, c->sent, b, sizeof b), (long long)c->converted,
           pct(c->converted, c->sent, d, sizeof d), c->value, (long long)c->opted_out,
           pct(c->opted_out, c->sent, e, sizeof e));
}

static void print_variants(const struct sched_report_campaign *c)
{
    bool header = false;
    for (size_t i = 0; i < c->n_steps; i++) {
        const struct sched_report_step *s = &c->steps[i];
        for (size_t v = 0; v < s->n_variants; v++) {
            const struct sched_report_variant *x = &s->variants[v];
            char r[16], name[80];
            snprintf(name, sizeof name, "%s%s", x->name, x->in_config ? "" : "*");
            if (!header)
                printf("\n  %-6s %-12s %9s %9s %7s %12s\n", "step", "variant", "sent",
                       "converted", "rate", "value");
            header = true;
            printf("  %-6d %-12s %9lld %9lld %7s %12.2f\n", s->index, name,
                   (long long)x->sent, (long long)x->converted,
                   pct(x->converted, x->sent, r, sizeof r), x->value);
        }
    }
}

static void print_campaign(const struct sched_report_campaign *c)
{
    printf("%s%s\n  enrollments:", c->name, c->in_config ? "" : " (not in the configuration)");
    for (int i = 0; i < SCHED_ENR_STATE_COUNT; i++)
        printf(" %s %lld%s", sched_enroll_state_name((enum sched_enroll_state)i),
               (long long)c->states[i], i + 1 < SCHED_ENR_STATE_COUNT ? "," : "\n\n");
    printf("  %-6s %9s %9s %9s %7s %7s %8s %7s %9s %7s %12s %9s %7s\n", "step", "enrolled",
           "sent", "delivered", "rate", "failed", "replied", "rate", "converted", "rate",
           "value", "opted out", "rate");
    bool extra = false;
    for (size_t i = 0; i < c->n_steps; i++) {
        const struct sched_report_step *s = &c->steps[i];
        char label[16];
        snprintf(label, sizeof label, "%d%s", s->index, s->in_config ? "" : "*");
        extra |= !s->in_config;
        for (size_t v = 0; v < s->n_variants; v++)
            extra |= !s->variants[v].in_config;
        print_figures(label, &s->c);
    }
    print_figures("total", &c->total);
    print_variants(c);
    if (extra && c->in_config)
        printf("\n  * not in the configuration\n");
}

static void print_table(const struct sched_report *r)
{
    if (r->n_campaigns == 0)
        printf("no campaigns\n");
    for (size_t i = 0; i < r->n_campaigns; i++) {
        if (i)
            putchar('\n');
        print_campaign(&r->campaigns[i]);
    }
}

static int parse(int argc, char **argv, struct cli_common *a, const char **campaign)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    a->config_path = cli_default_config();
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config_path = optarg; break;
        case 'j': a->json = true; break;
        default: return cli_usage("report", "unknown option");
        }
    }
    if (argc - optind > 1)
        return cli_usage("report", "one campaign at most; unexpected '%s'", argv[optind + 1]);
    *campaign = optind < argc ? argv[optind] : NULL;
    return CLI_OK;
}

static int report(const struct cli_common *a, const char *campaign, const struct conf *conf,
                  struct store *st)
{
    char err[1024];
    struct sched_report *r;
    enum sched_report_rc rc = sched_report_build(st, conf, campaign, &r, err, sizeof err);
    if (rc == SCHED_REPORT_UNKNOWN)
        return cli_error("report", "%s", err);
    if (rc != SCHED_REPORT_OK)
        return cli_error("report", "%s", err);
    if (a->json)
        cli_print_json(sched_report_json(r));
    else
        print_table(r);
    sched_report_free(r);
    return CLI_OK;
}

int cmd_report(int argc, char **argv)
{
    struct cli_common a = { 0 };
    const char *campaign = NULL;
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = parse(argc, argv, &a, &campaign);
    if (rc == CLI_OK && (rc = cli_load_config("report", a.config_path, &conf)) == CLI_OK &&
        (rc = cli_open_store("report", conf, &st)) == CLI_OK)
        rc = report(&a, campaign, conf, st);
    store_close(st);
    conf_free(conf);
    return rc;
}
