/*
 * control: line-based text protocol on a Unix socket (see README.md).
 *
 * Every command is answered at once on the loop: verbs only change the
 * modem's state and queue bytes, so a test never waits on the simulator
 * except for the latency it asked for.
 */
#include "tools/modem-sim/control.h"
#include "tools/modem-sim/modem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define CONTROL_MAX_ARGS 64
#define CONTROL_REPLY_MAX 4096
#define CONTROL_MAX_CLIENTS 64

struct control {
    struct event_base *base;
    struct evconnlistener *listener;
    char path[108];
    struct modem **modems;
    int nmodems;
    struct bufferevent *clients[CONTROL_MAX_CLIENTS];   /* freed at exit, for leak checks */
};

static void client_close(struct control *c, struct bufferevent *bev)
{
    for (int k = 0; k < CONTROL_MAX_CLIENTS; k++)
        if (c->clients[k] == bev)
            c->clients[k] = NULL;
    bufferevent_free(bev);
}

static char unescape(char ch)
{
    switch (ch) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return ch;
    }
}

int control_split(char *line, char **argv, int max)
{
    int argc = 0;
    char *r = line, *w = line;
    while (*r && argc < max) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (*r == '\0')
            break;
        argv[argc++] = w;
        bool quoted = false;
        for (; *r && (quoted || (*r != ' ' && *r != '\t')); r++) {
            if (*r == '"')
                quoted = !quoted;
            else if (*r == '\\' && quoted && r[1])
                *w++ = unescape(*++r);
            else
                *w++ = *r;
        }
        if (*r)
            r++;
        *w++ = '\0';
    }
    return argc;
}

static struct modem *find_modem(struct control *c, const char *name)
{
    for (int k = 0; k < c->nmodems; k++)
        if (strcmp(modem_name(c->modems[k]), name) == 0)
            return c->modems[k];
    return NULL;
}

static void run_command(struct control *c, char *line, char *out, size_t cap)
{
    char *argv[CONTROL_MAX_ARGS];
    int argc = control_split(line, argv, CONTROL_MAX_ARGS);
    if (argc == 0) {
        snprintf(out, cap, "error empty command");
    } else if (strcmp(argv[0], "ping") == 0) {
        snprintf(out, cap, "ok pong");
    } else if (strcmp(argv[0], "modems") == 0) {
        size_t pos = (size_t)snprintf(out, cap, "ok");
        for (int k = 0; k < c->nmodems && pos < cap; k++)
            pos += (size_t)snprintf(out + pos, cap - pos, " %s", modem_name(c->modems[k]));
    } else if (strcmp(argv[0], "quit") == 0) {
        /* A moment's grace so this reply still goes out before the loop stops. */
        struct timeval grace = {0, 100000};
        snprintf(out, cap, "ok bye");
        event_base_loopexit(c->base, &grace);
    } else if (strcmp(argv[0], "modem") == 0) {
        struct modem *m = argc > 2 ? find_modem(c, argv[1]) : NULL;
        if (m)
            modem_control(m, argc - 2, argv + 2, out, cap);
        else
            snprintf(out, cap, "error usage: modem NAME VERB ... (no such modem or verb)");
    } else {
        modem_control(c->modems[0], argc, argv, out, cap);
    }
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct control *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t len;
    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
        char out[CONTROL_REPLY_MAX];
        run_command(c, line, out, sizeof out);
        free(line);
        bufferevent_write(bev, out, strlen(out));
        bufferevent_write(bev, "\n", 1);
    }
    if (evbuffer_get_length(in) > 16384)
        client_close(c, bev);   /* a line that never ends: drop the client */
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_close(arg, bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct control *c = arg;
    (void)l;
    (void)sa;
    (void)salen;
    struct bufferevent *bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    int slot = 0;
    while (slot < CONTROL_MAX_CLIENTS && c->clients[slot])
        slot++;
    if (bev == NULL || slot == CONTROL_MAX_CLIENTS) {
        if (bev)
            bufferevent_free(bev);
        else
            close(fd);
        return;
    }
    c->clients[slot] = bev;
    bufferevent_setcb(bev, on_client_read, NULL, on_client_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct control *control_new(struct event_base *base, const char *path,
                            struct modem **modems, int nmodems, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return NULL;
    }
    struct control *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->base = base;
    c->modems = modems;
    c->nmodems = nmodems;
    unlink(path);
    c->listener = evconnlistener_new_bind(base, on_accept, c,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
                                          (struct sockaddr *)&sun, sizeof sun);
    if (c->listener == NULL) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        free(c);
        return NULL;
    }
    return c;
}

void control_free(struct control *c)
{
    if (c == NULL)
        return;
    evconnlistener_free(c->listener);
    for (int k = 0; k < CONTROL_MAX_CLIENTS; k++)
        if (c->clients[k])
            bufferevent_free(c->clients[k]);
    unlink(c->path);
    free(c);
}
