/*
 * conf_doc: the schema as documentation. `homing config reference` prints the
 * table that docs/configuration.md carries, so the reference is generated from
 * the same entries the loader uses and a unit test can insist they agree.
 */
#include <stdio.h>
#include <string.h>

#include "config/conf.h"
#include "config/conf_schema.h"

static void walk(const struct conf_key *keys, const char *prefix,
                 void (*fn)(const struct conf_key *k, const char *path, void *arg), void *arg)
{
    char path[256];
    for (const struct conf_key *k = keys; k->name; k++) {
        if (*prefix)
            snprintf(path, sizeof path, "%s.%s", prefix, k->name);
        else
            snprintf(path, sizeof path, "%s", k->name);
        if (k->type == CONF_T_GROUP) {
            walk(k->children, path, fn, arg);
        } else if (k->type == CONF_T_GROUPLIST) {
            fn(k, path, arg);
            char elem[272];
            snprintf(elem, sizeof elem, "%s[]", path);
            walk(k->children, elem, fn, arg);
        } else {
            fn(k, path, arg);
        }
    }
}

struct walk_adapter {
    void (*fn)(const char *path, void *arg);
    void *arg;
};

static void adapt(const struct conf_key *k, const char *path, void *arg)
{
    (void)k;
    struct walk_adapter *a = arg;
    a->fn(path, a->arg);
}

void conf_schema_walk(void (*fn)(const char *path, void *arg), void *arg)
{
    struct walk_adapter a = { fn, arg };
    walk(conf_schema_root, "", adapt, &a);
}

static void describe_range(const struct conf_key *k, char *out, size_t size)
{
    out[0] = '\0';
    if (k->choices) {
        snprintf(out, size, "%s", k->choices);
        for (char *p = out; *p; p++)
            if (*p == '|')
                *p = ',';
        return;
    }
    switch (k->type) {
    case CONF_T_INT:
        snprintf(out, size, "%lld..%lld", (long long)k->min, (long long)k->max);
        break;
    case CONF_T_DURATION:
        snprintf(out, size, "%llds..%llds", (long long)k->min, (long long)k->max);
        break;
    case CONF_T_STRING:
        if (k->max > 0)
            snprintf(out, size, "%lld..%lld chars", (long long)k->min, (long long)k->max);
        break;
    case CONF_T_CLOCK:
        snprintf(out, size, "00:00..23:59");
        break;
    default:
        break;
    }
}

static void print_row(const struct conf_key *k, const char *path, void *arg)
{
    FILE *out = arg;
    char range[256];
    describe_range(k, range, sizeof range);
    char def[512];
    if (k->required)
        snprintf(def, sizeof def, "required");
    else if (k->type == CONF_T_GROUPLIST)
        snprintf(def, sizeof def, "`()`");
    else if (k->type == CONF_T_STRLIST)
        snprintf(def, sizeof def, "`[]`");
    else if (!k->def && k->type != CONF_T_STRING && k->type != CONF_T_ENUM)
        snprintf(def, sizeof def, "inherited");
    else if (k->type == CONF_T_STRING || k->type == CONF_T_ENUM)
        snprintf(def, sizeof def, "`\"%s\"`", k->def ? k->def : "");
    else
        snprintf(def, sizeof def, "`%s`", k->def ? k->def : "");
    fprintf(out, "| `%s` | %s | %s | %s | %s |\n", path, conf_type_name(k->type), def, range,
            k->doc);
}

void conf_print_reference(FILE *out)
{
    fprintf(out, "| key | type | default | allowed | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- |\n");
    walk(conf_schema_root, "", print_row, out);
}
