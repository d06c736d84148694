/*
 * conf: the loader. libconfig parses the file; this walks the parsed tree
 * beside the schema table, so each key is type- and range-checked in one
 * place, and each problem becomes one error line with file, line and key.
 *
 * Defaults are applied first for a whole group, then the keys present in the
 * file overwrite them. Each setting's line is remembered by key path so the
 * cross-key checks (conf_check.c) can name lines too. This is the only file
 * that includes libconfig.h.
 */
#include "config/conf.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_check.h"
#include "config/conf_schema.h"

#define FIELD(base, key) ((void *)((char *)(base) + (key)->offset))

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

/* --- errors and line memory -------------------------------------------- */

static void loader_vpush(struct conf_loader *ld, int at, const char *path,
                         const char *fmt, va_list ap)
{
    char msg[768], line[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (at > 0 && path)
        snprintf(line, sizeof line, "%s:%d: %s: %s", ld->file, at, path, msg);
    else if (at > 0)
        snprintf(line, sizeof line, "%s:%d: %s", ld->file, at, msg);
    else if (path)
        snprintf(line, sizeof line, "%s: %s: %s", ld->file, path, msg);
    else
        snprintf(line, sizeof line, "%s: %s", ld->file, msg);
    struct conf_errors *e = ld->errs;
    char **grown = realloc(e->lines, (e->n + 1) * sizeof *grown);
    if (!grown)
        abort();
    e->lines = grown;
    e->lines[e->n++] = xstrdup(line);
}

void conf_loader_error(struct conf_loader *ld, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    loader_vpush(ld, path ? conf_loader_line(ld, path) : 0, path, fmt, ap);
    va_end(ap);
}

static void loader_error_at(struct conf_loader *ld, int at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    loader_vpush(ld, at, NULL, fmt, ap);
    va_end(ap);
}

static void remember_line(struct conf_loader *ld, const char *path, int line)
{
    if (ld->n_lines == ld->cap_lines) {
        ld->cap_lines = ld->cap_lines ? ld->cap_lines * 2 : 64;
        ld->lines = realloc(ld->lines, ld->cap_lines * sizeof *ld->lines);
        if (!ld->lines)
            abort();
    }
    ld->lines[ld->n_lines].path = xstrdup(path);
    ld->lines[ld->n_lines].line = line;
    ld->n_lines++;
}

int conf_loader_line(const struct conf_loader *ld, const char *path)
{
    for (size_t i = 0; i < ld->n_lines; i++)
        if (strcmp(ld->lines[i].path, path) == 0)
            return ld->lines[i].line;
    return 0;
}

/* --- defaults and freeing, both driven by the schema --------------------- */

static void strlist_free(struct conf_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void strlist_push(struct conf_strlist *l, const char *s)
{
    char **grown = realloc(l->items, (l->n + 1) * sizeof *grown);
    if (!grown)
        abort();
    l->items = grown;
    l->items[l->n++] = xstrdup(s);
}

static void keys_free(const struct conf_key *keys, void *base)
{
    for (const struct conf_key *k = keys; k->name; k++) {
        void *field = FIELD(base, k);
        switch (k->type) {
        case CONF_T_STRING:
        case CONF_T_ENUM:
            free(*(char **)field);
            *(char **)field = NULL;
            break;
        case CONF_T_STRLIST:
            strlist_free(field);
            break;
        case CONF_T_GROUP:
            keys_free(k->children, base);
            break;
        case CONF_T_GROUPLIST: {
            char *items = *(char **)field;
            size_t n = *(size_t *)((char *)base + k->count_offset);
            for (size_t i = 0; i < n; i++)
                keys_free(k->children, items + i * k->elem_size);
            free(items);
            *(char **)field = NULL;
            break;
        }
        default:
            break;
        }
    }
}

/* Applies the schema default of one scalar key. Defaults are proven valid by a unit test. */
static void apply_default(const struct conf_key *k, void *field)
{
    const char *def = k->def ? k->def : "";
    char why[256];
    switch (k->type) {
    case CONF_T_STRING:
    case CONF_T_ENUM:
        *(char **)field = xstrdup(def);
        break;
    case CONF_T_INT:
        *(int64_t *)field = strtoll(def, NULL, 10);
        break;
    case CONF_T_BOOL:
        *(bool *)field = strcmp(def, "true") == 0;
        break;
    case CONF_T_DURATION:
        if (k->def && !conf_parse_duration(def, field, why, sizeof why))
            abort();
        break;
    case CONF_T_CLOCK:
        if (!k->def)
            *(int64_t *)field = -1; /* unset: 00:00 is a real time */
        else if (!conf_parse_clock(def, field, why, sizeof why))
            abort();
        break;
    default:
        break;
    }
}

static void keys_defaults(const struct conf_key *keys, void *base)
{
    for (const struct conf_key *k = keys; k->name; k++) {
        if (k->type == CONF_T_GROUP)
            keys_defaults(k->children, base);
        else
            apply_default(k, FIELD(base, k));
    }
}

/* --- reading values ------------------------------------------------------ */

static const char *setting_type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number with a fraction";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
    case CONFIG_TYPE_LIST: return "a list ( ... )";
    case CONFIG_TYPE_GROUP: return "a group { ... }";
    default: return "something else";
    }
}

