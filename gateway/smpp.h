/*
 * smpp: one SMPP 3.4 bind to a carrier's SMSC as a homing driver
 * (gateway/driver.h).
 *
 * A bind is one transceiver session, or a transmitter and a receiver
 * session (config smpp[].bind). Each session connects without blocking,
 * binds, keeps itself alive with enquire_link, and reconnects with
 * exponential backoff and jitter when a connect or bind fails or the link
 * dies. Submits go out through a window of outstanding submit_sm (`window`)
 * and a token bucket (`tps`) whose rate halves when the SMSC throttles and
 * climbs back while it does not. Receipts are matched to the submit ids they
 * name (see smpp_ids below); received messages are acknowledged only once
 * the core has committed them.
 *
 * The pure pieces (status table, backoff, rate, id index) are exported for
 * the unit tests.
 */
#ifndef HOMING_SMPP_H
#define HOMING_SMPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/driver.h"
#include "gateway/smpp_pdu.h"

struct smpp;
struct loop;
struct conf_smpp;

/* Starts the bind (connecting happens on the loop). Strings of `cfg` are copied. */
struct smpp *smpp_new(const struct conf_smpp *cfg, struct loop *loop,
                      const struct driver_events *events);
/*
 * Sends unbind on bound sessions and waits for the answers at most half a
 * second, then closes. Queued and outstanding parts are not reported: the
 * store still has their messages as "sending", and the next start requeues
 * them. Accepts NULL.
 */
void smpp_free(struct smpp *s);
/* The bind as a driver: name, ops and self. Valid while the bind lives. */
struct driver smpp_driver(struct smpp *s);

/* --- command_status ------------------------------------------------------- */

/* "ESME_RINVPASWD" ..., or NULL for a status not in SMPP 3.4 (vendor codes). */
const char *smpp_status_name(uint32_t status);
/* "ESME_RINVPASWD (0x0000000e)" or "vendor status 0x0000040b". */
const char *smpp_status_text(uint32_t status, char *out, size_t size);
/* Worth trying again later (busy, system error, unknown vendor code), as
 * opposed to a message the SMSC will never take (bad address, bad text). */
bool smpp_status_temporary(uint32_t status);
/* ESME_RTHROTTLED or ESME_RMSGQFUL: slow down and resubmit. */
bool smpp_status_throttle(uint32_t status);

/* --- reconnect backoff ------------------------------------------------------ */

/* The wait before reconnect number failures+1: base doubling per failure,
 * capped at max, times a jitter factor 0.75 + 0.25 * unit (unit in [0,1)),
 * so two binds that failed together do not retry in lock step. */
int64_t smpp_backoff_ms(int failures, int64_t base_ms, int64_t max_ms, double unit);

/* --- submit rate ----------------------------------------------------------- */

/*
 * A token bucket whose rate follows the SMSC. Every submit answer is
 * counted; at the end of each second the share that said "throttled" (or
 * "queue full") decides: above RATE_CUT_SHARE the rate is cut by that share
 * (30% throttled: 30% slower; never below 1/s); below RATE_CLIMB_SHARE it
 * climbs back by a tenth of the configured rate; in between it holds. A few
 * throttled answers are simply resubmitted: some SMSCs throttle a share of
 * submits whatever the rate, and slowing down for them only loses time
 * (Kannel pauses the whole bind for seconds each time). The burst is a
 * tenth of a second of the current rate (at least one submit).
 */
struct smpp_rate {
    double configured, current, tokens;
    int64_t last_ms;
    int64_t sample_start;        /* the current one-second sample */
    int answers, throttles;      /* in it */
};
void smpp_rate_init(struct smpp_rate *r, double tps, int64_t now_ms);
/* Takes one token if there is one. */
bool smpp_rate_take(struct smpp_rate *r, int64_t now_ms);
/* Counts one submit answer; returns true when this closed a sample that cut the rate. */
bool smpp_rate_answer(struct smpp_rate *r, int64_t now_ms, bool throttled);

/* --- receipt id matching ---------------------------------------------------- */

/*
 * The core matches a receipt to its part by (bind, ref) string equality,
 * where ref is the submit_sm_resp message_id as the SMSC wrote it. SMSCs
 * print the same id differently in receipts (hex vs decimal, zero padding,
 * case), so the driver keeps an index of recent submit ids (the last
 * `capacity`, oldest forgotten first) under a normal form: an id of hex
 * digits only is lower-cased and stripped of leading zeros; anything else is
 * kept as it is. A receipt id is turned into the normal forms it may stand
 * for under the bind's mode (itself; decimal -> hex; hex -> decimal) and the
 * first indexed id that smpp_ids_match() accepts is the ref reported. An id
 * no longer indexed (a restart, a receipt days late) is reported in the form
 * the mode expects the submit to have (smpp_ids_guess).
 */
struct smpp_ids;
struct smpp_ids *smpp_ids_new(enum smpp_id_mode mode, size_t capacity);
void smpp_ids_free(struct smpp_ids *x);
void smpp_ids_add(struct smpp_ids *x, const char *submit_id);
/* The indexed submit id `receipt_id` refers to, or NULL. Valid until the next add. */
const char *smpp_ids_find(const struct smpp_ids *x, const char *receipt_id);
/* The submit id form of receipt_id when nothing is indexed: hex-dec turns a
 * decimal receipt id into lower-case hex, dec-hex a hex one into decimal;
 * the other modes keep it. */
const char *smpp_ids_guess(enum smpp_id_mode mode, const char *receipt_id, char *out,
                           size_t size);
/* "auto", "exact", "decimal", "hex", "hex-dec", "dec-hex" -> mode; -1 otherwise. */
int smpp_id_mode_parse(const char *name, enum smpp_id_mode *out);
/* Writes the number `digits` (base from, 10 or 16) in base `to` without
 * leading zeros; -1 if a digit is out of base or out is too small. */
int smpp_id_rebase(const char *digits, int from, int to, char *out, size_t size);

#endif
