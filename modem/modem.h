/*
 * modem: one USB GSM modem as a homing driver (gateway/driver.h).
 *
 * It opens the port (modem/serial.h), brings the modem up (echo off, verbose
 * errors, SIM PIN from config, PDU mode, storage, new-message and
 * status-report indications with fallbacks, identity logged), sweeps what is
 * stored on the SIM, then sends each segment with AT+CMGS at no more than
 * `sends_per_minute`, reads and deletes received messages and status reports
 * (deleting only after the store has committed them), polls signal and
 * registration, and climbs a recovery ladder when the modem stops answering:
 * a plain AT, a function reset (AT+CFUN=1,1), a port reopen. An unplugged
 * modem is reopened with backoff, at the same name when addressed by USB id.
 */
#ifndef HOMING_MODEM_H
#define HOMING_MODEM_H

#include "gateway/driver.h"

struct modem;
struct loop;
struct conf_modem;

/* Starts the modem (opening happens on the loop). Strings of `cfg` are copied. */
struct modem *modem_new(const struct conf_modem *cfg, struct loop *loop,
                        const struct driver_events *events);
/* Closes the port; queued parts are not reported (the store still has them). */
void modem_free(struct modem *m);
/* The modem as a driver: name, ops and self. Valid while the modem lives. */
struct driver modem_driver(struct modem *m);

/* Is +CMS ERROR code `code` worth retrying (network or modem busy) rather than final? */
bool modem_cms_temporary(int code);
/* The 3GPP TS 27.005 meaning of a +CMS ERROR code, e.g. "network out of order". */
const char *modem_cms_text(int code);

#endif
