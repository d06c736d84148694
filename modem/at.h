/*
 * at: the AT command engine of one modem. It knows nothing of files or the
 * event loop: bytes from the modem go in through at_input(), bytes for the
 * modem come out through the write callback, and time passes through
 * at_tick(). That keeps it deterministic and testable byte by byte.
 *
 * One command is in flight at a time; the rest wait in a FIFO. A modem's
 * output is split into lines and each line is one of:
 *   - the echo of the command in flight (skipped),
 *   - a final result (OK, ERROR, +CME ERROR: n, +CMS ERROR: n) ending it,
 *   - the "> " prompt of AT+CMGS, answered with the PDU and Ctrl-Z,
 *   - an information line of the command in flight (kept for its callback),
 *   - an unsolicited result (+CMTI, +CMT + PDU line, +CDS + PDU line, +CDSI,
 *     +CREG, and vendor noise such as ^RSSI, RING, RDY) handed to the URC
 *     callback at once, even between a command's echo and its OK.
 * Final results are whole lines: "OK" inside a text never ends a command.
 */
#ifndef HOMING_AT_H
#define HOMING_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AT_LINE_MAX 1024

/* --- line framing (pure) ---------------------------------------------------- */

/*
 * Finds the next line in buf[0..len): text ended by CR and/or LF, or the SMS
 * prompt "> " (which has no line end). Blank lines are skipped. Returns the
 * bytes consumed with line and line_len set (line end stripped), -2 when more
 * input is needed, or -1 when a line exceeds AT_LINE_MAX (the caller drops it).
 */
long at_next_line(const char *buf, size_t len, const char **line, size_t *line_len);

enum at_final {
    AT_FINAL_NONE,
    AT_FINAL_OK,
    AT_FINAL_ERROR,      /* ERROR, COMMAND NOT SUPPORT, NO CARRIER ... */
    AT_FINAL_CME,        /* +CME ERROR: n (equipment) */
    AT_FINAL_CMS,        /* +CMS ERROR: n (message service) */
};

/* Classifies a whole line as a final result; *code is n for +CME/+CMS (-1 if verbose text). */
enum at_final at_final_result(const char *line, size_t len, int *code);

enum at_urc {
    AT_URC_NONE,
    AT_URC_CMTI,         /* +CMTI: "SM",3   a message was stored */
    AT_URC_CMT,          /* +CMT: ,24       a message follows on the next line (PDU) */
    AT_URC_CDS,          /* +CDS: 25        a status report follows on the next line */
    AT_URC_CDSI,         /* +CDSI: "SM",4   a status report was stored */
    AT_URC_CREG,         /* +CREG: 1        registration changed */
    AT_URC_NOISE,        /* RING, ^RSSI:, ^BOOT:, RDY, +CPIN: READY ... : logged, ignored */
};

/* What kind of unsolicited line this would be (AT_URC_NONE: not one we know). */
enum at_urc at_urc_kind(const char *line, size_t len);

/* --- the engine ------------------------------------------------------------ */

enum at_status {
    AT_OK,
    AT_ERROR,            /* ERROR, +CME ERROR or +CMS ERROR: see code */
    AT_TIMEOUT,          /* no final result in time */
    AT_GONE,             /* the port went away, or the engine was reset */
};

struct at_response {
    enum at_status status;
    enum at_final final;
    int code;                    /* +CME / +CMS error number, -1 if none or verbose */
    const char *final_line;      /* the final result line as received ("" on timeout) */
    bool pdu_written;            /* AT+CMGS: the prompt came and the PDU went out, so an
                                  * unanswered send may still have reached the network */
    const char *const *lines;    /* information lines, without echo and URCs */
    size_t n_lines;
};

/* The response and its strings live only during the callback. */
typedef void at_done_fn(const struct at_response *res, void *arg);

struct at_request {
    const char *command;         /* "AT+CSQ", without CR */
    const char *pdu;             /* AT+CMGS: hex sent after the "> " prompt, or NULL */
    const char *expect;          /* prefix of the response lines ("+CSQ:"), or NULL */
    int timeout_ms;              /* with a pdu: from the prompt to the final result */
    int prompt_timeout_ms;       /* with a pdu: from the command to the "> " prompt (0: timeout_ms) */
    at_done_fn *done;            /* may be NULL */
    void *arg;
};

struct at_urc_event {
    enum at_urc kind;
    const char *line;            /* "+CMTI: \"SM\",3" */
    const char *pdu;             /* the PDU line that followed +CMT / +CDS, else NULL */
};

struct at_io {
    /* Bytes for the modem. The engine keeps no copy: write or buffer them. */
    void (*write)(const char *data, size_t len, void *arg);
    void (*urc)(const struct at_urc_event *ev, void *arg);
    void (*noise)(const char *line, void *arg);   /* lines nobody claims; may be NULL */
    void *arg;
};

struct at_engine;

struct at_engine *at_new(const struct at_io *io);
/* Frees the engine; queued commands are not called back (use at_reset first). */
void at_free(struct at_engine *e);

/* Queues a command (strings are copied); sends it now if nothing is in flight. */
void at_submit(struct at_engine *e, const struct at_request *req, int64_t now_ms);
/* Feeds bytes read from the modem. */
void at_input(struct at_engine *e, const char *buf, size_t len, int64_t now_ms);
/* Times out the command in flight if its deadline has passed; after a timeout,
 * starts the next command once a short guard has passed (late replies drain). */
void at_tick(struct at_engine *e, int64_t now_ms);
/* When at_tick() next has work: the in-flight deadline, the end of the guard
 * after a timeout, or 0 when idle. */
int64_t at_deadline(const struct at_engine *e);
/* Ends the command in flight and every queued one with `status` (AT_GONE after an unplug). */
void at_reset(struct at_engine *e, enum at_status status);
/* Commands in flight plus queued. */
size_t at_pending(const struct at_engine *e);

#endif