static const char *wanted_name(enum conf_type t)
{
    switch (t) {
    case CONF_T_STRING: return "a string in quotes";
    case CONF_T_INT: return "an integer";
    case CONF_T_BOOL: return "true or false";
    case CONF_T_DURATION: return "a duration in quotes, like \"48h\"";
    case CONF_T_CLOCK: return "a clock time in quotes, like \"21:00\"";
    case CONF_T_ENUM: return "a string in quotes";
    case CONF_T_STRLIST: return "a list of strings, like [ \"a\", \"b\" ]";
    case CONF_T_GROUP: return "a group { ... }";
    case CONF_T_GROUPLIST: return "a list of groups ( { ... }, { ... } )";
    }
    return "?";
}

static bool type_matches(const config_setting_t *s, enum conf_type t)
{
    int ct = config_setting_type(s);
    switch (t) {
    case CONF_T_INT: return ct == CONFIG_TYPE_INT || ct == CONFIG_TYPE_INT64;
    case CONF_T_BOOL: return ct == CONFIG_TYPE_BOOL;
    case CONF_T_STRLIST: return ct == CONFIG_TYPE_ARRAY || ct == CONFIG_TYPE_LIST;
    case CONF_T_GROUP: return ct == CONFIG_TYPE_GROUP;
    case CONF_T_GROUPLIST: return ct == CONFIG_TYPE_LIST;
    default: return ct == CONFIG_TYPE_STRING;
    }
}

static void choices_text(const char *choices, char *out, size_t size)
{
    snprintf(out, size, "%s", choices);
    for (char *p = out; *p; p++)
        if (*p == '|')
            *p = '/';
}

static void load_string(struct conf_loader *ld, const config_setting_t *s,
                        const struct conf_key *k, void *field, const char *path)
{
    const char *v = config_setting_get_string(s);
    size_t len = strlen(v);
    char buf[256];
    if (k->type == CONF_T_ENUM && !conf_choice_ok(k->choices, v)) {
        choices_text(k->choices, buf, sizeof buf);
        conf_loader_error(ld, path, "'%s' is not one of %s", v, buf);
        return;
    }
    if (k->max > 0 && (len < (size_t)k->min || len > (size_t)k->max)) {
        conf_loader_error(ld, path, "must be %lld to %lld characters long (got %zu)",
                          (long long)k->min, (long long)k->max, len);
        return;
    }
    free(*(char **)field);
    *(char **)field = xstrdup(v);
}

static void load_int(struct conf_loader *ld, const config_setting_t *s,
                     const struct conf_key *k, void *field, const char *path)
{
    long long v = config_setting_get_int64(s);
    char text[32], buf[256];
    snprintf(text, sizeof text, "%lld", v);
    if (k->choices && !conf_choice_ok(k->choices, text)) {
        choices_text(k->choices, buf, sizeof buf);
        conf_loader_error(ld, path, "%lld is not one of %s", v, buf);
    } else if (v < k->min || v > k->max) {
        conf_loader_error(ld, path, "%lld is out of range %lld..%lld", v,
                          (long long)k->min, (long long)k->max);
    } else {
        *(int64_t *)field = v;
    }
}

