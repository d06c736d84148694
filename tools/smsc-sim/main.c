/*
 * smsc-sim main: command line, the SMPP listener, signals and the loop.
 *
 *   smsc-sim --listen 127.0.0.1:0 --port-file FILE --control PATH --log FILE
 *            --system-id homing --password secret --receipts text ...
 *
 * With port 0 the kernel picks a free port; it is printed on stderr as
 * "listening port=N" and written to --port-file (atomically, via rename), so
 * a test can start the simulator and find it without races.
 */
#include "sim.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct options {
    const char *listen, *port_file, *control, *log;
};

void sim_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("smsc-sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void sim_debug(struct sim *sim, const char *fmt, ...)
{
    va_list ap;
    if (!sim->set.verbose)
        return;
    va_start(ap, fmt);
    fputs("smsc-sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Accepts --name VALUE and --name=VALUE; returns 0, or 2 on a usage error. */
static int parse_args(int argc, char **argv, struct options *o, struct settings *s)
{
    char err[256];
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *value, *eq = strchr(arg, '=');
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strncmp(arg, "--", 2) != 0)
            return 2;
        size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)n, arg + 2);
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return 2;
        if (strcmp(name, "listen") == 0)
            o->listen = value;
        else if (strcmp(name, "port-file") == 0)
            o->port_file = value;
        else if (strcmp(name, "control") == 0)
            o->control = value;
        else if (strcmp(name, "log") == 0)
            o->log = value;
        else if (settings_set(s, name, value, err, sizeof err) != 0) {
            sim_log("%s", err);
            return 2;
        }
    }
    return 0;
}

int sim_parse_addr(const char *spec, struct sockaddr_storage *ss, int *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    char *end;
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1 ? 0 : -1;
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return inet_pton(AF_INET, host, &v4->sin_addr) == 1 ? 0 : -1;
}

static void on_smpp_accept(struct evconnlistener *l, evutil_socket_t fd,
                           struct sockaddr *sa, int socklen, void *arg)
{
    (void)l;
    (void)sa;
    (void)socklen;
    conn_accept(arg, fd);
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        sim_log("cannot write port file %s", path);
        return -1;
    }
    return 0;
}

static struct evconnlistener *smpp_listen(struct sim *sim, const struct options *o)
{
    struct sockaddr_storage ss;
    int len;
    if (sim_parse_addr(o->listen, &ss, &len) != 0) {
        sim_log("bad --listen address '%s' (want HOST:PORT)", o->listen);
        return NULL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        sim->base, on_smpp_accept, sim, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
        (struct sockaddr *)&ss, len);
    if (!l) {
        sim_log("cannot listen on %s", o->listen);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &blen);
    int port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);
    sim_log("listening port=%d", port);
    if (o->port_file && write_port_file(o->port_file, port) != 0) {
        evconnlistener_free(l);
        return NULL;
    }
    return l;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static int run(struct sim *sim, const struct options *o)
{
    char err[256];
    int rc = 1;
    struct evconnlistener *l = smpp_listen(sim, o);
    struct event *sigterm = evsignal_new(sim->base, SIGTERM, on_signal, sim->base);
    struct event *sigint = evsignal_new(sim->base, SIGINT, on_signal, sim->base);
    if (!l || !sigterm || !sigint)
        goto out;
    if (o->control && control_listen(sim, o->control, err, sizeof err) != 0) {
        sim_log("%s", err);
        goto out;
    }
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    rc = event_base_dispatch(sim->base) < 0 ? 1 : 0;
out:
    control_free();
    conn_free_all(sim);
    receipt_free_all(sim);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (l)
        evconnlistener_free(l);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = { .listen = "127.0.0.1:2775" };
    struct sim sim;
    memset(&sim, 0, sizeof sim);
    settings_defaults(&sim.set);
    if (parse_args(argc, argv, &o, &sim.set) != 0) {
        settings_usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    conn_throttle_reset(&sim);
    sim.next_message_id = 1000000000u; /* ten digits; hex form has letters */
    if (o.log && !(sim.log = strcmp(o.log, "-") == 0 ? stdout : fopen(o.log, "a"))) {
        sim_log("cannot open log %s", o.log);
        return 1;
    }
    sim.base = event_base_new();
    if (!sim.base)
        return 1;
    int rc = run(&sim, &o);
    event_base_free(sim.base);
    libevent_global_shutdown();
    if (sim.log && sim.log != stdout)
        fclose(sim.log);
    return rc;
}
