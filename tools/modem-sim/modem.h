/*
 * modem: one simulated GSM modem on a pseudo-terminal.
 *
 * The pty's slave side is published as a symlink at the configured path. The
 * modem answers AT commands like a real one (echo, \r\n framing, the "> "
 * prompt of AT+CMGS, +CMS/+CME errors per AT+CMEE, SIM PIN) and takes fault
 * and traffic injections from the control channel through modem_control().
 * Everything runs on the caller's libevent loop; nothing blocks.
 */
#ifndef MODEMSIM_MODEM_H
#define MODEMSIM_MODEM_H

#include <stddef.h>
#include <stdio.h>

struct event_base;
struct modem;

struct modem_config {
    const char *name;
    const char *path;     /* where the symlink to the pty slave goes */
    const char *pin;      /* NULL or "": no PIN asked */
    const char *puk;
    int slots;            /* SIM message storage size */
    int index;            /* 0-based position, makes the IMEI/IMSI distinct */
    FILE *log;            /* JSON-lines submit log, not owned; may be NULL */
};

/* Opens the pty and the symlink. NULL with a reason in err on failure. */
struct modem *modem_new(struct event_base *base, const struct modem_config *cfg,
                        char *err, size_t errlen);
/* Closes the pty, removes the symlink. Accepts NULL. */
void modem_free(struct modem *m);

const char *modem_name(const struct modem *m);

/*
 * Runs one control verb (argv[0]) on this modem and writes the one-line
 * answer, "ok ..." or "error ...", without a newline, into reply.
 */
void modem_control(struct modem *m, int argc, char **argv, char *reply, size_t cap);

#endif
