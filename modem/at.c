/*
 * at: the per-modem command engine. A FIFO of commands, one in flight, and a
 * line classifier that knows which command is waiting, so an unsolicited
 * +CMTI between "AT+CSQ"'s echo and its OK goes to the URC callback and the
 * "+CSQ: 20,99" line to the command.
 *
 * After a timeout the engine drops any half-received line, answers a pending
 * "> " prompt with ESC, and waits AT_GUARD_MS before the next command, taking
 * any final result that arrives meanwhile as the late answer it is: without
 * echo there is no other way to tell a late OK from the next command's OK.
 */
#include "modem/at.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AT_GUARD_MS 500

struct at_cmd {
    struct at_cmd *next;
    char *command, *pdu, *expect;
    int timeout_ms, prompt_timeout_ms;
    at_done_fn *done;
    void *arg;
};

struct at_engine {
    struct at_io io;
    struct at_cmd *head, *tail;   /* head is in flight when in_flight */
    bool in_flight;
    bool saw_echo, prompt_answered;
    int64_t deadline;
    int64_t quiet_until;          /* after a timeout: no new command before this */
    char **info;                  /* information lines of the command in flight */
    size_t n_info, cap_info;
    char pending_urc_line[AT_LINE_MAX + 1];
    enum at_urc pending_urc;      /* +CMT / +CDS waiting for their PDU line */
    char in[2 * AT_LINE_MAX + 64];
    size_t in_len;
    bool skip_to_eol;             /* dropping the rest of an over-long line */
};

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

struct at_engine *at_new(const struct at_io *io)
{
    struct at_engine *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->io = *io;
    return e;
}

static void clear_info(struct at_engine *e)
{
    for (size_t i = 0; i < e->n_info; i++)
        free(e->info[i]);
    e->n_info = 0;
}

static void add_info(struct at_engine *e, const char *line)
{
    if (e->n_info == e->cap_info) {
        e->cap_info = e->cap_info ? e->cap_info * 2 : 16;
        e->info = realloc(e->info, e->cap_info * sizeof *e->info);
        if (!e->info)
            abort();
    }
    e->info[e->n_info++] = dup_or_null(line);
}

static void cmd_free(struct at_cmd *c)
{
    free(c->command);
    free(c->pdu);
    free(c->expect);
    free(c);
}

void at_free(struct at_engine *e)
{
    if (!e)
        return;
    while (e->head) {
        struct at_cmd *c = e->head;
        e->head = c->next;
        cmd_free(c);
    }
    clear_info(e);
    free(e->info);
    free(e);
}

static void send_text(struct at_engine *e, const char *text)
{
    e->io.write(text, strlen(text), e->io.arg);
}

static void start_next(struct at_engine *e, int64_t now_ms)
{
    if (e->in_flight || !e->head || now_ms < e->quiet_until)
        return;
    struct at_cmd *c = e->head;
    e->in_flight = true;
    e->saw_echo = false;
    e->prompt_answered = false;
    /* A send waits a short while for its prompt, which a live modem gives at once,
     * and the full timeout only for the network's answer once the PDU is out. */
    e->deadline = now_ms + (c->pdu ? c->prompt_timeout_ms : c->timeout_ms);
    clear_info(e);
    send_text(e, c->command);
    send_text(e, "\r");
}

/* Ends the command in flight: pop it first, so its callback may submit or reset. */
static void complete(struct at_engine *e, enum at_status status, enum at_final final, int code,
                     const char *final_line, int64_t now_ms)
{
    struct at_cmd *c = e->head;
    e->head = c->next;
    if (!e->head)
        e->tail = NULL;
    e->in_flight = false;
    /* The lines move out of the engine: the callback may submit, which starts afresh. */
    char **lines = e->info;
    size_t n_lines = e->n_info;
    e->info = NULL;
    e->n_info = e->cap_info = 0;
    struct at_response res = {
        .status = status, .final = final, .code = code, .final_line = final_line,
        .pdu_written = c->pdu && e->prompt_answered,
        .lines = (const char *const *)lines, .n_lines = n_lines,
    };
    if (c->done)
        c->done(&res, c->arg);
    cmd_free(c);
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i]);
    free(lines);
    start_next(e, now_ms);
}

void at_submit(struct at_engine *e, const struct at_request *req, int64_t now_ms)
{
    struct at_cmd *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->command = dup_or_null(req->command);
    c->pdu = dup_or_null(req->pdu);
    c->expect = dup_or_null(req->expect);
    c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 5000;
    c->prompt_timeout_ms = req->prompt_timeout_ms > 0 ? req->prompt_timeout_ms : c->timeout_ms;
    c->done = req->done;
    c->arg = req->arg;
    if (e->tail)
        e->tail->next = c;
    else
        e->head = c;
    e->tail = c;
    start_next(e, now_ms);
}

static void emit_urc(struct at_engine *e, enum at_urc kind, const char *line, const char *pdu)
{
    if (kind == AT_URC_NOISE) {
        if (e->io.noise)
            e->io.noise(line, e->io.arg);
        return;
    }
    struct at_urc_event ev = { .kind = kind, .line = line, .pdu = pdu };
    if (e->io.urc)
        e->io.urc(&ev, e->io.arg);
}

/* Unsolicited lines: +CMT and +CDS announce a PDU on the next line. */
static void handle_unsolicited(struct at_engine *e, enum at_urc kind, const char *line)
{
    if (kind == AT_URC_CMT || kind == AT_URC_CDS) {
        e->pending_urc = kind;
        snprintf(e->pending_urc_line, sizeof e->pending_urc_line, "%s", line);
        return;
    }
    emit_urc(e, kind, line, NULL);
}

