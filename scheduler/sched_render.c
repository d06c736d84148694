/*
 * sched_render: see sched_render.h. One walker serves both the syntax check
 * (no fields, no output) and rendering, so the two can never disagree about
 * what a template means.
 *
 * Field names are letters, digits, '_', '-' and '.', so a stray brace in
 * prose ("{see below}" is fine, "{oops" is not) is caught by the check at
 * start-up rather than sent. Columns in errors count characters from 1, not
 * bytes, so they match what an editor shows for UTF-8 text.
 */
#include "scheduler/sched_render.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *buf;
    size_t len, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(o->buf, cap);
        if (!grown)
            abort();
        o->buf = grown;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* The 1-based character column of byte offset `at` (UTF-8 continuation bytes do not count). */
static size_t column(const char *tmpl, size_t at)
{
    size_t col = 1;
    for (size_t i = 0; i < at; i++)
        if (((unsigned char)tmpl[i] & 0xC0) != 0x80)
            col++;
    return col;
}

static bool fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && err_size)
        vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* A field's text: strings as they are, numbers as written; NULL when missing or empty. */
static const char *field_text(const json_t *fields, const char *name, char *num, size_t num_size)
{
    const json_t *v = fields ? json_object_get(fields, name) : NULL;
    if (json_is_string(v))
        return json_string_length(v) ? json_string_value(v) : NULL;
    if (json_is_integer(v)) {
        snprintf(num, num_size, "%" PRId64, (int64_t)json_integer_value(v));
        return num;
    }
    if (json_is_real(v)) {
        /* The shortest form that reads back the same: 12.5, not 12.500000000000000. */
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, num_size, "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
        return num;
    }
    return NULL;
}

/* One {field} or {field|fallback} starting at tmpl[*i] == '{'; moves *i past the '}'. */
static bool expand(const char *tmpl, size_t *i, const json_t *fields, struct out *o,
                   char *err, size_t err_size)
{
    size_t open = *i, p = open + 1, name_start = p;
    while (name_char(tmpl[p]))
        p++;
    size_t name_len = p - name_start;
    const char *fallback = NULL;
    size_t fb_len = 0;
    if (tmpl[p] == '|') {
        fallback = tmpl + p + 1;
        p++;
        while (tmpl[p] && tmpl[p] != '}' && tmpl[p] != '{')
            p++;
        fb_len = (size_t)(tmpl + p - fallback);
    }
    if (tmpl[p] == '\0' || tmpl[p] == '{')
        return fail(err, err_size, "column %zu: '{' is not closed (write {{ for a literal '{')",
                    column(tmpl, open));
    if (tmpl[p] != '}')
        return fail(err, err_size, "column %zu: '%c' cannot be part of a field name (use "
                    "letters, digits, '_', '-', '.')", column(tmpl, p), tmpl[p]);
    if (name_len == 0)
        return fail(err, err_size, "column %zu: empty field name in '{}'", column(tmpl, open));
    *i = p + 1;
    if (!o)
        return true;
    char name[128], num[64];
    snprintf(name, sizeof name, "%.*s", (int)(name_len < 127 ? name_len : 127), tmpl + name_start);
    const char *text = field_text(fields, name, num, sizeof num);
    if (text)
        out_add(o, text, strlen(text));
    else if (fallback)
        out_add(o, fallback, fb_len);
    else
        return fail(err, err_size, "the template needs {%s} and the contact has no '%s'; add "
                    "it or write {%s|fallback}", name, name, name);
    return true;
}

/* Walks the template; with `o` NULL only the syntax is checked. */
static bool walk(const char *tmpl, const json_t *fields, struct out *o, char *err,
                 size_t err_size)
{
    size_t i = 0;
    while (tmpl[i]) {
        size_t run = strcspn(tmpl + i, "{}");
        if (o)
            out_add(o, tmpl + i, run);
        i += run;
        if (!tmpl[i])
            break;
        if (tmpl[i] == tmpl[i + 1]) {          /* {{ or }} */
            if (o)
                out_add(o, tmpl + i, 1);
            i += 2;
        } else if (tmpl[i] == '}') {
            return fail(err, err_size, "column %zu: '}' with no '{' before it (write }} for a "
                        "literal '}')", column(tmpl, i));
        } else if (!expand(tmpl, &i, fields, o, err, err_size)) {
            return false;
        }
    }
    return true;
}

bool sched_template_ok(const char *tmpl, char *err, size_t err_size)
{
    return walk(tmpl, NULL, NULL, err, err_size);
}

char *sched_render(const char *tmpl, const json_t *fields, char *err, size_t err_size)
{
    struct out o = { 0 };
    out_add(&o, "", 0);
    if (!walk(tmpl, fields, &o, err, err_size)) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}
