/*
 * sched_report: what each win-back campaign did, per step and in total
 * (`homing report`).
 *
 * The figures, for a campaign C and a step S (0-based, as messages.step):
 *
 *   enrolled    total: enrollments in C. Step S: enrollments that reached S,
 *               counted as C's messages for S whatever became of them (one
 *               per enrollment and step: the engine's idempotency key).
 *   sent        C's messages for S that left the gateway: state sent,
 *               delivered or undelivered, or any part accepted by a modem or
 *               SMSC (a long message that failed half-way was still sent).
 *   delivered   messages in state delivered.
 *   failed      messages in state failed or expired.
 *   replied     enrollments ended 'replied' whose last sent step is S.
 *   converted   conversions credited to S (conversions.campaign, .step), and
 *   value       the sum of their values (conversions without one add 0).
 *   opted_out   enrollments ended 'opted_out' whose last sent step is S.
 *
 * "Last sent step" is the highest step of the enrollment's messages that
 * left the gateway (as for `sent`); an enrollment that ended before any of
 * its messages left counts in the campaign's total only. So the total of
 * replied, converted and opted_out is the whole campaign and may exceed the
 * sum of its steps.
 *
 * Every rate has `sent` as its denominator, for a step and for the total
 * alike, and is a fraction (0.25, not 25):
 *
 *   delivery_rate    delivered / sent
 *   reply_rate       replied / sent
 *   conversion_rate  converted / sent
 *   optout_rate      opted_out / sent
 *
 * With nothing sent a rate is undefined: sched_report_rate() returns a
 * negative number, JSON says null and the table "-".
 *
 * A/B variants: for each step with variants (in config or in the data), per
 * variant: sent (as above), converted (conversions credited to that step and
 * variant), conversion_rate (converted / sent) and value.
 *
 * Campaigns come in config order, then campaigns that are only in the
 * database (dropped from the config: reported by name, steps by index) in
 * name order. A configured campaign lists all its steps, even before any is
 * due; steps found only in the data follow.
 *
 * Cost: four aggregate queries (GROUP BY campaign, step, variant), whatever
 * the number of enrollments; no query per row. See sched_report.c for the
 * indexes they use.
 */
#ifndef HOMING_SCHED_REPORT_H
#define HOMING_SCHED_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct store;

struct sched_report_counts {
    int64_t enrolled, sent, delivered, failed, replied, converted, opted_out;
    double value;
};

struct sched_report_variant {
    char *name;
    bool in_config;
    int64_t sent, converted;
    double value;
};

struct sched_report_step {
    int index;                   /* 0-based */
    bool in_config;
    struct sched_report_counts c;
    struct sched_report_variant *variants;   /* none when the step has no variants */
    size_t n_variants;
};

/* Enrollment states (DESIGN.md), the order of sched_report_campaign.states. */
enum sched_enroll_state {
    SCHED_ENR_ACTIVE, SCHED_ENR_COMPLETED, SCHED_ENR_CONVERTED, SCHED_ENR_REPLIED,
    SCHED_ENR_OPTED_OUT, SCHED_ENR_EXITED,
};
#define SCHED_ENR_STATE_COUNT 6
const char *sched_enroll_state_name(enum sched_enroll_state s);

struct sched_report_campaign {
    char *name;
    bool in_config;
    struct sched_report_counts total;
    int64_t states[SCHED_ENR_STATE_COUNT];   /* enrollments by state, now */
    struct sched_report_step *steps;         /* by index */
    size_t n_steps;
};

struct sched_report {
    struct sched_report_campaign *campaigns;
    size_t n_campaigns;
};

enum sched_report_rc {
    SCHED_REPORT_OK = 0,
    SCHED_REPORT_UNKNOWN,        /* no such campaign; err names the ones that exist */
    SCHED_REPORT_ERROR,          /* the database failed; err says why */
};

/*
 * Builds the report of `campaign`, or of every campaign when it is NULL.
 * `conf` (may be NULL) gives campaign order, step counts and variant names.
 * *out is freed with sched_report_free().
 */
enum sched_report_rc sched_report_build(struct store *st, const struct conf *conf,
                                        const char *campaign, struct sched_report **out,
                                        char *err, size_t err_size);
void sched_report_free(struct sched_report *r);

/* num / den, or -1 when den is 0 (the rate is undefined). */
double sched_report_rate(int64_t num, int64_t den);

/*
 * The report as JSON (a jansson json_t *, owned by the caller):
 * {"campaigns": [{"name", "in_config", "enrollments": {state: n ...},
 *   "total": FIGURES, "steps": [{"step", "in_config", FIGURES..., "variants": [...]}]}]}
 * where FIGURES are the counts above plus value and the four rates. The
 * shape is documented in README.md and does not change with the data.
 */
void *sched_report_json(const struct sched_report *r);

#endif