static bool is_echo(const struct at_engine *e, const char *line)
{
    const struct at_cmd *c = e->head;
    if (!e->saw_echo && strcasecmp(line, c->command) == 0)
        return true;
    /* With echo on, the PDU comes back too, sometimes after the prompt. */
    if (c->pdu && e->prompt_answered) {
        const char *p = line[0] == '>' ? line + 1 + (line[1] == ' ') : line;
        return strncasecmp(p, c->pdu, strlen(c->pdu)) == 0;
    }
    return false;
}

static void handle_in_flight(struct at_engine *e, const char *line, size_t len, int64_t now_ms)
{
    struct at_cmd *c = e->head;
    int code;
    if (is_echo(e, line)) {
        e->saw_echo = true;
        return;
    }
    if (len == 1 && line[0] == '>') {
        if (c->pdu && !e->prompt_answered) {
            e->prompt_answered = true;
            e->deadline = now_ms + c->timeout_ms;
            send_text(e, c->pdu);
            send_text(e, "\x1a");
        }
        return;
    }
    enum at_final final = at_final_result(line, len, &code);
    if (final != AT_FINAL_NONE) {
        complete(e, final == AT_FINAL_OK ? AT_OK : AT_ERROR, final, code, line, now_ms);
        return;
    }
    if (c->expect && strncmp(line, c->expect, strlen(c->expect)) == 0) {
        add_info(e, line);
        return;
    }
    enum at_urc kind = at_urc_kind(line, len);
    if (kind != AT_URC_NONE)
        handle_unsolicited(e, kind, line);
    else
        add_info(e, line);
}

static void handle_line(struct at_engine *e, const char *line, size_t len, int64_t now_ms)
{
    if (e->pending_urc != AT_URC_NONE) {
        enum at_urc kind = e->pending_urc;
        e->pending_urc = AT_URC_NONE;
        emit_urc(e, kind, e->pending_urc_line, line);
        return;
    }
    if (e->in_flight) {
        handle_in_flight(e, line, len, now_ms);
        return;
    }
    enum at_urc kind = at_urc_kind(line, len);
    if (kind != AT_URC_NONE)
        handle_unsolicited(e, kind, line);
    else if (e->io.noise)
        e->io.noise(line, e->io.arg); /* a late final result or unknown chatter */
}

/* Drops bytes up to and including the next line end; false if none is buffered yet. */
static bool skip_long_line(struct at_engine *e)
{
    size_t i = 0;
    while (i < e->in_len && e->in[i] != '\r' && e->in[i] != '\n')
        i++;
    bool found = i < e->in_len;
    memmove(e->in, e->in + i, e->in_len - i);
    e->in_len -= i;
    return found;
}

static void drain(struct at_engine *e, int64_t now_ms)
{
    size_t pos = 0;
    char line[AT_LINE_MAX + 1];
    for (;;) {
        const char *p;
        size_t n;
        long r = at_next_line(e->in + pos, e->in_len - pos, &p, &n);
        if (r == -2)
            break;
        if (r == -1) {
            pos += AT_LINE_MAX;
            e->skip_to_eol = true;
            if (e->io.noise)
                e->io.noise("(a line longer than 1024 bytes was dropped)", e->io.arg);
            break;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        pos += (size_t)r;
        handle_line(e, line, n, now_ms);
    }
    memmove(e->in, e->in + pos, e->in_len - pos);
    e->in_len -= pos;
}

static void process(struct at_engine *e, int64_t now_ms)
{
    for (;;) {
        if (e->skip_to_eol && !skip_long_line(e))
            return;
        e->skip_to_eol = false;
        drain(e, now_ms); /* sets skip_to_eol again on an over-long line */
        if (!e->skip_to_eol)
            return;
    }
}

void at_input(struct at_engine *e, const char *buf, size_t len, int64_t now_ms)
{
    while (len > 0) {
        size_t room = sizeof e->in - e->in_len;
        size_t n = len < room ? len : room;
        memcpy(e->in + e->in_len, buf, n);
        e->in_len += n;
        buf += n;
        len -= n;
        process(e, now_ms);
    }
}

void at_tick(struct at_engine *e, int64_t now_ms)
{
    if (!e->in_flight) {
        start_next(e, now_ms); /* the guard after a timeout may have ended */
        return;
    }
    if (now_ms < e->deadline)
        return;
    if (e->head->pdu && !e->prompt_answered)
        send_text(e, "\x1b"); /* leave the "> " prompt, or the modem waits for a PDU */
    e->in_len = 0;
    e->skip_to_eol = false;
    e->pending_urc = AT_URC_NONE;
    e->quiet_until = now_ms + AT_GUARD_MS;
    complete(e, AT_TIMEOUT, AT_FINAL_NONE, -1, "", now_ms);
}

int64_t at_deadline(const struct at_engine *e)
{
    if (e->in_flight)
        return e->deadline;
    return e->head ? e->quiet_until : 0;
}

void at_reset(struct at_engine *e, enum at_status status)
{
    e->in_len = 0;
    e->skip_to_eol = false;
    e->pending_urc = AT_URC_NONE;
    /* Detach the queue first: callbacks may submit new commands. */
    struct at_cmd *c = e->head;
    bool written = e->in_flight && c->pdu && e->prompt_answered; /* only the head can be */
    e->head = e->tail = NULL;
    e->in_flight = false;
    while (c) {
        struct at_cmd *next = c->next;
        struct at_response res = { .status = status, .code = -1, .final_line = "",
                                   .pdu_written = written };
        written = false;
        if (c->done)
            c->done(&res, c->arg);
        cmd_free(c);
        c = next;
    }
    clear_info(e);
}

size_t at_pending(const struct at_engine *e)
{
    size_t n = 0;
    for (const struct at_cmd *c = e->head; c; c = c->next)
        n++;
    return n;
}