static void load_timed(struct conf_loader *ld, const config_setting_t *s,
                       const struct conf_key *k, void *field, const char *path)
{
    const char *v = config_setting_get_string(s);
    int64_t value;
    char why[256];
    bool ok = k->type == CONF_T_DURATION ? conf_parse_duration(v, &value, why, sizeof why)
                                         : conf_parse_clock(v, &value, why, sizeof why);
    if (!ok) {
        conf_loader_error(ld, path, "%s", why);
        return;
    }
    if (k->type == CONF_T_DURATION && k->max > 0 && (value < k->min || value > k->max)) {
        conf_loader_error(ld, path, "%s is out of range: between %llds and %llds",
                          v, (long long)k->min, (long long)k->max);
        return;
    }
    *(int64_t *)field = value;
}

static void load_strlist(struct conf_loader *ld, const config_setting_t *s,
                         const struct conf_key *k, void *field, const char *path)
{
    struct conf_strlist *list = field;
    int n = config_setting_length(s);
    char epath[300], buf[256];
    strlist_free(list);
    if (k->max > 0 && (n < k->min || n > k->max)) {
        conf_loader_error(ld, path, "needs %lld to %lld entries (got %d)",
                          (long long)k->min, (long long)k->max, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *item = config_setting_get_elem(s, (unsigned)i);
        snprintf(epath, sizeof epath, "%s[%d]", path, i);
        remember_line(ld, epath, config_setting_source_line(item));
        if (config_setting_type(item) != CONFIG_TYPE_STRING) {
            conf_loader_error(ld, epath, "expected a string, got %s", setting_type_name(item));
            continue;
        }
        const char *v = config_setting_get_string(item);
        if (k->choices && !conf_choice_ok(k->choices, v)) {
            choices_text(k->choices, buf, sizeof buf);
            conf_loader_error(ld, epath, "'%s' is not one of %s", v, buf);
            continue;
        }
        strlist_push(list, v);
    }
}

static void load_keys(struct conf_loader *ld, const config_setting_t *group,
                      const struct conf_key *keys, void *base, const char *prefix);

static void load_grouplist(struct conf_loader *ld, const config_setting_t *s,
                           const struct conf_key *k, void *base, const char *path)
{
    int n = config_setting_length(s);
    char *items = xcalloc((size_t)n, k->elem_size);
    *(char **)FIELD(base, k) = items;
    *(size_t *)((char *)base + k->count_offset) = (size_t)n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *elem = config_setting_get_elem(s, (unsigned)i);
        char epath[300];
        snprintf(epath, sizeof epath, "%s[%d]", path, i);
        remember_line(ld, epath, config_setting_source_line(elem));
        void *ebase = items + (size_t)i * k->elem_size;
        keys_defaults(k->children, ebase);
        if (config_setting_type(elem) != CONFIG_TYPE_GROUP) {
            conf_loader_error(ld, epath, "expected a group { ... }, got %s",
                              setting_type_name(elem));
            continue;
        }
        load_keys(ld, elem, k->children, ebase, epath);
    }
}

static void load_value(struct conf_loader *ld, const config_setting_t *s,
                       const struct conf_key *k, void *base, const char *path)
{
    void *field = FIELD(base, k);
    if (!type_matches(s, k->type)) {
        conf_loader_error(ld, path, "expected %s, got %s", wanted_name(k->type),
                          setting_type_name(s));
        return;
    }
    switch (k->type) {
    case CONF_T_STRING:
    case CONF_T_ENUM: load_string(ld, s, k, field, path); break;
    case CONF_T_INT: load_int(ld, s, k, field, path); break;
    case CONF_T_BOOL: *(bool *)field = config_setting_get_bool(s) != 0; break;
    case CONF_T_DURATION:
    case CONF_T_CLOCK: load_timed(ld, s, k, field, path); break;
    case CONF_T_STRLIST: load_strlist(ld, s, k, field, path); break;
    case CONF_T_GROUP: load_keys(ld, s, k->children, base, path); break;
    case CONF_T_GROUPLIST: load_grouplist(ld, s, k, base, path); break;
    }
}

/* --- groups: unknown and missing keys ------------------------------------ */

