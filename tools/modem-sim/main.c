/*
 * modem-sim: GSM modems on pseudo-terminals, for homing's integration tests.
 *
 *   modem-sim --control SOCKET [--log FILE] --modem NAME:PATH [--modem ...]
 *             [--pin PIN] [--puk PUK] [--slots N]
 *
 * Prints "modem-sim ready" on stdout once every pty link and the control
 * socket exist; runs until SIGTERM/SIGINT or the control command `quit`,
 * then removes its links and socket. See README.md for the control protocol
 * and the submit log.
 */
#include "tools/modem-sim/control.h"
#include "tools/modem-sim/modem.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define MAX_MODEMS 16

struct options {
    const char *control;
    const char *log;
    const char *pin;
    const char *puk;
    int slots;
    int nmodems;
    char names[MAX_MODEMS][32];
    const char *paths[MAX_MODEMS];
};

static void usage(void)
{
    fprintf(stderr, "usage: modem-sim --control SOCKET [--log FILE] --modem NAME:PATH "
                    "[--modem NAME:PATH ...] [--pin PIN] [--puk PUK] [--slots N]\n");
    exit(2);
}

static void add_modem(struct options *o, const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == '\0' || o->nmodems == MAX_MODEMS
        || (size_t)(colon - spec) >= sizeof o->names[0]) {
        fprintf(stderr, "modem-sim: --modem wants NAME:PATH, got '%s'\n", spec);
        exit(2);
    }
    snprintf(o->names[o->nmodems], sizeof o->names[0], "%.*s", (int)(colon - spec), spec);
    o->paths[o->nmodems++] = colon + 1;
}

static void parse_args(int argc, char **argv, struct options *o)
{
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (k + 1 >= argc)
            usage();
        const char *v = argv[++k];
        if (strcmp(a, "--control") == 0)
            o->control = v;
        else if (strcmp(a, "--log") == 0)
            o->log = v;
        else if (strcmp(a, "--modem") == 0)
            add_modem(o, v);
        else if (strcmp(a, "--pin") == 0)
            o->pin = v;
        else if (strcmp(a, "--puk") == 0)
            o->puk = v;
        else if (strcmp(a, "--slots") == 0 && atoi(v) > 0 && atoi(v) <= 255)
            o->slots = atoi(v);
        else
            usage();
    }
    if (o->control == NULL || o->nmodems == 0)
        usage();
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    struct options o = {.slots = 20};
    parse_args(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    FILE *log = o.log ? fopen(o.log, "a") : NULL;
    if (o.log && log == NULL) {
        perror(o.log);
        return 1;
    }
    struct event_base *base = event_base_new();
    struct modem *modems[MAX_MODEMS] = {0};
    char err[512] = "";
    int rc = 0, made = 0;
    for (; made < o.nmodems; made++) {
        struct modem_config cfg = {o.names[made], o.paths[made], o.pin, o.puk, o.slots, made, log};
        if ((modems[made] = modem_new(base, &cfg, err, sizeof err)) == NULL)
            break;
    }
    struct control *ctl = made == o.nmodems
        ? control_new(base, o.control, modems, made, err, sizeof err) : NULL;
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (ctl == NULL) {
        fprintf(stderr, "modem-sim: %s\n", err);
        rc = 1;
    } else {
        event_add(sigterm, NULL);
        event_add(sigint, NULL);
        printf("modem-sim ready\n");
        fflush(stdout);
        event_base_dispatch(base);
    }
    control_free(ctl);
    for (int k = 0; k < made; k++)
        modem_free(modems[k]);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    if (log)
        fclose(log);
    return rc;
}
