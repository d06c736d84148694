/*
 * conf_schema: the one table that describes homing.conf. Internal to config/:
 * the loader, the checks and the reference printer read it; nothing else does.
 *
 * Like Redis' static_configs[], one entry per key gives its type, where it is
 * stored, its default (as text, parsed by the same code as the file, so a bad
 * default fails the unit tests), its range or choices, and its documentation.
 */
#ifndef HOMING_CONF_SCHEMA_H
#define HOMING_CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
    CONF_T_STRING,    /* char *; min/max bound the length when max > 0 */
    CONF_T_INT,       /* int64_t within [min, max] */
    CONF_T_BOOL,      /* bool */
    CONF_T_DURATION,  /* int64_t seconds, written "90s", "48h", "7d" */
    CONF_T_CLOCK,     /* int64_t minutes after midnight, written "21:00" */
    CONF_T_ENUM,      /* char *, one of `choices` */
    CONF_T_STRLIST,   /* struct conf_strlist; items from `choices` when set */
    CONF_T_GROUP,     /* a nested struct at `offset` described by `children` */
    CONF_T_GROUPLIST, /* an array of structs: pointer at `offset`, count at `count_offset` */
};

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t offset;
    const char *def;          /* default as written in the file; NULL: none */
    bool required;            /* must be present (list elements: name, port ...) */
    int64_t min, max;
    const char *choices;      /* "a|b|c" */
    const struct conf_key *children;
    size_t elem_size;         /* GROUPLIST element size */
    size_t count_offset;      /* GROUPLIST count field */
    const char *doc;
};

/* The keys of the top level, ended by an entry whose name is NULL. */
extern const struct conf_key conf_schema_root[];

const char *conf_type_name(enum conf_type type);
bool conf_choice_ok(const char *choices, const char *value);

#endif
