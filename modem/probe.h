/*
 * probe: ask a serial port, once, whether a modem answers AT and who it is.
 *
 * For `homing modems` only: it blocks (poll() with a deadline) and sends one
 * command at a time, which the service's AT engine (modem/at*.c) must never
 * do. Kept small and self-contained on purpose; it shares nothing with the
 * engine but modem/serial.
 *
 * Replies are read as whole lines: the echo of the command (echo may be on),
 * unsolicited noise (^RSSI:, RING, +CREG: 1 ...) and blank lines are skipped;
 * OK, ERROR, +CME ERROR: and +CMS ERROR: end a reply only as a whole line,
 * never as a substring.
 */
#ifndef HOMING_PROBE_H
#define HOMING_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#define PROBE_AT_TIMEOUT_MS 1000     /* "does it answer AT" */
#define PROBE_QUERY_TIMEOUT_MS 2000  /* each identity query */

struct probe_result {
    bool opened;              /* false: see error */
    bool answers_at;
    char error[512];          /* why it could not be opened, or "" */
    /* With full probing; "" or has_signal false when the modem did not say. */
    char model[64];
    char manufacturer[64];
    char imei[32];
    char imsi[32];
    bool has_signal;
    int signal_dbm;
    char registration[24];    /* probe_creg_name() words, or "" */
};

/*
 * Opens `port` (a path or usb: spec, see serial.h), sends AT and waits up to
 * PROBE_AT_TIMEOUT_MS for OK; with `full`, asks an answering modem for
 * AT+CGMM, +CGMI, +CGSN, +CIMI, +CSQ and +CREG?. Never hangs: every wait has
 * a deadline. Returns out->answers_at.
 */
bool probe_port(const char *port, bool full, struct probe_result *out);

enum probe_line {
    PROBE_LINE_INFO,   /* anything else: an information line or noise */
    PROBE_LINE_OK,     /* exactly "OK" */
    PROBE_LINE_ERROR,  /* "ERROR", "+CME ERROR: ...", "+CMS ERROR: ..." */
};
/* Classifies one line (without its CR/LF). */
enum probe_line probe_line_kind(const char *line);

/* "+CSQ: 20,99" value part "20,99" -> -73 dBm; false for 99 (unknown) or junk. */
bool probe_csq_dbm(const char *value, int *dbm);
/*
 * The value of a "+CREG:" line answering AT+CREG? ("0,1", "2,5,\"00A1\",\"1001\"")
 * -> "home", "roaming", "searching", "denied", "not-registered", "unknown" ...;
 * NULL for the unsolicited forms ("1", "1,\"00A1\",\"1001\") or junk.
 */
const char *probe_creg_name(const char *value);

#endif
