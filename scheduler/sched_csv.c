/*
 * sched_csv: see sched_csv.h. Fields are unescaped into one scratch buffer
 * (offsets while it may grow, pointers once the record is complete), so a
 * record costs no allocation once the buffers have reached its size.
 */
#include "scheduler/sched_csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct sched_csv {
    const char *buf;
    size_t len, pos;
    long line;                   /* the line `pos` is on */
    void *map;                   /* the mapping, or NULL */
    char *scratch;
    size_t s_len, s_cap;
    size_t *offs;
    const char **fields;
    size_t n, cap;
};

static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q)
        abort();
    return q;
}

static struct sched_csv *csv_new(const char *buf, size_t len)
{
    struct sched_csv *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->buf = buf;
    c->len = len;
    c->line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;
    return c;
}

struct sched_csv *sched_csv_from_buffer(const char *buf, size_t len)
{
    return csv_new(buf, len);
}

struct sched_csv *sched_csv_open(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, err_size, "%s is not a regular file", path);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, err_size, "cannot map %s: %s", path, strerror(errno));
        return NULL;
    }
    if (map)
        madvise(map, len, MADV_SEQUENTIAL);
    struct sched_csv *c = csv_new(map ? map : "", len);
    c->map = map;
    return c;
}

void sched_csv_free(struct sched_csv *c)
{
    if (!c)
        return;
    if (c->map)
        munmap(c->map, c->len);
    free(c->scratch);
    free(c->offs);
    free(c->fields);
    free(c);
}

void sched_csv_progress(const struct sched_csv *c, size_t *done, size_t *total)
{
    *done = c->pos;
    *total = c->len;
}

static void put(struct sched_csv *c, const char *s, size_t n)
{
    if (c->s_len + n > c->s_cap) {
        c->s_cap = c->s_cap ? c->s_cap * 2 : 256;
        while (c->s_len + n > c->s_cap)
            c->s_cap *= 2;
        c->scratch = xrealloc(c->scratch, c->s_cap);
    }
    memcpy(c->scratch + c->s_len, s, n);
    c->s_len += n;
}

static void begin_field(struct sched_csv *c)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->offs = xrealloc(c->offs, c->cap * sizeof *c->offs);
        c->fields = xrealloc(c->fields, c->cap * sizeof *c->fields);
    }
    c->offs[c->n++] = c->s_len;
}

/* Skips the rest of the line after a malformed record. */
static void skip_line(struct sched_csv *c)
{
    const char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
    c->pos = nl ? (size_t)(nl - c->buf) + 1 : c->len;
    if (nl)
        c->line++;
}

/* A quoted field from the opening quote; false when it never closes. */
static bool quoted(struct sched_csv *c)
{
    c->pos++;
    for (;;) {
        size_t run = c->pos;
        while (run < c->len && c->buf[run] != '"' && c->buf[run] != '\n')
            run++;
        put(c, c->buf + c->pos, run - c->pos);
        c->pos = run;
        if (c->pos >= c->len)
            return false;
        if (c->buf[c->pos] == '\n') {
            put(c, "\n", 1);
            c->line++;
            c->pos++;
        } else if (c->pos + 1 < c->len && c->buf[c->pos + 1] == '"') {
            put(c, "\"", 1);
            c->pos += 2;
        } else {
            c->pos++;
            return true;
        }
    }
}

static void unquoted(struct sched_csv *c)
{
    size_t run = c->pos;
    while (run < c->len && c->buf[run] != ',' && c->buf[run] != '\n' &&
           !(c->buf[run] == '\r' && (run + 1 == c->len || c->buf[run + 1] == '\n')))
        run++;
    put(c, c->buf + c->pos, run - c->pos);
    c->pos = run;
}

/* After a field: ',' (true: another follows) or the end of the record (false). */
static int after_field(struct sched_csv *c)
{
    if (c->pos >= c->len)
        return 0;
    char ch = c->buf[c->pos];
    if (ch == ',') {
        c->pos++;
        return 1;
    }
    if (ch == '\r' && (c->pos + 1 == c->len || c->buf[c->pos + 1] == '\n'))
        c->pos++;
    if (c->pos < c->len && c->buf[c->pos] == '\n') {
        c->pos++;
        c->line++;
        return 0;
    }
    if (c->pos >= c->len)
        return 0;
    return -1;
}

static void skip_blank_lines(struct sched_csv *c)
{
    for (;;) {
        if (c->pos < c->len && c->buf[c->pos] == '\n')
            c->pos++;
        else if (c->pos + 1 < c->len && c->buf[c->pos] == '\r' && c->buf[c->pos + 1] == '\n')
            c->pos += 2;
        else
            return;
        c->line++;
    }
}

int sched_csv_next(struct sched_csv *c, const char *const **fields, size_t *n, long *line,
                   char *err, size_t err_size)
{
    skip_blank_lines(c);
    if (c->pos >= c->len)
        return 0;
    *line = c->line;
    c->n = 0;
    c->s_len = 0;
    for (int more = 1; more == 1;) {
        begin_field(c);
        if (c->pos < c->len && c->buf[c->pos] == '"') {
            if (!quoted(c)) {
                snprintf(err, err_size, "field %zu opens a quote that is never closed", c->n);
                return -1;
            }
        } else {
            unquoted(c);
        }
        put(c, "", 1);
        more = after_field(c);
        if (more < 0) {
            snprintf(err, err_size, "field %zu has text after its closing quote (a quote "
                     "inside a quoted field is written twice: \"\")", c->n);
            skip_line(c);
            return -1;
        }
    }
    for (size_t i = 0; i < c->n; i++)
        c->fields[i] = c->scratch + c->offs[i];
    *fields = c->fields;
    *n = c->n;
    return 1;
}
