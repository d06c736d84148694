/*
 * sched_engine: sends the campaign steps that are due.
 *
 * A tick selects active enrollments whose next_due_at has come (through the
 * enrollments_due index, so its cost follows what is due, not what is
 * enrolled) and, for each: ends it if its campaign is gone, its recipient
 * opted out or withdrew consent; makes it wait for the end of quiet hours in
 * the recipient's zone or for the frequency cap; else renders the step,
 * queues the message (idempotency key "enrollment:<id>:step:<n>") and
 * advances the enrollment in the same transaction. A crash at any point
 * leaves either both or neither, so a step is never sent twice or skipped.
 *
 * The engine owns no timer: the service asks sched_next_due() when to call
 * sched_tick() again (gateway/service.c).
 */
#ifndef HOMING_SCHED_ENGINE_H
#define HOMING_SCHED_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/store.h"

struct conf;
struct sched_engine;

/* NULL with err set if the statements cannot be prepared. Neither argument is owned. */
struct sched_engine *sched_engine_new(struct store *st, const struct conf *conf,
                                      char *err, size_t err_size);
/* A reloaded configuration: campaigns no longer in it end at their next step. */
void sched_engine_set_conf(struct sched_engine *e, const struct conf *conf);
void sched_engine_free(struct sched_engine *e);

/* What one tick did. */
struct sched_tick_result {
    size_t sent;          /* steps queued as messages */
    size_t quiet;         /* steps that wait for the end of quiet hours */
    size_t capped;        /* steps that wait for the frequency cap */
    size_t ended;         /* enrollments exited or opted out */
    size_t completed;     /* enrollments whose last step was sent */
    bool more;            /* stopped at `max`: more steps are due now */
};

/*
 * Handles up to `max` due steps at `now` (service clock), in transactions of
 * a few hundred. STORE_ERROR rolls back the transaction in progress; what
 * earlier transactions committed stays.
 */
enum store_rc sched_tick(struct sched_engine *e, int64_t now, size_t max,
                         struct sched_tick_result *res, char *err, size_t err_size);

/* The earliest next_due_at of an active enrollment; STORE_NOT_FOUND when none is active. */
enum store_rc sched_next_due(struct sched_engine *e, int64_t *at, char *err, size_t err_size);

/*
 * The A/B variant (index into step->variants) an enrollment gets for a step:
 * by weight, and always the same for the same (enrollment, step).
 */
struct conf_step;
size_t sched_pick_variant(const struct conf_step *step, int64_t enrollment_id, int step_index);

#endif
