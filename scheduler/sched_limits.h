/*
 * sched_limits: the two rules that make a due campaign step wait, never drop:
 * quiet hours in the recipient's zone and the frequency cap across every
 * campaign.
 */
#ifndef HOMING_SCHED_LIMITS_H
#define HOMING_SCHED_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched_tz.h"

struct sqlite3;
struct store;
struct conf;

/*
 * Quiet hours from `start` to `end` (minutes after local midnight; the window
 * may wrap midnight; start == end means none). Returns 0 when `t` is outside
 * them, else the instant they end: the next `end` on the local clock,
 * correct across daylight-saving changes.
 */
int64_t sched_quiet_until(const struct sched_zone *z, int start, int end, int64_t t);

/*
 * The frequency cap: at most `messages` campaign messages (of any campaign,
 * not suppressed, failed or expired) to one recipient created within `per`
 * seconds. Prepared once, used for many recipients in one tick.
 */
struct sched_cap;
struct sched_cap *sched_cap_new(struct sqlite3 *db);
void sched_cap_free(struct sched_cap *c);
/*
 * 0 when another message may go to `recipient` at `now`, else the instant the
 * cap allows it (when enough counted messages have left the window); -1 if
 * the database failed. messages <= 0 means no cap.
 */
int64_t sched_cap_until(struct sched_cap *c, const char *recipient, int64_t messages,
                        int64_t per, int64_t now);

/*
 * For the dispatcher: 0 when the campaign message to `recipient` may go at
 * `now`, else the end of the quiet hours of `campaign` (the global ones if it
 * is no longer configured) in the recipient's zone (contact, country, then
 * defaults.timezone).
 */
int64_t sched_dispatch_quiet_until(struct store *st, const struct conf *conf,
                                   const char *recipient, const char *campaign, int64_t now);

/*
 * For the dispatcher: true when the campaign message `msg_id` belongs to an
 * enrollment that ended early (replied, converted, opted_out, exited) after
 * it was queued, e.g. while the step waited out the night. `why` names the
 * enrollment and how it ended. False when it is still active or completed
 * (the last step is queued as the enrollment completes), or on a read error.
 */
bool sched_dispatch_enrollment_ended(struct store *st, int64_t msg_id, char *why, size_t size);

#endif
