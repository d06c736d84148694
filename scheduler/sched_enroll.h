/*
 * sched_enroll: putting a recipient into a campaign, and conversions that
 * take them out of it.
 *
 * An enrollment is refused, with a reason a person can act on, when the
 * campaign is unknown, consent is required and not recorded, the recipient
 * opted out, is already enrolled, ended an enrollment in this campaign less
 * than reenroll_after ago, or when a step's template (any variant) needs a
 * field that neither the contact nor the vars given have. The checks and
 * the insert run in one write transaction, and the database's one-active
 * enrollment index backs them up: two enrollments racing get the same
 * refusal, never an sqlite error.
 *
 * A conversion is recorded for the recipient and credited to the last step
 * sent to them within its campaign's attribution_window; every active
 * enrollment of theirs in a campaign whose exit_on has "conversion" ends
 * ('converted'), in the same transaction.
 */
#ifndef HOMING_SCHED_ENROLL_H
#define HOMING_SCHED_ENROLL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct conf_campaign;
struct store;

enum sched_enroll_rc {
    SCHED_ENROLLED,
    SCHED_UNKNOWN_CAMPAIGN,
    SCHED_BAD_VARS,              /* vars is not an object of strings and numbers */
    SCHED_NO_CONSENT,
    SCHED_OPTED_OUT,
    SCHED_ALREADY_ENROLLED,
    SCHED_TOO_SOON,              /* inside reenroll_after */
    SCHED_MISSING_FIELD,         /* a template needs a field the contact lacks */
    SCHED_DB_ERROR,
};

struct sched_enrollment {
    const char *campaign;
    const char *msisdn;          /* E.164 */
    const json_t *vars;          /* object of strings and numbers, or NULL */
    const char *source;          /* "cli", "http", "csv" ... */
    int64_t now;
};

struct sched_enroll_result {
    enum sched_enroll_rc rc;
    int64_t id;                  /* the new enrollment (ENROLLED), or the active one (ALREADY) */
    int64_t next_due_at;         /* ENROLLED: when the first step is due */
    char reason[512];            /* why it was refused */
};

/* Enrollments in one write transaction, committed every sched_enroller_commit(). */
struct sched_enroller;

struct sched_enroller *sched_enroller_new(struct store *st, const struct conf *conf,
                                          char *err, size_t err_size);
/*
 * Checks and, when it passes, adds one enrollment to the open transaction
 * (begun on the first). SCHED_DB_ERROR means the transaction was rolled back:
 * enrollments added since the last commit are gone.
 */
enum sched_enroll_rc sched_enroller_add(struct sched_enroller *en, const struct sched_enrollment *e,
                                        struct sched_enroll_result *res);
bool sched_enroller_commit(struct sched_enroller *en, char *err, size_t err_size);
/* Rolls back what was not committed. Accepts NULL. */
void sched_enroller_free(struct sched_enroller *en);

/* One enrollment, committed before it returns. */
enum sched_enroll_rc sched_enroll(struct store *st, const struct conf *conf,
                                  const struct sched_enrollment *e, struct sched_enroll_result *res);

/* The campaign of that name, or NULL. */
const struct conf_campaign *sched_campaign_find(const struct conf *conf, const char *name);

/*
 * The fields templates see for `msisdn`: the contact's (name, phone,
 * timezone, attributes) with `vars` over them; the caller json_decref()s it.
 * NULL on a database error. *found says whether the contact exists.
 */
json_t *sched_fields(struct store *st, const char *msisdn, const json_t *vars, bool *found,
                     char *err, size_t err_size);

struct sched_conversion {
    const char *msisdn;          /* E.164 */
    bool has_value;
    double value;
    const char *source;          /* "cli", "http" */
    int64_t now;
};

#define SCHED_CONVERT_MAX_ENDED 32

struct sched_convert_result {
    int64_t id;                  /* the conversions row */
    bool credited;               /* attributed to a step */
    char campaign[64];
    int step;                    /* from 0 */
    char variant[32];            /* "" when none */
    int64_t message_id;          /* 0 when unknown */
    int64_t enrollment_id;
    size_t n_ended;              /* enrollments ended (all); the first ones are listed */
    struct { int64_t id; char campaign[64]; } ended[SCHED_CONVERT_MAX_ENDED];
};

bool sched_convert(struct store *st, const struct conf *conf, const struct sched_conversion *c,
                   struct sched_convert_result *res, char *err, size_t err_size);

/*
 * What a conversion did, as the CLI (--json) and the HTTP API tell it:
 * {"id", "msisdn", "value", "credited": {"campaign", "step" (from 0),
 * "variant", "enrollment_id", "message_id"} or null, "ended": [{"id", "campaign"}]}.
 */
json_t *sched_convert_json(const char *msisdn, const struct sched_conversion *c,
                           const struct sched_convert_result *res);

#endif