/* Edit distance, for "did you mean": keys are short, so the naive table is fine. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_key(struct conf_loader *ld, const struct conf_key *keys, const char *name,
                        const char *path)
{
    const struct conf_key *best = NULL;
    size_t best_d = 3;
    for (const struct conf_key *k = keys; k->name; k++) {
        size_t d = distance(name, k->name);
        if (d < best_d) {
            best = k;
            best_d = d;
        }
    }
    if (best)
        conf_loader_error(ld, path, "unknown key (did you mean '%s'?)", best->name);
    else
        conf_loader_error(ld, path, "unknown key");
}

static const struct conf_key *find_key(const struct conf_key *keys, const char *name)
{
    for (const struct conf_key *k = keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void join_path(char *out, size_t size, const char *prefix, const char *name)
{
    if (prefix && *prefix)
        snprintf(out, size, "%s.%s", prefix, name);
    else
        snprintf(out, size, "%s", name);
}

static void load_keys(struct conf_loader *ld, const config_setting_t *group,
                      const struct conf_key *keys, void *base, const char *prefix)
{
    char path[256];
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *child = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(child);
        join_path(path, sizeof path, prefix, name ? name : "?");
        remember_line(ld, path, config_setting_source_line(child));
        const struct conf_key *k = name ? find_key(keys, name) : NULL;
        if (!k)
            unknown_key(ld, keys, name ? name : "?", path);
        else
            load_value(ld, child, k, base, path);
    }
    for (const struct conf_key *k = keys; k->name; k++) {
        if (k->required && !config_setting_get_member(group, k->name)) {
            join_path(path, sizeof path, prefix, k->name);
            conf_loader_error(ld, prefix && *prefix ? prefix : NULL,
                              "missing required key '%s'", k->name);
        }
    }
}

/* --- public -------------------------------------------------------------- */

struct conf *conf_defaults(void)
{
    struct conf *conf = xcalloc(1, sizeof *conf);
    keys_defaults(conf_schema_root, conf);
    conf->path = xstrdup("(defaults)");
    return conf;
}

static void loader_free(struct conf_loader *ld)
{
    for (size_t i = 0; i < ld->n_lines; i++)
        free(ld->lines[i].path);
    free(ld->lines);
}

static bool parse_file(struct conf_loader *ld, config_t *cfg, const char *path)
{
    errno = 0;
    if (config_read_file(cfg, path) == CONFIG_TRUE)
        return true;
    if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
        loader_error_at(ld, 0, "cannot read the file: %s",
                        errno ? strerror(errno) : "I/O error");
    else
        loader_error_at(ld, config_error_line(cfg), "%s", config_error_text(cfg));
    return false;
}

/* The line an error names ("file:12: ..."), or 0. */
static long error_line(const char *error, size_t file_len)
{
    return error[file_len] == ':' ? strtol(error + file_len + 1, NULL, 10) : 0;
}

/* Key errors and cross-key errors are found in two passes: report them in file order. */
static void sort_errors(struct conf_errors *errs, size_t from, size_t file_len)
{
    for (size_t i = from + 1; i < errs->n; i++) {
        char *e = errs->lines[i];
        long line = error_line(e, file_len);
        size_t j = i;
        while (j > from && error_line(errs->lines[j - 1], file_len) > line) {
            errs->lines[j] = errs->lines[j - 1];
            j--;
        }
        errs->lines[j] = e;
    }
}

struct conf *conf_load(const char *path, struct conf_errors *errs)
{
    struct conf_loader ld = { .file = path, .errs = errs };
    size_t errors_before = errs->n;
    config_t cfg;
    config_init(&cfg);
    struct conf *conf = xcalloc(1, sizeof *conf);
    keys_defaults(conf_schema_root, conf);
    conf->path = xstrdup(path);
    if (parse_file(&ld, &cfg, path)) {
        load_keys(&ld, config_root_setting(&cfg), conf_schema_root, conf, "");
        conf_inherit_campaign_limits(conf);
        conf_check(&ld, conf);
    }
    config_destroy(&cfg);
    loader_free(&ld);
    if (errs->n > errors_before) {
        sort_errors(errs, errors_before, strlen(path));
        conf_free(conf);
        return NULL;
    }
    return conf;
}

void conf_free(struct conf *conf)
{
    if (!conf)
        return;
    keys_free(conf_schema_root, conf);
    free(conf->path);
    free(conf);
}

void conf_errors_free(struct conf_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->n = 0;
}
